package grpcapi

import (
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// ReasonCalendarMissing is the ErrorInfo reason of a change refused because
// a deadline it computes falls into a year with no business calendar.
const ReasonCalendarMissing = "CALENDAR_MISSING"

// calendarMissingError is a deadline that would be counted across a year
// the region has no calendar for: counted on weekends alone, it would
// ignore that year's holidays and make-up working days.
type calendarMissingError struct {
	region string
	year   int
	what   string
}

func (e *calendarMissingError) Error() string {
	return fmt.Sprintf("the %s would fall in %d, and region %s has no business calendar for %d (%s): "+
		"an administrator loads it from the State Council's holiday notice with "+
		"disputectl calendar set --region %s --year %d --file <file>",
		e.what, e.year, e.region, e.year, regionconfig.CalendarSpec.Key(e.region, strconv.Itoa(e.year)), e.region, e.year)
}

func (e *calendarMissingError) status() error {
	return apierr.NewWithMetadata(codes.FailedPrecondition, ReasonCalendarMissing, e.Error(),
		map[string]string{"region": e.region, "year": strconv.Itoa(e.year)})
}

// deadline is one time a tracker counts on the business calendar.
type deadline struct {
	what  string
	start time.Time
	due   time.Time
}

// deadlines returns the deadlines t holds now: every running clock's due
// time and the objection window's end.
func deadlines(t *tracker.Tracker) []deadline {
	var out []deadline
	for _, k := range t.Clocks {
		if k.Running() {
			out = append(out, deadline{what: "due time of " + routingv1.Stage(k.Stage).String(), start: k.Start, due: k.Due})
		}
	}
	if !t.ObjectionWindowEnd.IsZero() {
		out = append(out, deadline{what: "end of the objection window", due: t.ObjectionWindowEnd})
	}
	return out
}

// checkCalendar refuses a change whose new deadlines (those in after but not
// in before) are counted across a year without a calendar. Deadlines set
// earlier are left alone, so a dispute whose clock already runs into such a
// year can still be worked on.
func (s *Server) checkCalendar(region string, before, after []deadline, now time.Time) error {
	// Compared as instants: a deadline read back from storage carries
	// another *time.Location than one computed now.
	type key struct {
		what       string
		start, due int64
	}
	keyOf := func(d deadline) key { return key{d.what, d.start.UnixNano(), d.due.UnixNano()} }
	known := map[key]bool{}
	for _, d := range before {
		known[keyOf(d)] = true
	}
	cal := s.calendar.Rules(region).Calendar
	for _, d := range after {
		if known[keyOf(d)] {
			continue
		}
		from := d.start
		if from.IsZero() || from.After(now) {
			from = now
		}
		if year, missing := cal.MissingYear(from, d.due); missing {
			return &calendarMissingError{region: region, year: year, what: d.what}
		}
	}
	return nil
}
