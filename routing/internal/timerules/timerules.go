// Package timerules gives routing each region's time rules as they stand in
// etcd: the stage limits (regionconfig.TimeLimitsSpec) and the business
// calendar of every year (regionconfig.CalendarSpec), both watched live.
// Rules are read at the moment of each computation, so a change in etcd
// applies to the next clock started or moved.
package timerules

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// Source is routing's tracker.Calendar backed by the etcd watchers.
type Source struct {
	Limits    *regionconfig.Watcher[*configv1.TimeLimits]
	Calendars *regionconfig.Watcher[*configv1.BusinessCalendar]
	log       *slog.Logger
	// ownCalendars is set when the source runs its calendar watcher itself.
	ownCalendars bool

	mu       sync.Mutex
	cache    map[string]cached
	warnedMu sync.Mutex
	warned   map[string]bool // "region/year" reported missing
}

// cached is a region's rules with the documents they were built from.
type cached struct {
	limits *configv1.TimeLimits
	years  map[string]*configv1.BusinessCalendar
	strict bool
	rules  *tracker.Rules
}

// New returns a source on cli; run its Loops to fill it.
func New(cli *clientv3.Client, log *slog.Logger, reg prometheus.Registerer) *Source {
	return NewWith(cli, nil, log, reg)
}

// NewWith is New on a calendar watcher the process already runs (the one
// platform/app starts for every service), which Loops then leaves out; nil
// makes the source run its own.
func NewWith(cli *clientv3.Client, calendars *regionconfig.Watcher[*configv1.BusinessCalendar], log *slog.Logger, reg prometheus.Registerer) *Source {
	s := &Source{
		Limits:    regionconfig.NewWatcher(cli, regionconfig.TimeLimitsSpec, log, reg),
		Calendars: calendars,
		log:       log,
		cache:     map[string]cached{},
		warned:    map[string]bool{},
	}
	if calendars == nil {
		s.Calendars, s.ownCalendars = regionconfig.NewWatcher(cli, regionconfig.CalendarSpec, log, reg), true
	}
	return s
}

// Loops are the watchers the source runs, to run beside the server.
func (s *Source) Loops() []func(context.Context) error {
	if !s.ownCalendars {
		return []func(context.Context) error{s.Limits.Run}
	}
	return []func(context.Context) error{s.Limits.Run, s.Calendars.Run}
}

// Loaded is closed once both watchers have loaded etcd.
func (s *Source) Loaded() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		<-s.Limits.Loaded()
		<-s.Calendars.Loaded()
		close(ch)
	}()
	return ch
}

// Rules returns the region's rules: the limits in etcd over the defaults,
// on the calendar years in etcd. A year without a calendar counts only
// weekends as days off and is logged once per region; once the calendars
// are loaded the calendar is strict, so the RPCs refuse a deadline that
// would be counted across such a year (clock.Calendar.MissingYear).
func (s *Source) Rules(region string) *tracker.Rules {
	tl, _ := s.Limits.Get(region, "")
	years := s.Calendars.Entries(region)
	strict := s.loaded()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cache[region]; ok && c.limits == tl && c.strict == strict && maps.Equal(c.years, years) {
		return c.rules
	}
	r := s.build(region, tl, years, strict)
	s.cache[region] = cached{limits: tl, years: years, strict: strict, rules: r}
	return r
}

// loaded reports whether the calendars watcher has read etcd once: only
// then is a year it lacks known to be missing.
func (s *Source) loaded() bool {
	select {
	case <-s.Calendars.Loaded():
		return true
	default:
		return false
	}
}

func (s *Source) build(region string, tl *configv1.TimeLimits, docs map[string]*configv1.BusinessCalendar, strict bool) *tracker.Rules {
	eff := regionconfig.EffectiveTimeLimits(tl)
	r := &tracker.Rules{
		Limits:              map[tracker.Stage]tracker.Limit{},
		MaxExtensionDays:    int(eff.GetMaxExtensionDays()),
		ObjectionWindowDays: int(eff.GetObjectionWindowDays()),
		WarningWorkingDays:  int(eff.GetWarningWorkingDays()),
	}
	for _, l := range eff.GetStages() {
		if v, ok := routingv1.Stage_value[l.GetStage()]; ok {
			r.Limits[tracker.Stage(v)] = tracker.Limit{Days: int(l.GetDays()), Working: l.GetWorkingDays()}
		}
	}
	var years []clock.Year
	for _, k := range slices.Sorted(maps.Keys(docs)) {
		d := docs[k]
		years = append(years, clock.Year{Year: int(d.GetYear()), Holidays: d.GetHolidays(), MakeUp: d.GetMakeUpWorkdays()})
	}
	newCal := clock.New
	if strict {
		newCal = clock.NewStrict
	}
	cal, err := newCal(years, func(year int) { s.missing(region, year) })
	if err != nil {
		// The watcher validated every date; this is a defect, not data.
		s.log.Error("business calendar does not build; counting weekends only", "region", region, "error", err)
		cal, _ = clock.New(nil, func(year int) { s.missing(region, year) })
	}
	r.Calendar = cal
	return r
}

// missing logs, once per region and year, that a year has no calendar.
func (s *Source) missing(region string, year int) {
	if !s.loaded() {
		return // not loaded yet: nothing is known to be missing
	}
	key := region + "/" + strconv.Itoa(year)
	s.warnedMu.Lock()
	defer s.warnedMu.Unlock()
	if s.warned[key] {
		return
	}
	s.warned[key] = true
	s.log.Warn("no business calendar in etcd for the year; counting weekends only as days off",
		"region", region, "year", year, "key", regionconfig.CalendarSpec.Key(region, strconv.Itoa(year)))
}
