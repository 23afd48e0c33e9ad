package regionconfig_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
)

func TestParseCalendar(t *testing.T) {
	text := `# 国务院办公厅关于2026年部分节假日安排的通知
holiday 2026-01-01..2026-01-03   # 元旦
workday 2026-01-04
休 2026-02-15..2026-02-17
班 2026-02-14
`
	got, err := regionconfig.ParseCalendar(2026, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := &configv1.BusinessCalendar{Year: 2026,
		Holidays:       []string{"2026-01-01", "2026-01-02", "2026-01-03", "2026-02-15", "2026-02-16", "2026-02-17"},
		MakeUpWorkdays: []string{"2026-01-04", "2026-02-14"}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("text calendar (-want +got):\n%s", diff)
	}
	if vs := regionconfig.CalendarSpec.Validate("141181", "2026", got); len(vs) > 0 {
		t.Errorf("parsed calendar does not validate: %v", vs)
	}
	js, err := regionconfig.ParseCalendar(2026, []byte(`{"year": 2026, "holidays": ["2026-10-01"]}`))
	if err != nil || !slices.Equal(js.GetHolidays(), []string{"2026-10-01"}) {
		t.Errorf("JSON calendar: %v, %v", js, err)
	}

	for _, tt := range []struct{ name, in, want string }{
		{"JSON of another year", `{"year": 2027}`, "the calendar of 2027, not 2026"},
		{"unknown word", "vacation 2026-10-01", "line 1"},
		{"not a date", "holiday 2026-13-01", `"2026-13-01" is not a date`},
		{"backwards range", "holiday 2026-10-07..2026-10-01", "runs forward"},
		{"three words", "holiday 2026-10-01 国庆", "line 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := regionconfig.ParseCalendar(2026, []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestMissingCalendars(t *testing.T) {
	have := map[string]*configv1.BusinessCalendar{"2026": {Year: 2026}}
	at := func(s string) time.Time {
		d, err := time.ParseInLocation("2006-01-02 15:04", s, names.China)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tt := range []struct {
		now  string
		want []int
	}{
		{"2026-06-01 12:00", nil},
		{"2026-11-01 23:59", nil},         // 61 days before 2027
		{"2026-11-02 00:00", []int{2027}}, // 60 days before
		{"2026-12-31 23:59", []int{2027}},
		{"2027-01-01 00:00", []int{2027}},       // the current year missing
		{"2027-11-15 08:00", []int{2027, 2028}}, // both
	} {
		if got := regionconfig.MissingCalendars(have, at(tt.now)); !slices.Equal(got, tt.want) {
			t.Errorf("MissingCalendars at %s = %v, want %v", tt.now, got, tt.want)
		}
	}
}

func TestCalendarReadinessFollowsEtcd(t *testing.T) {
	cli := testenv.StartEtcd(t).Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := regionconfig.NewWatcher(cli, regionconfig.CalendarSpec, nil, nil)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, names.China)
	info := regionconfig.CalendarReadiness(w, func() []string { return []string{"141181"} }, func() time.Time { return now })
	if got := info(); got != "not loaded yet" {
		t.Errorf("before loading: %q", got)
	}
	if err := regionconfig.Put(ctx, cli, regionconfig.CalendarSpec, "141181", "2026", &configv1.BusinessCalendar{Year: 2026}); err != nil {
		t.Fatal(err)
	}
	go w.Run(ctx)
	<-w.Loaded()
	got := info()
	if !strings.HasPrefix(got, "degraded: ") || !strings.Contains(got, "region 141181 has no business calendar for 2027") ||
		!strings.Contains(got, "/disputes/141181/calendar/2027") || strings.Contains(got, "2026") {
		t.Errorf("with 2027 missing 30 days before it starts: %q", got)
	}
	if err := regionconfig.Put(ctx, cli, regionconfig.CalendarSpec, "141181", "2027", &configv1.BusinessCalendar{Year: 2027, Holidays: []string{"2027-01-01"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for info() != "ok" {
		if time.Now().After(deadline) {
			t.Fatalf("2027 loaded but readiness still says %q", info())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
