// Package sealing seals closed dossiers into the sealed log (CLOSED -->
// ARCHIVED): once the archive has applied every stream it reads past a
// dossier's close (the watermark, docs/ARCHITECTURE.md "Sealing"), its
// summary and events become one leaf of its region's log, and the dossier
// is marked sealed in Redis. Events published after the close go to the
// dossier's addendum, never into the sealed dossier.
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
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
)

// Proto returns the dossier d with events evs as the API and the log see it.
func Proto(d *dossier.Dossier, evs []*eventv1.Event) *archivev1.Dossier {
	out := &archivev1.Dossier{
		Name: d.Name, Number: d.Number, State: d.State, RegisteringDepartment: d.RegisteringDepartment,
		Category: d.Category, Departments: slices.Clone(d.Departments), Events: evs,
		Sealed: d.Sealed, LeafIndex: d.LeafIndex, Version: d.Version,
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
	// Redis is the client of the streams the archive reads.
	Redis redis.UniversalClient
	// Group is the archive's consumer group; Sources the services whose
	// streams it reads.
	Group   string
	Sources []string
	// Interval is how often Run looks for dossiers to seal (default 1s).
	Interval time.Duration
	// Regions lists the regions to look in.
	Regions func() []string
	Logger  *slog.Logger
}

// Watermark returns the time (Unix ms) before which the archive has
// applied every event of region: the least watermark of the streams it reads.
func (s *Sealer) Watermark(ctx context.Context, region string) (uint64, error) {
	var w uint64
	for i, src := range s.Sources {
		sw, err := events.Watermark(ctx, s.Redis, events.Stream(src, region), s.Group)
		if err != nil {
			return 0, err
		}
		if i == 0 || sw < w {
			w = sw
		}
	}
	return w, nil
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

// sealWorkers is how many dossiers are read and marked at once.
const sealWorkers = 16

// SealDue seals the dossiers of region whose close the archive has applied
// every stream past, and returns how many it sealed. The due dossiers are
// read concurrently, appended to the log with one fsync, then marked.
func (s *Sealer) SealDue(ctx context.Context, region string) (int, error) {
	w, err := s.Watermark(ctx, region)
	if err != nil {
		return 0, err
	}
	names, err := s.Store.Due(ctx, region, w)
	if err != nil {
		return 0, err
	}
	if len(names) == 0 {
		return 0, nil
	}
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	// Read what is not in the log yet; mark what is (a crash between
	// appending and marking).
	toSeal := make([]*archivev1.Dossier, len(names))
	sealed := make([]bool, len(names))
	each(len(names), func(i int) {
		name := names[i]
		if ld, err := s.Log.Lookup(name); err == nil {
			if err := s.Store.MarkSealed(ctx, name, ld.GetLeafIndex()); err != nil {
				fail(err)
				return
			}
			sealed[i] = true
			return
		} else if !errors.Is(err, sealedlog.ErrNotSealed) {
			fail(err)
			return
		}
		d, evs, err := s.Store.Get(ctx, name)
		if errors.Is(err, dossier.ErrNotFound) || err == nil && !d.Closed() {
			if err := s.Store.Unschedule(ctx, name); err != nil {
				fail(err)
			}
			return
		}
		if err != nil {
			fail(err)
			return
		}
		toSeal[i] = Proto(d, evs)
	})
	var batch []*archivev1.Dossier
	var at []int
	for i, d := range toSeal {
		if d != nil {
			batch = append(batch, d)
			at = append(at, i)
		}
	}
	if len(batch) > 0 {
		idx, err := s.Log.SealMany(region, batch)
		if err != nil {
			return 0, errors.Join(append(errs, fmt.Errorf("seal %d dossiers of %s: %w", len(batch), region, err))...)
		}
		each(len(batch), func(j int) {
			if err := s.Store.MarkSealed(ctx, batch[j].GetName(), idx[j]); err != nil {
				fail(err)
				return
			}
			sealed[at[j]] = true
		})
		s.Logger.Info("dossiers sealed", "region", region, "count", len(batch), "first_leaf_index", idx[0])
	}
	n := 0
	for _, ok := range sealed {
		if ok {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// each runs f(0..n-1) on sealWorkers goroutines.
func each(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, sealWorkers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// Seal seals dispute name's dossier if it is closed, and reports whether it
// is sealed now. A dossier already in the log is only marked.
func (s *Sealer) Seal(ctx context.Context, name string) (bool, error) {
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
	if !d.Closed() {
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
