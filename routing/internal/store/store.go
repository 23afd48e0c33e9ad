// Package store keeps routing's trackers in Redis. Every change is one run
// of a Lua script that checks the tracker is still the one the change was
// computed on, writes it with its worklist entries and appends its events
// to the routing stream, so state and event never diverge and concurrent
// writers of one tracker serialise: the loser re-reads and is judged on the
// new state. Changes applied from other services' events are written in the
// event consumer's batch transaction instead.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// Service is the key prefix and event source of routing.
const Service = "routing"

// China is the time zone slip numbers' years are counted in.
var China = names.China

// maxAttempts bounds retries of a transaction that lost a WATCH race.
const maxAttempts = 20

// Store is the Redis store of trackers.
type Store struct {
	rdb    redis.UniversalClient
	slips  slipQueues
	recent recent
	// awaitMissing, when set, waits until routing has applied what other
	// services published before a tracker was looked for and not found.
	awaitMissing func(ctx context.Context, region string) error
}

// AwaitMissing sets how a lookup of a tracker that is not there waits for
// routing's consumers to catch up before it answers not found, so a call
// naming a dispute registered a moment ago succeeds without the client
// retrying (docs/ARCHITECTURE.md, "Reading your own writes"). fn returns
// events.ErrBehind when they did not catch up in time.
func (s *Store) AwaitMissing(fn func(ctx context.Context, region string) error) { s.awaitMissing = fn }

// retryMissing runs do, and once more after waiting for the consumers when
// do found no tracker.
func (s *Store) retryMissing(ctx context.Context, name string, do func() error) error {
	err := do()
	if !errors.Is(err, tracker.ErrNotFound) || s.awaitMissing == nil {
		return err
	}
	region, _, perr := names.DisputeID(name)
	if perr != nil {
		return err
	}
	if werr := s.awaitMissing(ctx, region); werr != nil {
		return werr
	}
	return do()
}

// New returns a store on rdb.
func New(rdb redis.UniversalClient) *Store {
	return &Store{rdb: rdb, slips: slipQueues{m: map[string]*slipQueue{}}}
}

// trackerKey is the key of a dispute's tracker.
func trackerKey(name string) (string, error) {
	region, id, err := names.DisputeID(name)
	if err != nil {
		return "", err
	}
	return events.Key(Service, region, "tracker", id), nil
}

// slipSeqKey is the counter of a region's transfer slip numbers in a year.
func slipSeqKey(region, year string) string { return events.Key(Service, region, "slipseq", year) }

func load(ctx context.Context, get func(context.Context, string) *redis.StringCmd, key string) (*tracker.Tracker, error) {
	b, err := get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, tracker.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	t := &tracker.Tracker{}
	if err := json.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return t, nil
}

// Get returns the tracker of dispute name, or tracker.ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (*tracker.Tracker, error) {
	key, err := trackerKey(name)
	if err != nil {
		return nil, err
	}
	var t *tracker.Tracker
	err = s.retryMissing(ctx, name, func() (err error) {
		t, err = load(ctx, s.rdb.Get, key)
		return err
	})
	return t, err
}

// ApplyFunc computes an event's effect on the current tracker (nil when
// there is none yet): the tracker to write (nil to write nothing) and the
// events to publish with it.
type ApplyFunc func(cur *tracker.Tracker) (next *tracker.Tracker, out []*eventv1.Event, err error)

// Effect says which dispute another service's event moves and how; a nil
// ApplyFunc means the event does not concern routing.
type Effect func(d *events.Delivery) (name string, fn ApplyFunc, err error)

// Handler applies effect to trackers inside the event consumer's batch
// (docs/ARCHITECTURE.md, "Consuming events"): the tracker is read with the
// batch, and the tracker, its worklist entries and the events it publishes
// are written in the batch's transaction with the apply-once marker.
func (s *Store) Handler(effect Effect) events.Handler {
	keyOf := func(d *events.Delivery) (string, ApplyFunc, error) {
		name, fn, err := effect(d)
		if err != nil || fn == nil {
			return "", nil, err
		}
		key, err := trackerKey(name)
		if err != nil {
			return "", nil, events.Permanent(err)
		}
		return key, fn, nil
	}
	return events.HandlerFuncs{
		KeysFunc: func(d *events.Delivery) ([]string, error) {
			key, _, err := keyOf(d)
			if err != nil || key == "" {
				return nil, err
			}
			return []string{key}, nil
		},
		ApplyFunc: func(b *events.Batch, d *events.Delivery) error {
			key, fn, err := keyOf(d)
			if err != nil || fn == nil {
				return err
			}
			return s.applyTo(b, key, fn)
		},
	}
}

// MultiEffect says which disputes another service's event moves (a meeting
// with several disputes on its agenda) and how each.
type MultiEffect func(d *events.Delivery) (map[string]ApplyFunc, error)

// MultiHandler is Handler for an event that moves several disputes: each
// tracker is read, changed and written in the batch's one transaction.
func (s *Store) MultiHandler(effect MultiEffect) events.Handler {
	keysOf := func(d *events.Delivery) (map[string]ApplyFunc, []string, error) {
		fns, err := effect(d)
		if err != nil {
			return nil, nil, err
		}
		byKey := map[string]ApplyFunc{}
		var keys []string
		for name, fn := range fns {
			key, err := trackerKey(name)
			if err != nil {
				return nil, nil, events.Permanent(err)
			}
			byKey[key] = fn
			keys = append(keys, key)
		}
		slices.Sort(keys)
		return byKey, keys, nil
	}
	return events.HandlerFuncs{
		KeysFunc: func(d *events.Delivery) ([]string, error) {
			_, keys, err := keysOf(d)
			return keys, err
		},
		ApplyFunc: func(b *events.Batch, d *events.Delivery) error {
			byKey, keys, err := keysOf(d)
			if err != nil {
				return err
			}
			for _, k := range keys {
				if err := s.applyTo(b, k, byKey[k]); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// applyTo applies fn to the tracker at key in batch b.
func (s *Store) applyTo(b *events.Batch, key string, fn ApplyFunc) error {
	raw, ok, err := b.Get(key)
	if err != nil {
		return err
	}
	var cur *tracker.Tracker
	if ok {
		cur = &tracker.Tracker{}
		if err := json.Unmarshal(raw, cur); err != nil {
			return events.Permanent(fmt.Errorf("decode %s: %w", key, err))
		}
	}
	before := indexOf(cur)
	next, out, err := fn(cur)
	if err != nil || next == nil {
		return err
	}
	enc, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("encode tracker: %w", err)
	}
	b.Set(key, enc, 0)
	b.AfterCommit(func() { s.recent.put(key, enc) })
	after := indexOf(next)
	reindex(batchIndex{b}, before, after)
	indexDeadline(batchIndex{b}, next)
	stream := events.Stream(Service, next.Region)
	for _, ev := range out {
		ev.Lifecycle = Lifecycle(next)
		if err := b.Publish(stream, ev); err != nil {
			return err
		}
	}
	return nil
}

// Lifecycle is what every routing event tells other services about the
// dispute after the change: they copy it and never re-derive it.
func Lifecycle(t *tracker.Tracker) *eventv1.Lifecycle {
	lc := &eventv1.Lifecycle{
		State: t.State, Holder: t.Holder, Readers: t.Readers(), Version: t.Version,
		Number: t.Number, RegisteringDepartment: t.RegisteringDepartment,
		OfficeReceiptPending: t.OfficeReceiptPending, GuestReaders: t.GuestReaders(),
	}
	if k, ok := t.RunningClock(); ok && !k.Due.IsZero() {
		lc.DueTime = timestamppb.New(k.Due)
	}
	return lc
}

// Tx is what a mutation may use besides the tracker.
type Tx struct {
	region, year string
	// base is the slip counter as read; next the last number allocated
	// (0: none). slips is false on the direct path, which hands mutations
	// that allocate a slip to the region's slip queue.
	base, next int64
	slips      bool
}

// errSlipNeeded makes the direct path hand a mutation to the slip queue.
var errSlipNeeded = errors.New("mutation allocates a transfer slip")

// NextSlip allocates the next transfer slip of the region in the current
// year. The counter is checked and written in the same script run as the
// tracker, so a failed routing leaves no gap in the series.
func (x *Tx) NextSlip() (name, number string, err error) {
	if !x.slips {
		return "", "", errSlipNeeded
	}
	if x.next == 0 {
		x.next = x.base
	}
	x.next++
	return names.TransferSlip(x.region, x.year, x.next), names.Number(x.year, x.next), nil
}

// MutateFunc changes t in place and returns the events that publish the change.
type MutateFunc func(t *tracker.Tracker, x *Tx) ([]*eventv1.Event, error)

// Mutate loads dispute name's tracker, applies fn and writes the tracker
// with fn's events atomically (one run of the write script, which checks
// that the tracker is still the one fn saw). When another writer got there
// first it retries with the tracker as the winner left it; fn's error
// (including a domain refusal) aborts without writing. now picks the year
// of slip numbers. Mutations that allocate a transfer slip go through the
// region's slip queue, which numbers the slips of concurrent calls in one
// pass (docs/PERFORMANCE.md).
func (s *Store) Mutate(ctx context.Context, name string, now time.Time, fn MutateFunc) (*tracker.Tracker, error) {
	var out *tracker.Tracker
	err := s.retryMissing(ctx, name, func() (err error) {
		out, err = s.mutate(ctx, name, now, fn)
		return err
	})
	return out, err
}

func (s *Store) mutate(ctx context.Context, name string, now time.Time, fn MutateFunc) (*tracker.Tracker, error) {
	key, err := trackerKey(name)
	if err != nil {
		return nil, err
	}
	region, _, _ := names.DisputeID(name)
	year := strconv.Itoa(now.In(China).Year())
	// The first attempt starts from the tracker as this process last wrote
	// or read it, when it remembers one; a refusal on it is not trusted, and
	// the change is judged again on the tracker as read.
	raw, remembered := s.recent.get(key)
	for range maxAttempts {
		if raw == nil {
			b, err := s.rdb.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return nil, tracker.ErrNotFound
			}
			if err != nil {
				return nil, fmt.Errorf("get %s: %w", key, err)
			}
			raw = b
			s.recent.put(key, raw)
		}
		w, err := prepare(key, raw, &Tx{region: region, year: year}, fn)
		if errors.Is(err, errSlipNeeded) {
			s.recent.drop(key)
			return s.slips.mutate(ctx, s, key, region, year, fn)
		}
		if err != nil && remembered {
			s.recent.drop(key)
			raw, remembered = nil, false
			continue
		}
		if err != nil {
			return nil, err
		}
		res, cur, err := w.run(ctx, s.rdb)
		if err != nil {
			s.recent.drop(key)
			return nil, err
		}
		if res == writeDone {
			s.recent.put(key, w.enc)
			return w.t, nil
		}
		// Changed meanwhile: the script answered with the tracker as it is
		// (nil when gone).
		if cur != nil {
			s.recent.put(key, cur)
		} else {
			s.recent.drop(key)
		}
		raw, remembered = cur, false
	}
	return nil, fmt.Errorf("mutate %s: too much contention", name)
}
