// Package scanner raises routing's deadline events: DeadlineWarning a
// working day before a clock is due, Overdue when it is, and the closing of
// a replied dispute whose objection window ended. Exactly one routing
// replica scans at a time, chosen by etcd leader election; a replica that
// dies loses its lease within the session TTL and another takes over. Each
// raise sets the clock's flag and appends its event in one Redis
// transaction, so even two scanners racing raise everything once.
package scanner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/election"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
	"github.com/xiaoyi-disputes/disputes/routing/internal/wire"
)

// Defaults.
const (
	DefaultInterval   = time.Second
	DefaultSessionTTL = 2 // seconds; the failover time after a replica dies
	DefaultElection   = "/disputes/_elections/routing-scanner"
	// batch is how many due disputes of a region one scan handles.
	batch = 200
)

// Scanner is one replica's deadline scanner.
type Scanner struct {
	Store *store.Store
	Etcd  *clientv3.Client
	// Regions lists the regions to scan (the roster's).
	Regions func() []string
	// Now is the clock; tests drive it.
	Now func() time.Time
	Log *slog.Logger
	// ID names this replica in the election.
	ID string
	// Interval between scans (default 1 s); SessionTTL in seconds (default
	// 2); Election is the etcd prefix campaigned on.
	Interval   time.Duration
	SessionTTL int
	Election   string

	leader prometheus.Gauge
}

// Register adds the routing_scanner_leader gauge to reg.
func (s *Scanner) Register(reg prometheus.Registerer) error {
	s.gauge()
	if reg == nil {
		return nil
	}
	return reg.Register(s.leader)
}

func (s *Scanner) gauge() prometheus.Gauge {
	if s.leader == nil {
		s.leader = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "routing_scanner_leader",
			Help: "1 while this replica is the elected deadline scanner.",
		})
	}
	return s.leader
}

// Run campaigns for leadership and scans while it leads, until ctx is
// done. Losing the etcd session (etcd unreachable for longer than the TTL)
// stops scanning at once; the replica then campaigns again.
func (s *Scanner) Run(ctx context.Context) error {
	interval, ttl, prefix := s.Interval, s.SessionTTL, s.Election
	if interval <= 0 {
		interval = DefaultInterval
	}
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	if prefix == "" {
		prefix = DefaultElection
	}
	c := &election.Campaign{Etcd: s.Etcd, Prefix: prefix, ID: s.ID, TTL: ttl, What: "deadline scanner", Log: s.Log,
		Leading: s.gauge(), Lead: func(ctx context.Context, _ *concurrency.Session, _ *concurrency.Election) {
			s.lead(ctx, interval)
		}}
	c.Run(ctx)
	return nil
}

// lead scans every interval until ctx ends.
func (s *Scanner) lead(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.ScanOnce(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("deadline scan failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ScanOnce handles every dispute whose next deadline has passed and
// returns how many events it raised.
func (s *Scanner) ScanOnce(ctx context.Context) (int, error) {
	now := s.Now()
	raised := 0
	var errs []error
	for _, region := range s.Regions() {
		names, err := s.Store.DueDisputes(ctx, region, now, batch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, name := range names {
			n, err := s.settle(ctx, name, now)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			raised += n
		}
	}
	return raised, errors.Join(errs...)
}

// settle applies what is due on one dispute: its flags, state and events
// in one transaction (which also moves its deadline index entry on).
func (s *Scanner) settle(ctx context.Context, name string, now time.Time) (int, error) {
	raised := 0
	_, err := s.Store.Mutate(ctx, name, now, func(t *tracker.Tracker, _ *store.Tx) ([]*eventv1.Event, error) {
		raised = 0
		notices, err := t.Tick(now)
		if err != nil {
			return nil, err
		}
		actor := wire.ActorProto(tracker.ScannerActor(t.Region))
		var out []*eventv1.Event
		ids := events.NewIDs(now, len(notices)) // ascending: the notices share their time
		for i, n := range notices {
			var msg proto.Message
			reason := ""
			switch n.Kind {
			case tracker.NoticeWarning:
				msg = &routingv1.DeadlineWarning{Stage: routingv1.Stage(n.Clock.Stage), DueTime: timestamppb.New(n.Clock.Due), Department: or(n.Clock.Department, t.Holder)}
			case tracker.NoticeOverdue:
				msg = &routingv1.Overdue{Stage: routingv1.Stage(n.Clock.Stage), DueTime: timestamppb.New(n.Clock.Due), Department: or(n.Clock.Department, t.Holder)}
			case tracker.NoticeObjectionWindowEnded:
				msg = &routingv1.DisputeClosed{Cause: tracker.CauseObjectionWindowEnded}
				reason = "objection window ended"
			}
			ev, err := events.New(store.Service, t.Region, t.Name, actor, reason, msg, now)
			if err != nil {
				return nil, err
			}
			ev.Id = ids[i]
			if n.Kind == tracker.NoticeObjectionWindowEnded {
				t.StampEvent(ev.GetId())
			}
			out = append(out, ev)
		}
		raised = len(out)
		return out, nil
	})
	return raised, err
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// or is a, or b when a is empty: clocks stored before they named their
// department are the holder's.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
