package timerules_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
	"github.com/xiaoyi-disputes/disputes/routing/internal/timerules"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
	}
}

func TestRulesFollowEtcd(t *testing.T) {
	cli := testenv.StartEtcd(t).Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &testenv.LogBuffer{}
	src := timerules.New(cli, slog.New(slog.NewTextHandler(logs, nil)), nil)
	for _, loop := range src.Loops() {
		go loop(ctx)
	}
	<-src.Loaded()

	// Nothing in etcd: the defaults on weekends only.
	r := src.Rules("141181")
	if got := r.Limit(tracker.StageHandling); got != (tracker.Limit{Days: 60}) || r.MaxExtensionDays != 30 || r.WarningWorkingDays != 1 {
		t.Fatalf("default rules %+v, handling %+v", r, got)
	}
	springFestival := time.Date(2026, 2, 16, 12, 0, 0, 0, clock.China)
	if !r.Calendar.IsWorkingDay(springFestival) {
		t.Fatal("16 Feb 2026 off without a 2026 calendar")
	}
	r.Calendar.IsWorkingDay(springFestival.AddDate(0, 0, 1))
	if n := strings.Count(logs.String(), "no business calendar"); n != 1 {
		t.Fatalf("missing year logged %d times, want once:\n%s", n, logs)
	}

	// Changes in etcd apply to the next computation.
	tl := &configv1.TimeLimits{Stages: []*configv1.StageLimit{{Stage: "STAGE_HANDLING", Days: 45, WorkingDays: true}}, MaxExtensionDays: 15}
	if err := regionconfig.Put(ctx, cli, regionconfig.TimeLimitsSpec, "141181", "", tl); err != nil {
		t.Fatal(err)
	}
	cal := &configv1.BusinessCalendar{Year: 2026, Holidays: []string{"2026-02-16"}, MakeUpWorkdays: []string{"2026-02-14"}}
	if err := regionconfig.Put(ctx, cli, regionconfig.CalendarSpec, "141181", "2026", cal); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new limits and calendar", func() bool {
		r := src.Rules("141181")
		return r.Limit(tracker.StageHandling) == tracker.Limit{Days: 45, Working: true} && r.MaxExtensionDays == 15 &&
			!r.Calendar.IsWorkingDay(springFestival)
	})
	r = src.Rules("141181")
	if !r.Calendar.IsWorkingDay(time.Date(2026, 2, 14, 9, 0, 0, 0, clock.China)) || r.Limit(tracker.StageRouting) != (tracker.Limit{Days: 15}) {
		t.Fatalf("rules after the change: %+v", r)
	}
	if src.Rules("141181") != r {
		t.Fatal("unchanged documents rebuilt the rules")
	}
	// Another region still has the defaults.
	if got := src.Rules("110105").Limit(tracker.StageHandling); got != (tracker.Limit{Days: 60}) {
		t.Fatalf("other region's handling limit %+v", got)
	}
}
