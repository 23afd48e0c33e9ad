// Package writer elects the one archive process that writes the sealed log
// of a data directory (docs/ARCHITECTURE.md, "Scale"). Every archive
// replica campaigns in one etcd election per data directory (all regions
// of a directory share its file lock, so they share a writer); the winner
// takes the directory's file lock, opens every region's log from disk and
// runs the leader's work (the sealer), fencing every batch by its lease:
// before a batch is appended and before its checkpoint is kept, a
// transaction checks that the election key is still the one it created,
// under its lease. When the session ends (etcd unreachable past the TTL,
// the lease revoked) the writer stops at once: the sealer's context ends,
// the log's appenders shut down and the lock is released. Meanwhile, and
// while it waits, a standby serves reads from what the writer kept and
// reads it again every Refresh.
package writer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/platform/election"
)

// Defaults.
const (
	DefaultElection   = "/disputes/_elections/archive-sealed-log"
	DefaultSessionTTL = 3 // seconds: the failover time after the writer dies
	DefaultRefresh    = time.Second
)

// Writer is one archive replica's part in the election of the sealed
// log's writer.
type Writer struct {
	Etcd *clientv3.Client
	// Log is the replica's sealed log, opened with sealedlog.OpenReader.
	Log *sealedlog.Log
	// Lead runs while this replica writes the log, until its ctx ends
	// (leadership lost or shutdown); an error is logged and the replica
	// steps down.
	Lead   func(ctx context.Context) error
	Logger *slog.Logger
	// ID names this replica in the election.
	ID string
	// Election is the etcd prefix campaigned on (default DefaultElection):
	// one per data directory. SessionTTL is the lease's, in seconds
	// (default 3). Refresh is how often a standby reads what the writer
	// kept (default 1 s).
	Election   string
	SessionTTL int
	Refresh    time.Duration

	leader prometheus.Gauge
}

// Register adds the archive_sealed_log_writer gauge to reg.
func (w *Writer) Register(reg prometheus.Registerer) error {
	w.gauge()
	if reg == nil {
		return nil
	}
	return reg.Register(w.leader)
}

func (w *Writer) gauge() prometheus.Gauge {
	if w.leader == nil {
		w.leader = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "archive_sealed_log_writer",
			Help: "1 while this archive replica writes the sealed log.",
		})
	}
	return w.leader
}

// Fence returns the check made before every batch the leader appends: the
// session is alive and the election key is still the one this replica
// created (same create revision), under its lease. It fails with
// sealedlog.ErrNotLeader when another may lead.
func Fence(cli *clientv3.Client, sess *concurrency.Session, key string, rev int64) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case <-sess.Done():
			return fmt.Errorf("%w: etcd session ended", sealedlog.ErrNotLeader)
		default:
		}
		resp, err := cli.Txn(ctx).If(
			clientv3.Compare(clientv3.CreateRevision(key), "=", rev),
			clientv3.Compare(clientv3.LeaseValue(key), "=", sess.Lease()),
		).Commit()
		if err != nil {
			return fmt.Errorf("%w: leadership not confirmed: %v", sealedlog.ErrNotLeader, err)
		}
		if !resp.Succeeded {
			return fmt.Errorf("%w: election key %s is no longer this replica's", sealedlog.ErrNotLeader, key)
		}
		return nil
	}
}

// Run campaigns and, while leading, writes the log and runs Lead; while
// not, it keeps the log's reads fresh. It returns when ctx is done, after
// closing the log.
func (w *Writer) Run(ctx context.Context) error {
	prefix, ttl, every := w.Election, w.SessionTTL, w.Refresh
	if prefix == "" {
		prefix = DefaultElection
	}
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	if every <= 0 {
		every = DefaultRefresh
	}
	defer w.Log.Close()
	c := &election.Campaign{Etcd: w.Etcd, Prefix: prefix, ID: w.ID, TTL: ttl, What: "sealed log writer", Log: w.Logger,
		Leading: w.gauge(),
		Wait: func(wctx context.Context) {
			for wctx.Err() == nil {
				w.refresh(wctx, every)
			}
		},
		Lead: func(lctx context.Context, sess *concurrency.Session, el *concurrency.Election) {
			w.lead(ctx, lctx, sess, el)
		}}
	c.Run(ctx)
	return nil
}

// refresh reads what the writer kept, then waits d or until ctx ends.
func (w *Writer) refresh(ctx context.Context, d time.Duration) {
	if err := w.Log.Refresh(ctx); err != nil && ctx.Err() == nil {
		w.Logger.Error("sealed log: reading the writer's log failed", "error", err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// lead takes the directory (its lock may still be held by a writer that is
// shutting down), runs Lead until lctx ends (the session or ctx did), and
// stops writing.
func (w *Writer) lead(ctx, lctx context.Context, sess *concurrency.Session, el *concurrency.Election) {
	fence := Fence(w.Etcd, sess, el.Key(), el.Rev())
	for {
		err := w.Log.Lead(fence)
		if err == nil {
			break
		}
		if errors.Is(err, sealedlog.ErrLocked) {
			w.Logger.Info("sealed log writer: elected; waiting for the directory's lock", "error", err)
		} else {
			w.Logger.Error("sealed log writer: elected but the log does not open for writing", "error", err)
		}
		select {
		case <-lctx.Done():
			w.stop(ctx)
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	w.Logger.Info("sealed log writer: writing", "replica", w.ID, "regions", w.Log.Regions())
	err := w.Lead(lctx)
	failed := err != nil && lctx.Err() == nil
	if failed {
		w.Logger.Error("sealed log writer: leader's work failed; stepping down", "error", err)
	}
	w.stop(ctx)
	if failed {
		// Another replica may fare better; this one campaigns again later.
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// stop ends writing: on shutdown the log closes, otherwise it is read
// again as a standby's.
func (w *Writer) stop(ctx context.Context) {
	if ctx.Err() != nil {
		if err := w.Log.Close(); err != nil {
			w.Logger.Warn("sealed log: close", "error", err)
		}
		return
	}
	if err := w.Log.Follow(ctx); err != nil {
		w.Logger.Warn("sealed log: reopening for reading", "error", err)
	}
}
