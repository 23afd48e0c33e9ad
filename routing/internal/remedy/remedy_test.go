package remedy

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

const (
	reconsideration = typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION
	litigation      = typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION
	review          = typesv1.Remedy_REMEDY_REVIEW_REQUEST
	mediation       = typesv1.Remedy_REMEDY_MEDIATION
	arbitration     = typesv1.Remedy_REMEDY_ARBITRATION
)

// holidays is a business calendar with some 2026 public holidays on top of weekends.
type holidays map[string]bool

func (h holidays) IsWorkingDay(day time.Time) bool {
	return !h[day.In(China).Format(DateLayout)] && Weekends{}.IsWorkingDay(day)
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAddMonths(t *testing.T) {
	tests := []struct{ from, want string }{
		{"2026-03-31", "2026-09-30"},
		{"2026-08-31", "2027-02-28"},
		{"2027-08-31", "2028-02-29"},
		{"2026-01-15", "2026-07-15"},
		{"2026-07-31", "2027-01-31"},
	}
	for _, tt := range tests {
		t.Run(tt.from, func(t *testing.T) {
			d, _ := time.ParseInLocation(DateLayout, tt.from, China)
			if got := AddMonths(d, 6).Format(DateLayout); got != tt.want {
				t.Fatalf("AddMonths(%s, 6) = %s, want %s", tt.from, got, tt.want)
			}
		})
	}
}

func TestLastDate(t *testing.T) {
	national := holidays{}
	for _, d := range []string{"2026-05-01", "2026-05-04", "2026-05-05", "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"} {
		national[d] = true
	}
	tests := []struct {
		name    string
		remedy  typesv1.Remedy
		replied string
		cal     Workdays
		want    string
	}{
		{"litigation clamps to September's end", litigation, "2026-03-31T10:00:00+08:00", Weekends{}, "2026-09-30"},
		{"litigation clamps to February's end, a Sunday, rolls to Monday", litigation, "2026-08-31T10:00:00+08:00", Weekends{}, "2027-03-01"},
		{"litigation into a leap February", litigation, "2027-08-31T09:00:00+08:00", Weekends{}, "2028-02-29"},
		{"reconsideration 60 days on a Saturday rolls to Monday", reconsideration, "2026-03-31T10:00:00+08:00", Weekends{}, "2026-06-01"},
		{"reconsideration 60 days on a Friday", reconsideration, "2026-08-31T10:00:00+08:00", Weekends{}, "2026-10-30"},
		{"review 30 days", review, "2026-03-31T10:00:00+08:00", Weekends{}, "2026-04-30"},
		{"review 30 days from 8-31", review, "2026-08-31T10:00:00+08:00", Weekends{}, "2026-09-30"},
		{"reply date is China's date, not UTC's", litigation, "2026-03-31T20:00:00Z", Weekends{}, "2026-10-01"},
		{"National Day holidays roll forward", litigation, "2026-03-31T20:00:00Z", national, "2026-10-08"},
		{"Labour Day holidays roll forward", review, "2026-03-31T20:00:00Z", national, "2026-05-06"},
		{"mediation has no fixed date", mediation, "2026-03-31T10:00:00+08:00", Weekends{}, ""},
		{"arbitration has no fixed date", arbitration, "2026-03-31T10:00:00+08:00", Weekends{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, basis, err := LastDate(tt.remedy, at(tt.replied), tt.cal)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("LastDate(%v, %s) = %q, want %q", tt.remedy, tt.replied, got, tt.want)
			}
			if basis == "" {
				t.Fatal("no legal basis")
			}
		})
	}
	if _, _, err := LastDate(typesv1.Remedy_REMEDY_UNSPECIFIED, at("2026-03-31T10:00:00+08:00"), Weekends{}); err == nil {
		t.Fatal("LastDate(UNSPECIFIED) succeeded")
	}
}

func TestDeadlines(t *testing.T) {
	replied := at("2026-03-31T10:00:00+08:00")
	tests := []struct {
		name  string
		given []typesv1.Remedy
		want  []Deadline
	}{
		{"none named: the default four", nil, []Deadline{
			{Remedy: reconsideration, LastDate: "2026-06-01"},
			{Remedy: litigation, LastDate: "2026-09-30"},
			{Remedy: mediation},
			{Remedy: arbitration},
		}},
		{"named, in the order given", []typesv1.Remedy{review, litigation}, []Deadline{
			{Remedy: review, LastDate: "2026-04-30"},
			{Remedy: litigation, LastDate: "2026-09-30"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Deadlines(tt.given, replied, Weekends{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if !strings.HasPrefix(got[i].Basis, "《") || !strings.Contains(got[i].Basis, "第") || got[i].Period == "" {
					t.Errorf("%v: basis %q, period %q; want a statute cited in full and a period", got[i].Remedy, got[i].Basis, got[i].Period)
				}
				got[i].Basis, got[i].Period = "", ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("deadlines (-want +got):\n%s", diff)
			}
		})
	}
}

// The written reply cites each statute in full, article included.
func TestBasisCitedInFull(t *testing.T) {
	want := map[typesv1.Remedy]string{
		reconsideration: "《中华人民共和国行政复议法》第二十条",
		litigation:      "《中华人民共和国行政诉讼法》第四十六条",
		review:          "《信访工作条例》第三十五条",
	}
	for r, basis := range want {
		_, got, err := LastDate(r, at("2026-03-31T10:00:00+08:00"), Weekends{})
		if err != nil || got != basis {
			t.Errorf("basis of %v = %q, %v; want %q", r, got, err, basis)
		}
	}
}
