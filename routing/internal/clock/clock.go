// Package clock counts time limits (规定时限) on a business calendar:
// Saturdays and Sundays off, the State Council's public holidays off, its
// make-up working days (调休上班) on, all in China time. It is pure: the
// calendar years come from the caller (routing reads them from etcd).
//
// Counting rules, as for legal periods (the day an act happens is not
// counted):
//   - A limit of N working days started on day S falls due at the end of
//     the Nth working day after S.
//   - A limit of N calendar days started on day S falls due at the end of
//     day S+N; when that is not a working day, at the end of the next
//     working day (a deadline on a holiday rolls forward).
//   - A day ends at 23:59:59 China time.
//   - A pause from day P to day R gives back the days in (P, R]: for a
//     working-day limit the working days among them, for a calendar-day
//     limit all of them. A pause within one day gives back nothing; a clock
//     resumed on R has what it had left when paused, as if restarted on R.
//   - An extension adds its days to the limit (in the limit's unit).
package clock

import (
	"fmt"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// China is Asia/Shanghai as a fixed UTC+8 zone: China has kept no daylight
// saving time since 1991, and a fixed zone needs no tzdata on the host.
var China = names.China

// Year is one calendar year's official days off and make-up working days,
// as "YYYY-MM-DD".
type Year struct {
	Year     int
	Holidays []string
	MakeUp   []string
}

// Limit is a time limit: Days long, counted in working days when Working,
// else in calendar days.
type Limit struct {
	Days    int  `json:"days"`
	Working bool `json:"working,omitempty"`
}

// Span is a stretch of time; To is zero while it is still open.
type Span struct {
	From, To time.Time
}

type date struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) date {
	y, m, d := t.In(China).Date()
	return date{y, m, d}
}

// Calendar is a business calendar built from per-year documents. A year
// without a document counts only weekends as days off; Missing, when set,
// is told each time such a year is consulted.
type Calendar struct {
	off, on map[date]bool
	years   map[int]bool
	missing func(year int)
	// strict is set when the years are all the region has: MissingYear
	// then names the years a computation would wrongly count on weekends
	// alone.
	strict bool
}

// New builds a calendar from years; missing (may be nil) is called with
// the year whenever a day of a year without a document is looked up.
func New(years []Year, missing func(year int)) (*Calendar, error) {
	c := &Calendar{off: map[date]bool{}, on: map[date]bool{}, years: map[int]bool{}, missing: missing}
	for _, y := range years {
		c.years[y.Year] = true
		for _, set := range []struct {
			days []string
			into map[date]bool
		}{{y.Holidays, c.off}, {y.MakeUp, c.on}} {
			for _, s := range set.days {
				t, err := time.ParseInLocation(time.DateOnly, s, China)
				if err != nil {
					return nil, fmt.Errorf("calendar %d: %q is not a date", y.Year, s)
				}
				set.into[dateOf(t)] = true
			}
		}
	}
	return c, nil
}

// NewStrict is New for a calendar whose years are every document the region
// has, so a year not among them is known to be missing (MissingYear).
func NewStrict(years []Year, missing func(year int)) (*Calendar, error) {
	c, err := New(years, missing)
	if err != nil {
		return nil, err
	}
	c.strict = true
	return c, nil
}

// MissingYear returns the first year from from's to to's (China time) that
// has no document, when the calendar was built with NewStrict; a calendar
// built otherwise reports none. A deadline counted across such a year
// ignores its holidays and make-up working days.
func (c *Calendar) MissingYear(from, to time.Time) (int, bool) {
	if !c.strict {
		return 0, false
	}
	for y := dateOf(from).y; y <= dateOf(to).y; y++ {
		if !c.years[y] {
			return y, true
		}
	}
	return 0, false
}

// Weekends is the calendar with no holiday documents at all.
func Weekends() *Calendar {
	c, _ := New(nil, nil)
	return c
}

// Day returns the start (00:00 China time) of t's day.
func Day(t time.Time) time.Time {
	y, m, d := t.In(China).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, China)
}

// EndOfDay returns 23:59:59 China time of t's day.
func EndOfDay(t time.Time) time.Time { return Day(t).Add(24*time.Hour - time.Second) }

// IsWorkingDay reports whether t's day (China time) is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	d := dateOf(t)
	if !c.years[d.y] && c.missing != nil {
		c.missing(d.y)
	}
	switch {
	case c.off[d]:
		return false
	case c.on[d]:
		return true
	}
	wd := Day(t).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// RollForward returns the start of the first working day at or after t's day.
func (c *Calendar) RollForward(t time.Time) time.Time {
	d := Day(t)
	for !c.IsWorkingDay(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// AddWorkingDays returns the end of the nth working day after start's day
// (n <= 0: the end of start's day, rolled forward to a working day).
func (c *Calendar) AddWorkingDays(start time.Time, n int) time.Time {
	d := Day(start)
	if n <= 0 {
		return EndOfDay(c.RollForward(d))
	}
	for i := 0; i < n; {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkingDay(d) {
			i++
		}
	}
	return EndOfDay(d)
}

// AddCalendarDays returns the end of the day n days after start's day,
// rolled forward to the next working day when that day is not one.
func (c *Calendar) AddCalendarDays(start time.Time, n int) time.Time {
	return EndOfDay(c.RollForward(Day(start).AddDate(0, 0, n)))
}

// Add returns when limit l plus extra days, started at start, falls due.
func (c *Calendar) Add(start time.Time, l Limit, extra int) time.Time {
	if l.Working {
		return c.AddWorkingDays(start, l.Days+extra)
	}
	return c.AddCalendarDays(start, l.Days+extra)
}

// daysIn counts the days in (from's day, to's day], only working ones when
// working is set; 0 when to is not after from.
func (c *Calendar) daysIn(from, to time.Time, working bool) int {
	n := 0
	end := Day(to)
	for d := Day(from).AddDate(0, 0, 1); !d.After(end); d = d.AddDate(0, 0, 1) {
		if !working || c.IsWorkingDay(d) {
			n++
		}
	}
	return n
}

// GivenBack is the days pauses give back to a clock of limit l: each
// pause's days in (its start day, its end day], working days only for a
// working-day limit. An open pause counts up to asOf.
func (c *Calendar) GivenBack(l Limit, pauses []Span, asOf time.Time) int {
	n := 0
	for _, p := range pauses {
		to := p.To
		if to.IsZero() {
			to = asOf
		}
		n += c.daysIn(p.From, to, l.Working)
	}
	return n
}

// Due returns when a clock started at start with limit l falls due, with
// extra days of extension and the days its pauses give back (an open pause
// counted up to asOf).
func (c *Calendar) Due(start time.Time, l Limit, extra int, pauses []Span, asOf time.Time) time.Time {
	return c.Add(start, l, extra+c.GivenBack(l, pauses, asOf))
}

// Remaining returns the working days left from now until due: the working
// days in (now's day, due's day], so a clock of N working days has N left
// on the day it starts and 0 on its last day. Once due has passed it is
// negative: minus the working days in (due's day, now's day], at least -1.
func (c *Calendar) Remaining(now, due time.Time) int32 {
	if !now.After(due) {
		return int32(c.daysIn(now, due, true))
	}
	return -int32(max(1, c.daysIn(due, now, true)))
}

// WarnAt returns when a clock due at due should be warned about, n working
// days ahead: the start of the nth working day before due's day, the moment
// from which Remaining is at most n. n <= 0 gives the start of due's day.
func (c *Calendar) WarnAt(due time.Time, n int) time.Time {
	d := Day(due)
	for i := 0; i < n; {
		d = d.AddDate(0, 0, -1)
		if c.IsWorkingDay(d) {
			i++
		}
	}
	return d
}
