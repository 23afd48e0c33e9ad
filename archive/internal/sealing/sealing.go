// Package sealing seals closed dossiers into the sealed log (CLOSED -->
// ARCHIVED): once a dossier has stayed closed for a quiet period, its
// summary and events become one leaf of its region's log, and the dossier
// is marked sealed in Redis. Later events for it are filed as late events,
// never added.
//
// Sealing is idempotent and crash-safe: the log itself knows which
// disputes it holds, so a dossier appended before a crash and not yet
// marked is only marked on the next try, never appended twice.
package sealing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// DefaultQuiet is how long a closed dossier must go without a new event
// before it is sealed, so that the last events of other services still go in.
const DefaultQuiet = 10 * time.Second

// Proto returns the dossier d with events evs as the API and the log see it.
func Proto(d *dossier.Dossier, evs []*eventv1.Event) *archivev1.Dossier {
	out := &archivev1.Dossier{
		Name: d.Name, Number: d.Number, State: d.State, RegisteringDepartment: d.RegisteringDepartment,
		Category: d.Category, Departments: slices.Clone(d.Departments), Events: evs,
		Sealed: d.Sealed, LeafIndex: d.LeafIndex,
	}
	if !d.RegisterTime.IsZero() {
		out.RegisterTime = timestamppb.New(d.RegisterTime)
	}
	return out
}

// Sealer seals the closed dossiers of every region.
type Sealer struct {
	Store *store.Store
	Log   *sealedlog.Log
	// Quiet is how long a closed dossier must have had no new event before
	// it is sealed.
	Quiet time.Duration
	// Interval is how often Run looks for dossiers to seal (default 1s).
	Interval time.Duration
	// Regions lists the regions to look in.
	Regions func() []string
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger

	// mu orders filing and sealing: an event is filed (under the read lock)
	// either before a dossier's leaf is taken or after it is in the log.
	mu sync.RWMutex
}

func (s *Sealer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// File runs fn, which files one event, with the disputes of targets split
// into those still open and those already sealed (late).
func (s *Sealer) File(ev *eventv1.Event, targets []string, fn func(open, late []string) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var open, late []string
	for _, t := range targets {
		if s.Log.Sealed(t) {
			late = append(late, t)
		} else {
			open = append(open, t)
		}
	}
	if len(late) > 0 {
		s.Logger.Warn("event for a sealed dossier filed as late", "event_id", ev.GetId(), "event_type", ev.GetType(), "disputes", late)
	}
	return fn(open, late)
}

// Run seals due dossiers every Interval until ctx is done.
func (s *Sealer) Run(ctx context.Context) error {
	every := s.Interval
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, r := range s.Regions() {
			if _, err := s.SealDue(ctx, r); err != nil && ctx.Err() == nil {
				s.Logger.Error("sealing failed", "region", r, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SealDue seals the dossiers of region that have been closed for the quiet
// period and returns how many it sealed.
func (s *Sealer) SealDue(ctx context.Context, region string) (int, error) {
	names, err := s.Store.Due(ctx, region, s.now().Add(-s.Quiet))
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, name := range names {
		ok, err := s.Seal(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// Seal seals dispute name's dossier if it is closed, and reports whether it
// is sealed now. A dossier already in the log is only marked.
func (s *Sealer) Seal(ctx context.Context, name string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ld, err := s.Log.Lookup(name); err == nil {
		if err := s.Store.MarkSealed(ctx, name, ld.GetLeafIndex()); err != nil {
			return false, err
		}
		return true, nil
	} else if !errors.Is(err, sealedlog.ErrNotSealed) {
		return false, err
	}
	d, evs, err := s.Store.Get(ctx, name)
	if errors.Is(err, dossier.ErrNotFound) {
		return false, s.Store.Unschedule(ctx, name)
	}
	if err != nil {
		return false, err
	}
	if d.State != typesv1.DisputeState_DISPUTE_STATE_CLOSED {
		// Reopened within the quiet period: it is scheduled again when it closes.
		return false, s.Store.Unschedule(ctx, name)
	}
	index, _, err := s.Log.Seal(Proto(d, evs))
	if err != nil {
		return false, fmt.Errorf("seal %s: %w", name, err)
	}
	if err := s.Store.MarkSealed(ctx, name, index); err != nil {
		return false, err
	}
	s.Logger.Info("dossier sealed", "dispute", name, "leaf_index", index, "events", len(evs))
	return true, nil
}
