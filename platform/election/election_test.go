package election

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// replica is one campaigning process in the test.
type replica struct {
	id      string
	leading atomic.Bool
	waited  atomic.Int64
	lease   atomic.Int64
	stop    context.CancelFunc
	done    chan struct{}
}

// TestOneLeadsAndAnotherTakesOver runs three campaigns on a real etcd: one
// leads at a time, the others run Wait; stopping the leader hands over at
// once, and revoking a leader's lease (its session lost) ends its Lead.
func TestOneLeadsAndAnotherTakesOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd")
	}
	e := testenv.StartEtcd(t)
	cli := e.Client(t)
	var mu sync.Mutex
	overlap := false
	leaders := 0
	start := func(id string) *replica {
		r := &replica{id: id, done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		r.stop = cancel
		c := &Campaign{Etcd: cli, Prefix: "/disputes/_elections/test", ID: id, TTL: 2, What: "test",
			Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
			Wait: func(ctx context.Context) { r.waited.Add(1); <-ctx.Done() },
			Lead: func(ctx context.Context, sess *concurrency.Session, _ *concurrency.Election) {
				mu.Lock()
				leaders++
				overlap = overlap || leaders > 1
				mu.Unlock()
				r.lease.Store(int64(sess.Lease()))
				r.leading.Store(true)
				<-ctx.Done()
				r.leading.Store(false)
				mu.Lock()
				leaders--
				mu.Unlock()
			}}
		go func() { defer close(r.done); c.Run(ctx) }()
		return r
	}
	rs := []*replica{start("a"), start("b"), start("c")}
	leader := func(exclude *replica) *replica {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			for _, r := range rs {
				if r != exclude && r.leading.Load() {
					return r
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("no replica leads")
		return nil
	}
	first := leader(nil)
	for _, r := range rs {
		if r != first && r.waited.Load() == 0 {
			t.Errorf("replica %s did not run Wait while not leading", r.id)
		}
	}

	// Stopped, the leader resigns: another leads well within the TTL.
	first.stop()
	<-first.done
	began := time.Now()
	second := leader(first)
	if d := time.Since(began); d > time.Second {
		t.Errorf("takeover after a stop took %v, want under the 2 s TTL", d)
	}

	mu.Lock()
	if overlap {
		t.Fatal("two replicas led at once")
	}
	mu.Unlock()

	// Its lease revoked (as when etcd lost it), the leader's Lead ends at
	// once and the last replica leads.
	if _, err := cli.Revoke(context.Background(), clientv3.LeaseID(second.lease.Load())); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for second.leading.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if second.leading.Load() {
		t.Fatalf("replica %s still leads on a revoked lease", second.id)
	}
	leader(second)
	for _, r := range rs[1:] {
		r.stop()
		<-r.done
	}
}
