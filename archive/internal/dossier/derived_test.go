package dossier

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

func TestWorkingDays(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	mon := time.Date(2026, 3, 2, 9, 0, 0, 0, cst) // a Monday
	for _, tc := range []struct {
		from, to time.Time
		want     int64
	}{
		{mon, mon.Add(time.Hour), 0},
		{mon, mon.AddDate(0, 0, 1), 1},
		{mon, mon.AddDate(0, 0, 4), 4},                  // Friday
		{mon, mon.AddDate(0, 0, 6), 4},                  // Sunday
		{mon, mon.AddDate(0, 0, 7), 5},                  // next Monday
		{mon, mon.AddDate(0, 0, 60), 44},                // 8 weeks and 4 days
		{mon.AddDate(0, 0, 5), mon.AddDate(0, 0, 7), 1}, // Saturday to Monday
		{mon, mon.Add(-time.Hour), 0},
		{time.Time{}, mon, 0},
		// 23:30 UTC on Sunday is Monday in China Standard Time.
		{time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), time.Date(2026, 3, 3, 1, 0, 0, 0, cst), 1},
	} {
		if got := WorkingDays(tc.from, tc.to); got != tc.want {
			t.Errorf("WorkingDays(%v, %v) = %d, want %d", tc.from, tc.to, got, tc.want)
		}
	}
}

// A dossier moves between counters by the difference of its summaries: a
// change of state takes it out of the old state's key and into the new in
// every scope, and a new reader's scope gets all of it.
func TestCellDelta(t *testing.T) {
	reg := time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC) // April in China Standard Time
	old := &Dossier{RegisterTime: reg, State: typesv1.DisputeState_DISPUTE_STATE_HANDLING, RegisteringDepartment: "tax",
		Departments: []string{"tax"}, Category: typesv1.Category_CATEGORY_LATE_FEE, Channel: typesv1.Channel_CHANNEL_WINDOW}
	cur := *old
	cur.State = typesv1.DisputeState_DISPUTE_STATE_REPLIED
	cur.Departments = []string{"hrss", "tax"}
	cur.ReplyTime = reg.AddDate(0, 0, 7)
	got := CellDelta(old, &cur)
	for _, tc := range []struct {
		c    Cell
		want int64
	}{
		{Cell{"*", "2026-04", DimState, "DISPUTE_STATE_HANDLING", MRegistered}, -1},
		{Cell{"*", "2026-04", DimState, "DISPUTE_STATE_REPLIED", MRegistered}, 1},
		{Cell{"tax", "2026-04", DimState, "DISPUTE_STATE_REPLIED", MRegistered}, 1},
		{Cell{"*", "2026-04", DimTotal, "all", MRegistered}, 0},
		{Cell{"*", "2026-04", DimTotal, "all", MReplied}, 1},
		{Cell{"*", "2026-04", DimTotal, "all", MRepliedOnTime}, 1},
		{Cell{"*", "2026-04", DimTotal, "all", MReplyWorkingDays}, 5},
		{Cell{"hrss", "2026-04", DimTotal, "all", MRegistered}, 1},
		{Cell{"hrss", "2026-04", DimCategory, "CATEGORY_LATE_FEE", MRegistered}, 1},
	} {
		if got[tc.c] != tc.want {
			t.Errorf("delta %+v = %d, want %d", tc.c, got[tc.c], tc.want)
		}
	}
	if d := CellDelta(&cur, &cur); len(d) != 0 {
		t.Errorf("no change moved %v", d)
	}
	// Not counted before the registration is filed.
	if c := (&Dossier{State: typesv1.DisputeState_DISPUTE_STATE_HANDLING}).Cells(); len(c) != 0 {
		t.Errorf("unregistered dossier counts %v", c)
	}
	// Replied after the handling clock was reported overdue: not on time.
	late := cur
	late.HandlingDue = cur.ReplyTime.Add(-time.Hour)
	if m := late.Measures(); m[MRepliedOnTime] != 0 || m[MReplied] != 1 {
		t.Errorf("late reply measures %v", m)
	}
}

func TestParseField(t *testing.T) {
	c := Cell{Dimension: DimJurisdiction, Key: "a|b", Measure: MClosed}
	dim, key, m, ok := ParseField(c.Field())
	if diff := cmp.Diff([]any{DimJurisdiction, "a|b", MClosed, true}, []any{dim, key, m, ok}); diff != "" {
		t.Error(diff)
	}
	if _, _, _, ok := ParseField("state|x"); ok {
		t.Error("a field without a measure parsed")
	}
}

func TestFilterIndexes(t *testing.T) {
	f := Filter{State: typesv1.DisputeState_DISPUTE_STATE_CLOSED, RegisteringDepartment: "tax", Query: "x"}
	want := []string{"hrss:state:DISPUTE_STATE_CLOSED", "hrss:registering_department:tax"}
	if diff := cmp.Diff(want, f.Indexes("hrss")); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"*:all"}, (Filter{Query: "x"}).Indexes(ScopeRegion)); diff != "" {
		t.Error(diff)
	}
}

// SameDerived must see every field Cells and Indexes read: a dossier
// changed in any of them is not the same.
func TestSameDerived(t *testing.T) {
	base := Dossier{RegisterTime: t0, FirstTime: t0, State: typesv1.DisputeState_DISPUTE_STATE_HANDLING,
		RegisteringDepartment: "tax", Holder: "tax", Departments: []string{"tax"}}
	changes := map[string]func(d *Dossier){
		"state":        func(d *Dossier) { d.State = typesv1.DisputeState_DISPUTE_STATE_CLOSED },
		"category":     func(d *Dossier) { d.Category = typesv1.Category_CATEGORY_BENEFITS },
		"channel":      func(d *Dossier) { d.Channel = typesv1.Channel_CHANNEL_PHONE },
		"registering":  func(d *Dossier) { d.RegisteringDepartment = "hrss" },
		"holder":       func(d *Dossier) { d.Holder = "hrss" },
		"jurisdiction": func(d *Dossier) { d.Jurisdiction = "141181001" },
		"registered":   func(d *Dossier) { d.RegisterTime = t0.Add(time.Hour) },
		"first":        func(d *Dossier) { d.RegisterTime, d.FirstTime = time.Time{}, t0.Add(-time.Hour) },
		"reply":        func(d *Dossier) { d.ReplyTime = t0.Add(time.Hour) },
		"due":          func(d *Dossier) { d.HandlingDue = t0 },
		"overdue":      func(d *Dossier) { d.Overdue = true },
		"returned":     func(d *Dossier) { d.Returned = true },
		"extended":     func(d *Dossier) { d.Extended = true },
		"follow-ups":   func(d *Dossier) { d.FollowUps = 1 },
		"satisfied":    func(d *Dossier) { d.Satisfied = 1 },
		"readers":      func(d *Dossier) { d.Departments = []string{"hrss", "tax"} },
	}
	for what, change := range changes {
		d := base
		d.Departments = []string{"tax"}
		change(&d)
		if SameDerived(&base, &d) {
			t.Errorf("a change of %s is taken for none", what)
		}
	}
	d := base
	d.Events, d.Version, d.StateTime = 9, 4, t0.Add(time.Hour)
	if !SameDerived(&base, &d) || len(CellDelta(&base, &d)) != 0 {
		t.Error("a change of nothing counted moves counters")
	}
}

// The short way CellDelta takes for a dossier that keeps its month and
// readers gives what the difference of all cells gives.
func TestCellDeltaShortWay(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := func() *Dossier {
		d := &Dossier{RegisterTime: t0, FirstTime: t0, Departments: []string{"hrss", "tax"},
			State:                 typesv1.DisputeState(1 + rng.IntN(9)),
			Category:              typesv1.Category(rng.IntN(3)),
			Channel:               typesv1.Channel(rng.IntN(3)),
			RegisteringDepartment: []string{"tax", "hrss", ""}[rng.IntN(3)],
			Holder:                []string{"tax", "hrss", ""}[rng.IntN(3)],
			Jurisdiction:          []string{"141181001", ""}[rng.IntN(2)],
			Overdue:               rng.IntN(2) == 0, Returned: rng.IntN(2) == 0, Extended: rng.IntN(2) == 0,
			FollowUps: int64(rng.IntN(3)), Satisfied: int64(rng.IntN(2)),
		}
		if rng.IntN(2) == 0 {
			d.ReplyTime = t0.Add(time.Duration(rng.IntN(500)) * time.Hour)
		}
		if rng.IntN(2) == 0 {
			d.HandlingDue = t0.Add(time.Duration(rng.IntN(500)) * time.Hour)
		}
		return d
	}
	for range 500 {
		a, b := random(), random()
		want := map[Cell]int64{}
		for c, v := range b.Cells() {
			want[c] += v
		}
		for c, v := range a.Cells() {
			want[c] -= v
		}
		for c, v := range want {
			if v == 0 {
				delete(want, c)
			}
		}
		if diff := cmp.Diff(want, CellDelta(a, b)); diff != "" {
			t.Fatalf("%+v -> %+v (-all cells +short way):\n%s", a, b, diff)
		}
	}
}
