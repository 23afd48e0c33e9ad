package dossier

import (
	"cmp"
	"slices"
	"strings"
	"time"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// The archive serves search and statistics from indexes and counters its
// event consumer keeps with each dossier, never by reading a region's
// dossiers (docs/PERFORMANCE.md, "Archive search and statistics"). What a
// dossier contributes to them is worked out here from the dossier alone, so
// the consumer moves a dossier between indexes and counters by the
// difference between its summary before and after an event, and a recount
// from the summaries always gives the same numbers.

// ScopeRegion is the scope of the region-wide readers (the office and the
// convenor); every other scope is a department that may read the dossier.
const ScopeRegion = "*"

// Scopes lists the scopes whose indexes and counters hold d: the region's
// and each department that may read it.
func (d *Dossier) Scopes() []string { return append([]string{ScopeRegion}, d.Departments...) }

// ScopeOf returns the scope a caller searches and counts in.
func ScopeOf(c Caller) string {
	if c.RegionWide {
		return ScopeRegion
	}
	return c.Department
}

// Index names within a scope ("state:DISPUTE_STATE_HANDLING", ...).
const indexAll = "all"

func index(scope string, parts ...string) string {
	return scope + ":" + strings.Join(parts, ":")
}

// Score orders a dossier in every index: its registration time, or its
// earliest event until the registration arrives (Unix microseconds).
func (d *Dossier) Score() float64 {
	if !d.RegisterTime.IsZero() {
		return float64(d.RegisterTime.UnixMicro())
	}
	return float64(d.FirstTime.UnixMicro())
}

// Indexes lists the indexes (scope-qualified) that hold d: every dossier is
// in its scopes' "all", and in one index per filter value it has.
func (d *Dossier) Indexes() []string {
	var out []string
	for _, s := range d.Scopes() {
		out = append(out, index(s, indexAll))
		for _, kv := range d.filterValues() {
			out = append(out, index(s, kv[0], kv[1]))
		}
	}
	return out
}

func (d *Dossier) filterValues() [][2]string {
	var out [][2]string
	if d.State != typesv1.DisputeState_DISPUTE_STATE_UNSPECIFIED {
		out = append(out, [2]string{"state", d.State.String()})
	}
	if d.Category != typesv1.Category_CATEGORY_UNSPECIFIED {
		out = append(out, [2]string{"category", d.Category.String()})
	}
	if d.Channel != typesv1.Channel_CHANNEL_UNSPECIFIED {
		out = append(out, [2]string{"channel", d.Channel.String()})
	}
	if d.RegisteringDepartment != "" {
		out = append(out, [2]string{"registering_department", d.RegisteringDepartment})
	}
	if d.Jurisdiction != "" {
		out = append(out, [2]string{"jurisdiction", d.Jurisdiction})
	}
	return out
}

// Indexes lists the indexes of scope that each select what one filter of f
// selects; none means the scope's "all". Query and the time bounds have no
// index: the time bounds are a range of the score.
func (f Filter) Indexes(scope string) []string {
	var out []string
	probe := &Dossier{State: f.State, Category: f.Category, Channel: f.Channel,
		RegisteringDepartment: f.RegisteringDepartment, Jurisdiction: f.Jurisdiction}
	for _, kv := range probe.filterValues() {
		out = append(out, index(scope, kv[0], kv[1]))
	}
	if len(out) == 0 {
		out = []string{index(scope, indexAll)}
	}
	return out
}

// Dimensions the statistics count by.
const (
	DimTotal                 = "total"
	DimCategory              = "category"
	DimChannel               = "channel"
	DimRegisteringDepartment = "registering_department"
	DimHandlingDepartment    = "handling_department"
	DimJurisdiction          = "jurisdiction"
	DimState                 = "state"
)

// Measures the statistics count.
const (
	MRegistered       = "registered"
	MClosed           = "closed"
	MReplied          = "replied"
	MRepliedOnTime    = "replied_on_time"
	MOverdue          = "overdue"
	MReturned         = "returned"
	MExtended         = "extended"
	MReplyWorkingDays = "reply_working_days"
	MFollowUps        = "follow_ups"
	MSatisfied        = "satisfied"
)

// Cell is one counter: a measure of the disputes of one scope registered in
// one month that share one key of one dimension.
type Cell struct {
	Scope, Month, Dimension, Key, Measure string
}

// Field is the cell's field in its (scope, month) hash.
func (c Cell) Field() string { return c.Dimension + "|" + c.Key + "|" + c.Measure }

// ParseField splits a hash field into dimension, key and measure; ok is
// false for a field Field did not make. The key may hold "|", the
// dimension and measure never do.
func ParseField(f string) (dim, key, measure string, ok bool) {
	i, j := strings.IndexByte(f, '|'), strings.LastIndexByte(f, '|')
	if i < 0 || i == j {
		return "", "", "", false
	}
	return f[:i], f[i+1 : j], f[j+1:], true
}

// shanghai is China Standard Time, in which months of registration are counted.
var shanghai = time.FixedZone("CST", 8*3600)

// MonthOf returns the month of t ("2006-01") in China Standard Time.
func MonthOf(t time.Time) string { return t.In(shanghai).Format("2006-01") }

// MonthScore orders months: 202603 for "2026-03".
func MonthScore(month string) float64 {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return 0
	}
	return float64(t.Year()*100 + int(t.Month()))
}

// Measures returns what d counts, nonzero ones only.
func (d *Dossier) Measures() map[string]int64 {
	m := map[string]int64{MRegistered: 1}
	if d.State == typesv1.DisputeState_DISPUTE_STATE_CLOSED || d.State == typesv1.DisputeState_DISPUTE_STATE_ARCHIVED {
		m[MClosed] = 1
	}
	if !d.ReplyTime.IsZero() {
		m[MReplied] = 1
		if d.HandlingDue.IsZero() || !d.ReplyTime.After(d.HandlingDue) {
			m[MRepliedOnTime] = 1
		}
		if n := WorkingDays(d.RegisterTime, d.ReplyTime); n > 0 {
			m[MReplyWorkingDays] = n
		}
	}
	if d.Overdue {
		m[MOverdue] = 1
	}
	if d.Returned {
		m[MReturned] = 1
	}
	if d.Extended {
		m[MExtended] = 1
	}
	if d.FollowUps > 0 {
		m[MFollowUps] = d.FollowUps
	}
	if d.Satisfied > 0 {
		m[MSatisfied] = d.Satisfied
	}
	return m
}

// Cells returns every counter d adds to. A dossier counts once its
// registration is filed (its month is the month of registration), in each
// of its scopes, under one key of every dimension.
func (d *Dossier) Cells() map[Cell]int64 {
	if d.RegisterTime.IsZero() {
		return nil
	}
	month := MonthOf(d.RegisterTime)
	keys := d.dimensionKeys()
	measures := d.Measures()
	out := make(map[Cell]int64, len(keys)*len(measures)*(1+len(d.Departments)))
	for _, s := range d.Scopes() {
		for _, k := range keys {
			for m, v := range measures {
				out[Cell{Scope: s, Month: month, Dimension: k[0], Key: k[1], Measure: m}] = v
			}
		}
	}
	return out
}

// SameDerived reports whether a and b add to the same indexes and counters,
// so the consumer skips working them out for the many events (notes,
// pauses, meetings) that change neither.
func SameDerived(a, b *Dossier) bool {
	return a.State == b.State && a.Category == b.Category && a.Channel == b.Channel &&
		a.RegisteringDepartment == b.RegisteringDepartment && a.Holder == b.Holder &&
		a.Jurisdiction == b.Jurisdiction && a.RegisterTime.Equal(b.RegisterTime) && a.Score() == b.Score() &&
		a.ReplyTime.Equal(b.ReplyTime) && a.HandlingDue.Equal(b.HandlingDue) && a.Overdue == b.Overdue &&
		a.Returned == b.Returned && a.Extended == b.Extended && a.FollowUps == b.FollowUps &&
		a.Satisfied == b.Satisfied && slices.Equal(a.Departments, b.Departments)
}

// dimensionKeys returns d's key in each dimension, in a fixed order.
func (d *Dossier) dimensionKeys() [7][2]string {
	return [7][2]string{
		{DimTotal, "all"},
		{DimCategory, d.Category.String()},
		{DimChannel, d.Channel.String()},
		{DimRegisteringDepartment, d.RegisteringDepartment},
		{DimHandlingDepartment, d.Holder},
		{DimJurisdiction, d.Jurisdiction},
		{DimState, d.State.String()},
	}
}

// CellDelta returns what moves the counters from old's cells to new's (old
// or new nil: none), zero changes left out.
func CellDelta(old, new *Dossier) map[Cell]int64 {
	if old != nil && new != nil && SameDerived(old, new) {
		return map[Cell]int64{}
	}
	// A change of state moves about a hundred cells of a dossier with three
	// readers; sized for that, the map does not grow while it is filled.
	out := make(map[Cell]int64, 128)
	if old != nil && new != nil && !old.RegisterTime.IsZero() && !new.RegisterTime.IsZero() &&
		MonthOf(old.RegisterTime) == MonthOf(new.RegisterTime) && slices.Equal(old.Departments, new.Departments) {
		// The usual change (a state, a reply, a count): the same scopes and
		// month, so only the keys and measures that differ move.
		month := MonthOf(new.RegisterTime)
		mo, mn := old.Measures(), new.Measures()
		ko, kn := old.dimensionKeys(), new.dimensionKeys()
		for _, s := range new.Scopes() {
			for i := range kn {
				dim := kn[i][0]
				if ko[i][1] != kn[i][1] {
					for m, v := range mo {
						out[Cell{s, month, dim, ko[i][1], m}] -= v
					}
					for m, v := range mn {
						out[Cell{s, month, dim, kn[i][1], m}] += v
					}
					continue
				}
				for m, v := range mn {
					if v != mo[m] {
						out[Cell{s, month, dim, kn[i][1], m}] += v - mo[m]
					}
				}
				for m, v := range mo {
					if _, ok := mn[m]; !ok {
						out[Cell{s, month, dim, kn[i][1], m}] -= v
					}
				}
			}
		}
		return out
	}
	if new != nil {
		for c, v := range new.Cells() {
			out[c] += v
		}
	}
	if old != nil {
		for c, v := range old.Cells() {
			out[c] -= v
		}
	}
	for c, v := range out {
		if v == 0 {
			delete(out, c)
		}
	}
	return out
}

// WorkingDays counts the working days (Monday to Friday, China Standard
// Time) after from's day up to and including to's day. Public holidays and
// clock pauses are not taken off: the business calendar is routing's
// (docs/PERFORMANCE.md, "Archive search and statistics").
func WorkingDays(from, to time.Time) int64 {
	if from.IsZero() || !to.After(from) {
		return 0
	}
	day := func(t time.Time) time.Time {
		y, m, d := t.In(shanghai).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	a, b := day(from), day(to)
	days := int64(b.Sub(a).Hours() / 24)
	weeks, rest := days/7, days%7
	n := weeks * 5
	wd := a.Weekday()
	for i := int64(1); i <= rest; i++ {
		switch (wd + time.Weekday(i)) % 7 {
		case time.Saturday, time.Sunday:
		default:
			n++
		}
	}
	return n
}

// Row is the measures of one dimension key in one month.
type Row struct {
	Dimension, Key, Month string
	Measures              map[string]int64
}

// SortRows orders rows by dimension, key and month.
func SortRows(rows []Row) {
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Dimension, b.Dimension), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Month, b.Month))
	})
}

// Count is one labelled number.
type Count struct {
	Key   string
	Value int64
}

// Totals sums one measure of one dimension over the rows' months, by key,
// sorted by key, zero sums left out.
func Totals(rows []Row, dim, measure string) []Count {
	sums := map[string]int64{}
	for _, r := range rows {
		if r.Dimension == dim {
			sums[r.Key] += r.Measures[measure]
		}
	}
	out := make([]Count, 0, len(sums))
	for k, v := range sums {
		if v != 0 {
			out = append(out, Count{Key: k, Value: v})
		}
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// Recount works the rows of scope out from dossiers, as the counters should
// hold them: the reference the counters are checked against.
func Recount(ds []*Dossier, scope string) []Row {
	byKey := map[[3]string]map[string]int64{}
	for _, d := range ds {
		for c, v := range d.Cells() {
			if c.Scope != scope {
				continue
			}
			k := [3]string{c.Dimension, c.Key, c.Month}
			if byKey[k] == nil {
				byKey[k] = map[string]int64{}
			}
			byKey[k][c.Measure] += v
		}
	}
	out := make([]Row, 0, len(byKey))
	for k, m := range byKey {
		out = append(out, Row{Dimension: k[0], Key: k[1], Month: k[2], Measures: m})
	}
	SortRows(out)
	return out
}
