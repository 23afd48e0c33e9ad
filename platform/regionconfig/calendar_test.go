package regionconfig_test

import (
	"os"
	"strings"
	"testing"

	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
)

func TestShippedCalendarsAndTimeLimitsValidate(t *testing.T) {
	for _, tt := range []struct {
		file, key string
		decode    func(key string, raw []byte) error
	}{
		{"2025.json", regionconfig.CalendarSpec.Key("141181", "2025"), func(k string, b []byte) error {
			_, err := regionconfig.CalendarSpec.Decode(k, b)
			return err
		}},
		{"2026.json", regionconfig.CalendarSpec.Key("141181", "2026"), func(k string, b []byte) error {
			_, err := regionconfig.CalendarSpec.Decode(k, b)
			return err
		}},
		{"../time-limits.json", regionconfig.TimeLimitsSpec.Key("141181", ""), func(k string, b []byte) error {
			_, err := regionconfig.TimeLimitsSpec.Decode(k, b)
			return err
		}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile("../../deploy/config/141181/calendar/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.decode(tt.key, raw); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCalendarCheck(t *testing.T) {
	tests := []struct {
		name, sub string
		cal       *configv1.BusinessCalendar
		want      string // substring of the violations, "" for none
	}{
		{"ok", "2026", &configv1.BusinessCalendar{Year: 2026, Holidays: []string{"2026-02-15", "2026-02-16"}, MakeUpWorkdays: []string{"2026-02-14"}}, ""},
		{"key year differs", "2025", &configv1.BusinessCalendar{Year: 2026}, "year: 2026 does not match the key's year 2025"},
		{"holiday of another year", "2026", &configv1.BusinessCalendar{Year: 2026, Holidays: []string{"2025-10-01"}}, "holidays[0]: 2025-10-01 is not in 2026"},
		{"no such day", "2026", &configv1.BusinessCalendar{Year: 2026, Holidays: []string{"2026-02-30"}}, `holidays[0]: "2026-02-30" is not a date`},
		{"make-up day on a weekday", "2026", &configv1.BusinessCalendar{Year: 2026, MakeUpWorkdays: []string{"2026-02-16"}}, "make_up_workdays[0]: 2026-02-16 is a Monday"},
		{"day in both lists", "2026", &configv1.BusinessCalendar{Year: 2026, Holidays: []string{"2026-02-14"}, MakeUpWorkdays: []string{"2026-02-14"}}, "make_up_workdays[0]: 2026-02-14 is already listed in holidays[0]"},
		{"duplicate holiday", "2026", &configv1.BusinessCalendar{Year: 2026, Holidays: []string{"2026-10-01", "2026-10-01"}}, "holidays[1]: 2026-10-01 is already listed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range regionconfig.CalendarSpec.Validate("141181", tt.sub, tt.cal) {
				got = append(got, v.Field+": "+v.Reason)
			}
			joined := strings.Join(got, "; ")
			if tt.want == "" && joined != "" || tt.want != "" && !strings.Contains(joined, tt.want) {
				t.Fatalf("violations %q, want %q", joined, tt.want)
			}
		})
	}
}
