// Package sealing seals closed dossiers into the sealed log (CLOSED -->
// ARCHIVED): once the archive has applied every stream it reads past a
// dossier's close (the watermark, docs/ARCHITECTURE.md "Sealing"), its
// summary and events become one leaf of its region's log, and the dossier
// is marked sealed in Redis. Events published after the close go to the
// dossier's addendum, never into the sealed dossier.
//
// The dossiers due in one tick are sealed as one batch: one integration of
// the log and one checkpoint for all of them.
//
// Sealing is idempotent and crash-safe: the log itself knows which
// dossiers it holds, by name and registration event, so a dossier appended
// before a crash and not yet marked is only marked on the next try, never
// appended twice; and a dispute name used again after a loss of Redis is a
// new dossier, never taken for the sealed one.
package sealing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
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

// SealDue seals the dossiers of region whose close the archive has applied
// every stream past, as one batch, and returns how many it sealed.
func (s *Sealer) SealDue(ctx context.Context, region string) (int, error) {
	w, err := s.Watermark(ctx, region)
	if err != nil {
		return 0, err
	}
	names, err := s.Store.Due(ctx, region, w)
	if err != nil {
		return 0, err
	}
	return s.SealBatch(ctx, names)
}

// Seal seals dispute name's dossier if it is closed, and reports whether it
// is sealed now. A dossier already in the log is only marked.
func (s *Sealer) Seal(ctx context.Context, name string) (bool, error) {
	n, err := s.SealBatch(ctx, []string{name})
	return n == 1, err
}

// redisWorkers bounds the Redis calls a batch makes at once: Redis (with
// appendfsync always) shares one fsync among the writes of an event-loop
// iteration, so reading and marking a batch's dossiers concurrently costs
// a few fsyncs, not one per dossier.
const redisWorkers = 32

// forEach runs f(i) for i in [0, n) on at most redisWorkers goroutines.
func forEach(n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, redisWorkers)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// markChunk is how many dossiers one Redis transaction marks sealed.
const markChunk = 512

// SealBatch seals the closed dossiers among disputes as one batch of the log
// and marks each sealed; it returns how many are sealed now.
func (s *Sealer) SealBatch(ctx context.Context, disputes []string) (int, error) {
	type item struct {
		d     *archivev1.Dossier
		index int64 // leaf, when sealed
		done  bool  // sealed (marked) or nothing to do
		err   error
	}
	items := make([]item, len(disputes))
	reads := s.Store.GetMany(ctx, disputes) // a round trip per region
	forEach(len(disputes), func(i int) {
		it := &items[i]
		name := disputes[i]
		d, evs, err := reads[i].Dossier, reads[i].Events, reads[i].Err
		if errors.Is(err, dossier.ErrNotFound) || (err == nil && !d.Closed()) {
			it.err = s.Store.Unschedule(ctx, name)
			return
		}
		if err != nil {
			it.err = err
			return
		}
		p := Proto(d, evs)
		reg, err := sealproof.RegistrationEventID(p)
		if err != nil {
			it.err = fmt.Errorf("seal %s: %w", name, err)
			return
		}
		// Appended before a crash and not marked: only mark it.
		if li, err := s.Log.LookupRegistration(name, reg); err == nil {
			if it.err = s.Store.MarkSealed(ctx, name, li); it.err == nil {
				it.done, it.index = true, li
			}
			return
		}
		it.d = p
	})
	var batch []*archivev1.Dossier
	var pos []int
	for i := range items {
		if items[i].d != nil {
			batch = append(batch, items[i].d)
			pos = append(pos, i)
		}
	}
	start := time.Now()
	appended := 0
	if len(batch) > 0 {
		results := s.Log.SealBatch(ctx, batch)
		sealedIn := time.Since(start)
		// Marked in Redis by region, a chunk per transaction: one fsync for
		// many dossiers.
		byRegion := map[string][]int{}
		for j, r := range results {
			it := &items[pos[j]]
			if r.Err != nil {
				it.err = fmt.Errorf("seal %s: %w", batch[j].GetName(), r.Err)
				continue
			}
			region, _, _ := names.DisputeID(batch[j].GetName())
			byRegion[region] = append(byRegion[region], j)
		}
		for region, js := range byRegion {
			for len(js) > 0 {
				chunk := js[:min(len(js), markChunk)]
				js = js[len(chunk):]
				leaves := make(map[string]int64, len(chunk))
				for _, j := range chunk {
					leaves[batch[j].GetName()] = results[j].Index
				}
				err := s.Store.MarkSealedMany(ctx, region, leaves)
				for _, j := range chunk {
					it := &items[pos[j]]
					if it.err = err; err == nil {
						it.done, it.index = true, results[j].Index
					}
				}
			}
		}
		for _, r := range results {
			if r.Err == nil && r.Appended {
				appended++
			}
		}
		s.Logger.Info("dossiers sealed", "dossiers", len(batch), "appended", appended,
			"log_duration", sealedIn.String(), "duration", time.Since(start).String())
	}
	n := 0
	var errs []error
	for _, it := range items {
		if it.done {
			n++
		}
		if it.err != nil {
			errs = append(errs, it.err)
		}
	}
	return n, errors.Join(errs...)
}
