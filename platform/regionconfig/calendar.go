package regionconfig

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xiaoyi-disputes/disputes/platform/names"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
)

// CalendarSpec is one year of a region's business calendar at
// /disputes/<region>/calendar/<year>. Holidays lists every official day off
// of the year's holiday schedule (weekend ones included, which changes
// nothing); make_up_workdays the weekend days worked instead (调休上班).
var CalendarSpec = Spec[*configv1.BusinessCalendar]{
	Path:   "calendar/",
	New:    func() *configv1.BusinessCalendar { return &configv1.BusinessCalendar{} },
	Metric: "calendar",
	Check:  checkCalendar,
}

func checkCalendar(_, sub string, c *configv1.BusinessCalendar) []apierr.Violation {
	var vs []apierr.Violation
	if sub != "" && sub != strconv.Itoa(int(c.GetYear())) {
		vs = append(vs, apierr.Violation{Field: "year", Reason: fmt.Sprintf("%d does not match the key's year %s", c.GetYear(), sub)})
	}
	seen := map[string]string{}
	check := func(list, date string, i int, makeUp bool) {
		field := fmt.Sprintf("%s[%d]", list, i)
		d, err := time.Parse(time.DateOnly, date)
		switch {
		case err != nil:
			vs = append(vs, apierr.Violation{Field: field, Reason: fmt.Sprintf("%q is not a date", date)})
			return
		case d.Year() != int(c.GetYear()):
			vs = append(vs, apierr.Violation{Field: field, Reason: fmt.Sprintf("%s is not in %d", date, c.GetYear())})
		case makeUp && d.Weekday() != time.Saturday && d.Weekday() != time.Sunday:
			vs = append(vs, apierr.Violation{Field: field, Reason: fmt.Sprintf("%s is a %s; make-up working days fall on weekends", date, d.Weekday())})
		}
		if prev, ok := seen[date]; ok {
			reason := fmt.Sprintf("%s is already listed in %s", date, prev)
			if makeUp && strings.HasPrefix(prev, "holidays[") {
				reason += ": a day is either a holiday or a make-up working day, not both"
			}
			vs = append(vs, apierr.Violation{Field: field, Reason: reason})
		}
		seen[date] = field
	}
	for i, d := range c.GetHolidays() {
		check("holidays", d, i, false)
	}
	for i, d := range c.GetMakeUpWorkdays() {
		check("make_up_workdays", d, i, true)
	}
	return vs
}

// ParseCalendar reads one year's calendar as an administrator writes it from
// the State Council's holiday notice (国务院办公厅关于部分节假日安排的通知):
// either the JSON of a BusinessCalendar (the deploy/config files) or lines
// of text, one day or range per line, "#" starting a comment:
//
//	# 春节：2月15日至23日放假调休，共9天；2月14日（周六）、2月28日（周六）上班
//	holiday 2026-02-15..2026-02-23
//	workday 2026-02-14
//	workday 2026-02-28
//
// "休" may stand for holiday and "班" for workday. year is the year the file
// is for: a JSON file naming another year is refused, a text file takes it.
// The result is not validated; CalendarSpec.Validate does that.
func ParseCalendar(year int, raw []byte) (*configv1.BusinessCalendar, error) {
	trimmed := bytes.TrimSpace(raw)
	if bytes.HasPrefix(trimmed, []byte("{")) {
		var c configv1.BusinessCalendar
		if err := protojson.Unmarshal(trimmed, &c); err != nil {
			return nil, fmt.Errorf("calendar JSON: %w", err)
		}
		if int(c.GetYear()) != year {
			return nil, fmt.Errorf("the file is the calendar of %d, not %d", c.GetYear(), year)
		}
		return &c, nil
	}
	c := &configv1.BusinessCalendar{Year: int32(year)}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d: want \"holiday DATE[..DATE]\" or \"workday DATE\", got %q", n, strings.TrimSpace(line))
		}
		var into *[]string
		switch fields[0] {
		case "holiday", "休":
			into = &c.Holidays
		case "workday", "班":
			into = &c.MakeUpWorkdays
		default:
			return nil, fmt.Errorf("line %d: %q is neither holiday (休) nor workday (班)", n, fields[0])
		}
		days, err := dayRange(fields[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		*into = append(*into, days...)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// dayRange expands "2026-02-15..2026-02-23" (or one date) into its days.
func dayRange(s string) ([]string, error) {
	from, to, isRange := strings.Cut(s, "..")
	if !isRange {
		to = from
	}
	a, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return nil, fmt.Errorf("%q is not a date (YYYY-MM-DD)", from)
	}
	b, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return nil, fmt.Errorf("%q is not a date (YYYY-MM-DD)", to)
	}
	if b.Before(a) || b.Sub(a) > 31*24*time.Hour {
		return nil, fmt.Errorf("%s: a range runs forward, at most a month", s)
	}
	var out []string
	for d := a; !d.After(b); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(time.DateOnly))
	}
	return out, nil
}

// CalendarLead is how long before a year starts a missing calendar for it
// is reported: the State Council publishes its notice in the autumn, and
// deadlines counted from November already reach into the next year.
const CalendarLead = 60 * 24 * time.Hour

// MissingCalendars returns the years region lacks a calendar for among
// those in use at now (China time): the current year, and the next one from
// CalendarLead before it starts.
func MissingCalendars(have map[string]*configv1.BusinessCalendar, now time.Time) []int {
	now = now.In(names.China)
	var out []int
	next := time.Date(now.Year()+1, 1, 1, 0, 0, 0, 0, names.China)
	for _, y := range []int{now.Year(), now.Year() + 1} {
		if y > now.Year() && next.Sub(now) > CalendarLead {
			continue
		}
		if _, ok := have[strconv.Itoa(y)]; !ok {
			out = append(out, y)
		}
	}
	return out
}

// CalendarReadiness returns a /readyz info function over w: "ok", or which
// regions (from regions) lack which years' calendars, from CalendarLead
// before a year starts. A missing year does not fail readiness: deadlines
// that do not reach into it are computed as usual, and routing refuses
// those that would (reason CALENDAR_MISSING).
func CalendarReadiness(w *Watcher[*configv1.BusinessCalendar], regions func() []string, now func() time.Time) func() string {
	return func() string {
		select {
		case <-w.Loaded():
		default:
			return "not loaded yet"
		}
		var parts []string
		for _, region := range regions() {
			for _, y := range MissingCalendars(w.Entries(region), now()) {
				parts = append(parts, fmt.Sprintf("region %s has no business calendar for %d (%s); load it with disputectl calendar set --region %s --year %d",
					region, y, CalendarSpec.Key(region, strconv.Itoa(y)), region, y))
			}
		}
		if len(parts) == 0 {
			return "ok"
		}
		return "degraded: " + strings.Join(parts, "; ")
	}
}
