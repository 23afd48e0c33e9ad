package regionconfig

import (
	"fmt"
	"strconv"
	"time"

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
			vs = append(vs, apierr.Violation{Field: field, Reason: fmt.Sprintf("%s is already listed in %s", date, prev)})
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
