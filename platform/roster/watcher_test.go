package roster

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

type watchEnv struct {
	etcd *testenv.Etcd
	cli  *clientv3.Client // the test's own client, as etcdctl would be
	w    *Watcher
	reg  *prometheus.Registry
	logs *testenv.LogBuffer
}

func startWatcher(t *testing.T) *watchEnv {
	t.Helper()
	e := testenv.StartEtcd(t)
	env := &watchEnv{etcd: e, cli: e.Client(t), reg: prometheus.NewRegistry(), logs: &testenv.LogBuffer{}}
	if err := Put(testCtx(t), env.cli, sample()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(env.logs, nil))
	env.w = NewWatcher(e.Client(t), log, env.reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-env.w.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("watcher did not load within 10s")
	}
	return env
}

// eventually polls cond every 20ms for up to limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (env *watchEnv) metric(t *testing.T, name, region string) float64 {
	t.Helper()
	mfs, err := env.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if region != "" && !hasLabel(m, "region", region) {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func unitName(w *Watcher, id string) string {
	r, ok := w.Get(region)
	if !ok {
		return ""
	}
	u, _ := FindUnit(r, id)
	return u.GetName()
}

func TestWatcherLoadsAndSeesDirectPut(t *testing.T) {
	env := startWatcher(t)
	ctx := testCtx(t)
	if got := env.w.Regions(); len(got) != 1 || got[0] != region {
		t.Fatalf("Regions = %v", got)
	}
	if env.w.Stale() || env.w.ReadinessInfo() != "ok" {
		t.Fatalf("fresh watcher: Stale %v, info %q", env.w.Stale(), env.w.ReadinessInfo())
	}
	if got := env.metric(t, "roster_stale", ""); got != 0 {
		t.Errorf("roster_stale = %v", got)
	}

	// What an administrator does with etcdctl put.
	b, _ := protojson.Marshal(&rosterv1.MemberUnit{Id: "finance", Name: "市财政局"})
	resp, err := env.cli.Put(ctx, UnitKey(region, "finance"), string(b))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "new unit visible", func() bool { return unitName(env.w, "finance") == "市财政局" })
	if got := env.metric(t, "roster_revision", region); int64(got) != resp.Header.Revision {
		t.Errorf("roster_revision = %v, want %d", got, resp.Header.Revision)
	}
}

func TestWatcherRejectsBadValues(t *testing.T) {
	tests := []struct {
		name, key, value, wantLog string
	}{
		{"bad JSON", UnitKey(region, "tax"), `{"id": "tax", "name": `, "/disputes/141181/roster/units/tax"},
		{"unknown field", UnitKey(region, "tax"), `{"id": "tax", "name": "市税务局", "colour": "red"}`, "/disputes/141181/roster/units/tax"},
		{"office host refers to nothing", LeadershipKey(region), `{"convenor": {"name": "任小俊"}, "officeHostUnit": "nobody"}`, "leadership.office_host_unit"},
		{"person refers to nothing", LeadershipKey(region), `{"convenor": {"name": "任小俊", "unitId": "ghost"}, "officeHostUnit": "tax"}`, "leadership.convenor.unit_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := startWatcher(t)
			ctx := testCtx(t)
			before, _ := env.w.Get(region)
			if _, err := env.cli.Put(ctx, tt.key, tt.value); err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, "rejection counted", func() bool {
				return env.metric(t, "roster_rejected_total", region) == 1
			})
			after, ok := env.w.Get(region)
			if !ok || after != before {
				t.Fatalf("roster replaced after a bad value (ok=%v)", ok)
			}
			if logs := env.logs.String(); !strings.Contains(logs, "roster change rejected") || !strings.Contains(logs, tt.wantLog) {
				t.Errorf("log does not name %q:\n%s", tt.wantLog, logs)
			}

			// A later good change to the same key is taken.
			if err := Put(ctx, env.cli, sample()); err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, "good roster after the bad one", func() bool {
				r, _ := env.w.Get(region)
				return r != before
			})
		})
	}
}

func TestWatcherStaleWhileEtcdDown(t *testing.T) {
	env := startWatcher(t)
	before, _ := env.w.Get(region)

	env.etcd.Stop()
	eventually(t, 10*time.Second, "stale after etcd stopped", env.w.Stale)
	if r, ok := env.w.Get(region); !ok || r != before {
		t.Fatal("Get while stale does not return the last roster")
	}
	if info := env.w.ReadinessInfo(); !strings.HasPrefix(info, "stale since ") {
		t.Errorf("ReadinessInfo = %q", info)
	}
	if got := env.metric(t, "roster_stale", ""); got != 1 {
		t.Errorf("roster_stale = %v, want 1", got)
	}

	env.etcd.Start(t)
	eventually(t, 15*time.Second, "fresh after etcd restarted", func() bool { return !env.w.Stale() })
	if got := env.metric(t, "roster_stale", ""); got != 0 {
		t.Errorf("roster_stale = %v, want 0", got)
	}
	ctx := testCtx(t)
	b, _ := protojson.Marshal(&rosterv1.MemberUnit{Id: "tax", Name: "国家税务总局孝义市税务局", IntakePoint: true})
	if _, err := env.cli.Put(ctx, UnitKey(region, "tax"), string(b)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "change after restart visible", func() bool {
		return unitName(env.w, "tax") == "国家税务总局孝义市税务局"
	})
}
