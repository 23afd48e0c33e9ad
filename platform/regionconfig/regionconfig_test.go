package regionconfig_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

var rules = regionconfig.Spec[*configv1.IntakeRules]{
	Path: "config/intake-rules", New: func() *configv1.IntakeRules { return &configv1.IntakeRules{} }, Metric: "intake_rules",
}

var calendars = regionconfig.Spec[*configv1.BusinessCalendar]{
	Path: "calendar/", New: func() *configv1.BusinessCalendar { return &configv1.BusinessCalendar{} }, Metric: "calendar",
	Check: func(_, sub string, c *configv1.BusinessCalendar) []apierr.Violation {
		if sub != fmt.Sprint(c.GetYear()) {
			return []apierr.Violation{{Field: "year", Reason: "must match the key's year " + sub}}
		}
		return nil
	},
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5 s: %s", what)
		}
	}
}

func TestWatcherFollowsEtcdAndRefusesBadValues(t *testing.T) {
	et := testenv.StartEtcd(t)
	cli := et.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	if err := regionconfig.Put(ctx, cli, rules, "141181", "", &configv1.IntakeRules{MassPeopleThreshold: 5}); err != nil {
		t.Fatal(err)
	}
	if err := regionconfig.Put(ctx, cli, calendars, "141181", "2026", &configv1.BusinessCalendar{Year: 2026, Holidays: []string{"2026-10-01"}}); err != nil {
		t.Fatal(err)
	}
	if err := regionconfig.Put(ctx, cli, calendars, "141181", "2025", &configv1.BusinessCalendar{Year: 2026}); err == nil {
		t.Fatal("Put accepted a calendar whose year does not match its key")
	}

	reg := prometheus.NewRegistry()
	w := regionconfig.NewWatcher(cli, rules, nil, reg)
	cw := regionconfig.NewWatcher(cli, calendars, nil, nil)
	go w.Run(ctx)
	go cw.Run(ctx)
	<-w.Loaded()
	<-cw.Loaded()
	if v, ok := w.Get("141181", ""); !ok || v.GetMassPeopleThreshold() != 5 {
		t.Fatalf("Get = %v, %v", v, ok)
	}
	if c, ok := cw.Get("141181", "2026"); !ok || c.GetHolidays()[0] != "2026-10-01" {
		t.Fatalf("calendar 2026 = %v, %v", c, ok)
	}

	// A direct etcd change shows within a second.
	if _, err := cli.Put(ctx, rules.Key("141181", ""), `{"massPeopleThreshold": 8}`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "threshold 8", func() bool { v, _ := w.Get("141181", ""); return v.GetMassPeopleThreshold() == 8 })

	// Malformed and invalid values are refused; the last valid one stays.
	for _, bad := range []string{`{"massPeopleThreshold": "many"`, `{"massPeopleThreshold": -1}`} {
		before := w.RejectedCount()
		if _, err := cli.Put(ctx, rules.Key("141181", ""), bad); err != nil {
			t.Fatal(err)
		}
		eventually(t, "rejection counted", func() bool { return w.RejectedCount() > before })
		if v, _ := w.Get("141181", ""); v.GetMassPeopleThreshold() != 8 {
			t.Fatalf("after %s the threshold is %d, want the last valid 8", bad, v.GetMassPeopleThreshold())
		}
	}

	// With etcd down the watcher turns stale but keeps its values; it catches up after.
	et.Stop()
	eventually2 := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not within 10 s: %s", what)
			}
		}
	}
	eventually2("stale", w.Stale)
	if v, ok := w.Get("141181", ""); !ok || v.GetMassPeopleThreshold() != 8 {
		t.Fatalf("stale watcher lost its value: %v %v", v, ok)
	}
	et.Start(t)
	eventually2("fresh again", func() bool { return !w.Stale() })
	if _, err := cli.Put(ctx, rules.Key("141181", ""), `{"massPeopleThreshold": 9}`); err != nil {
		t.Fatal(err)
	}
	eventually2("change after restart", func() bool { v, _ := w.Get("141181", ""); return v.GetMassPeopleThreshold() == 9 })
}
