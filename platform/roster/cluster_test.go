package roster_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// TestWatchersOutliveAnEtcdMember: a service's client of a three-member
// etcd cluster keeps the roster and a region's configuration live when the
// cluster's leader dies: changes written after are seen, by watchers
// started before.
func TestWatchersOutliveAnEtcdMember(t *testing.T) {
	c := testenv.StartEtcdCluster(t)
	cli := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := roster.LoadFile("../../deploy/roster/141181.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := roster.Put(ctx, cli, r); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := roster.NewWatcher(cli, log, nil)
	limits := regionconfig.NewWatcher(cli, regionconfig.RateLimitsSpec, log, nil)
	go w.Run(ctx)
	go limits.Run(ctx)
	select {
	case <-w.Loaded():
	case <-ctx.Done():
		t.Fatal("roster not loaded")
	}

	leader := -1
	for i, m := range c.Members {
		st, err := cli.Status(ctx, m.Endpoint)
		if err != nil {
			t.Fatal(err)
		}
		if st.Leader == st.Header.GetMemberId() {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no leader among the members")
	}
	c.Kill(leader)

	// Writes go on through the members left (after a new election).
	changed := proto.Clone(r).(*rosterv1.Roster)
	changed.RegionName = "孝义市（改）"
	eventually(t, ctx, "roster written with a member down", func() error {
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return roster.Put(wctx, cli, changed)
	})
	eventually(t, ctx, "roster change seen by the watcher", func() error {
		if got, ok := w.Get("141181"); !ok || got.GetRegionName() != changed.RegionName {
			return errNotYet
		}
		return nil
	})
	want := &configv1.RateLimits{StaffWrites: &configv1.RateLimit{PerSecond: 0.5, Burst: 10}}
	eventually(t, ctx, "rate limits written with a member down", func() error {
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return regionconfig.Put(wctx, cli, regionconfig.RateLimitsSpec, "141181", "", want)
	})
	eventually(t, ctx, "rate limits seen by the watcher", func() error {
		if got, ok := limits.Get("141181", ""); !ok || got.GetStaffWrites().GetBurst() != 10 {
			return errNotYet
		}
		return nil
	})
	// Reads are served by the members left.
	if _, err := cli.Get(ctx, roster.Root, clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		t.Fatalf("read with a member down: %v", err)
	}
	if w.Stale() {
		t.Error("roster watcher stale with two members of three up")
	}
}

type notYet struct{}

func (notYet) Error() string { return "not yet" }

var errNotYet error = notYet{}

func eventually(t *testing.T, ctx context.Context, what string, f func() error) {
	t.Helper()
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
