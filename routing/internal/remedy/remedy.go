// Package remedy computes the last dates of the remedies a written reply
// (书面告知) must state: what the claimant may still do and by when. Dates
// are calendar dates in China (Asia/Shanghai, UTC+8 without daylight saving),
// counted from the day the reply reached the claimant (送达: the delivery
// date once recorded, the reply date until then); a last day that is not a working day moves to
// the next working day, as procedural periods do (民事诉讼法 第八十五条:
// 期间届满的最后一日是法定休假日的, 以法定休假日后的第一日为期间届满的日期;
// applied to reconsideration and litigation by 行政复议法 and 行政诉讼法).
// The day of delivery itself is not counted. It is pure.
package remedy

import (
	"fmt"
	"time"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// China is the zone reply dates are counted in (fixed UTC+8).
var China = names.China

// DateLayout is the layout of a last date: "YYYY-MM-DD".
const DateLayout = "2006-01-02"

// Workdays tells working days from rest days. A business calendar with
// public holidays and make-up working days (调休) satisfies it; Weekends is
// the fallback.
type Workdays interface {
	// IsWorkingDay reports whether the calendar date of day (in China) is a working day.
	IsWorkingDay(day time.Time) bool
}

// Weekends treats Monday to Friday as working days and knows no holidays.
type Weekends struct{}

// IsWorkingDay reports whether day falls on Monday to Friday in China.
func (Weekends) IsWorkingDay(day time.Time) bool {
	switch day.In(China).Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return true
}

// Deadline is one remedy with its last date ("" when the law fixes none
// counted from the reply), its legal basis cited in full and its period as
// the law words it. Authority is where to apply; the remedy package leaves
// it empty for the caller to fill from the region's legal data.
type Deadline struct {
	Remedy    typesv1.Remedy `json:"remedy"`
	LastDate  string         `json:"last_date,omitempty"`
	Basis     string         `json:"basis"`
	Period    string         `json:"period,omitempty"`
	Authority string         `json:"authority,omitempty"`
}

// period is how a remedy's time limit is counted from the delivery date.
type period struct {
	days, months int
	basis        string
	wording      string
}

// rules are the periods of each remedy, with the statutes cited in full.
var rules = map[typesv1.Remedy]period{
	typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION: {days: 60,
		basis:   "《中华人民共和国行政复议法》第二十条",
		wording: "自收到本告知书之日起六十日内申请行政复议"},
	typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION: {months: 6,
		basis:   "《中华人民共和国行政诉讼法》第四十六条",
		wording: "自收到本告知书之日起六个月内提起行政诉讼"},
	typesv1.Remedy_REMEDY_REVIEW_REQUEST: {days: 30,
		basis:   "《信访工作条例》第三十五条",
		wording: "自收到本告知书之日起三十日内请求复查"},
	typesv1.Remedy_REMEDY_MEDIATION: {
		basis:   "《中华人民共和国人民调解法》第十七条",
		wording: "可以自愿申请调解，法律未规定自告知之日起算的期限"},
	typesv1.Remedy_REMEDY_ARBITRATION: {
		basis:   "《中华人民共和国劳动争议调解仲裁法》第二十七条",
		wording: "仲裁时效自知道或者应当知道其权利被侵害之日起算，不以告知之日起算"},
}

// Default is what a reply states when it names no remedies.
var Default = []typesv1.Remedy{
	typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION,
	typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION,
	typesv1.Remedy_REMEDY_MEDIATION,
	typesv1.Remedy_REMEDY_ARBITRATION,
}

// AddMonths returns the same day of the month n months after date, or that
// month's last day when it is shorter (3-31 plus 6 months is 9-30).
func AddMonths(date time.Time, n int) time.Time {
	y, m, d := date.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, date.Location())
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), 0, 0, 0, 0, date.Location())
}

// maxRoll bounds the search for a working day; no calendar rests this long.
const maxRoll = 60

// NextWorkingDay returns day itself when it is a working day, else the
// first working day after it.
func NextWorkingDay(day time.Time, w Workdays) time.Time {
	for i := 0; i < maxRoll && !w.IsWorkingDay(day); i++ {
		day = day.AddDate(0, 0, 1)
	}
	return day
}

// LastDate returns the last day to use remedy r after a reply at replied,
// and its legal basis; the date is "" when the law fixes none.
func LastDate(r typesv1.Remedy, replied time.Time, w Workdays) (string, string, error) {
	p, ok := rules[r]
	if !ok {
		return "", "", fmt.Errorf("unknown remedy %v", r)
	}
	if p.days == 0 && p.months == 0 {
		return "", p.basis, nil
	}
	y, m, d := replied.In(China).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, China)
	if p.months > 0 {
		day = AddMonths(day, p.months)
	} else {
		day = day.AddDate(0, 0, p.days)
	}
	return NextWorkingDay(day, w).Format(DateLayout), p.basis, nil
}

// Deadlines returns the deadlines of the remedies named, in the order
// given, or of Default when none are named, counted from delivered: the
// day the reply reached the claimant.
func Deadlines(remedies []typesv1.Remedy, delivered time.Time, w Workdays) ([]Deadline, error) {
	if len(remedies) == 0 {
		remedies = Default
	}
	out := make([]Deadline, 0, len(remedies))
	for _, r := range remedies {
		date, basis, err := LastDate(r, delivered, w)
		if err != nil {
			return nil, err
		}
		out = append(out, Deadline{Remedy: r, LastDate: date, Basis: basis, Period: rules[r].wording})
	}
	return out, nil
}
