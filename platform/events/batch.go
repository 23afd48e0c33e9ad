package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
)

// Delivery is one stream entry handed to a handler.
type Delivery struct {
	// Stream is the stream the entry was read from.
	Stream string
	// EntryID is the entry's id in Stream ("<ms>-<seq>").
	EntryID string
	// Region is the event's region (the stream's hash tag).
	Region string
	// Event is the decoded envelope.
	Event *eventv1.Event
	// Attempt counts this process's tries of the entry, from 1.
	Attempt int
}

// Handler applies one kind of event within a batch (docs/ARCHITECTURE.md,
// "Consuming events"). Keys lists the string keys Apply reads with
// Batch.Get: they are read for the whole batch in one MGET under WATCH
// before any Apply runs. Apply queues the effect on the batch; it must not
// call Redis itself.
type Handler interface {
	Keys(d *Delivery) ([]string, error)
	Apply(b *Batch, d *Delivery) error
}

// HandlerFuncs adapts two functions to a Handler.
type HandlerFuncs struct {
	KeysFunc  func(d *Delivery) ([]string, error)
	ApplyFunc func(b *Batch, d *Delivery) error
}

// Keys calls KeysFunc, or returns no keys when it is nil.
func (h HandlerFuncs) Keys(d *Delivery) ([]string, error) {
	if h.KeysFunc == nil {
		return nil, nil
	}
	return h.KeysFunc(d)
}

// Apply calls ApplyFunc.
func (h HandlerFuncs) Apply(b *Batch, d *Delivery) error { return h.ApplyFunc(b, d) }

// Errors a handler returns to say what the consumer should do with a
// delivery it could not apply.
var (
	// ErrNotYet: the effect depends on something not there yet (a dispute
	// another service has not reached). Retried with backoff, never parked.
	ErrNotYet = errors.New("not yet applicable")
	// ErrPermanent: the entry can never be applied. Parked at once.
	ErrPermanent = errors.New("cannot be applied")
)

// Permanent marks err as deterministic: the entry is parked at once.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// NotYet marks err as waiting for another service: the entry is retried
// with backoff and never parked.
func NotYet(err error) error { return fmt.Errorf("%w: %w", ErrNotYet, err) }

// Batch is the transaction a batch of deliveries is applied in: a snapshot
// of the keys the handlers declared, the writes they queued, and the
// apply-once markers and acknowledgements of the deliveries applied. It is
// written in one MULTI/EXEC, so a batch costs one fsync however many
// events it holds.
type Batch struct {
	ctx    context.Context
	vals   map[string]*string
	writes []func(redis.Pipeliner)
	after  []func()
	// journal holds, during one Apply, each key's value before its first
	// change, so a failed delivery's writes are rolled back.
	journal map[string]*string
	keys    map[string]bool
	now     time.Time
	// counters sums the HIncrBy deltas of the batch per hash and field,
	// written as one HINCRBY each when the batch is: many events of a batch
	// move the same counters. counted lists, during one Apply, the deltas
	// added, so a failed delivery's are taken back.
	counters map[counterKey]int64
	counted  []counted
}

type counterKey struct{ key, field string }

type counted struct {
	k     counterKey
	delta int64
}

// Context returns the batch's context.
func (b *Batch) Context() context.Context { return b.ctx }

// Now returns the time the batch was read.
func (b *Batch) Now() time.Time { return b.now }

// ErrUndeclared is returned by Get for a key the handler's Keys did not list.
var ErrUndeclared = errors.New("key not declared by the handler")

// Get returns key's value as the batch sees it: as read at the start,
// changed by the deliveries applied before. ok is false when the key does
// not exist.
func (b *Batch) Get(key string) (val []byte, ok bool, err error) {
	if !b.keys[key] {
		return nil, false, Permanent(fmt.Errorf("%w: %s", ErrUndeclared, key))
	}
	v := b.vals[key]
	if v == nil {
		return nil, false, nil
	}
	return []byte(*v), true, nil
}

func (b *Batch) remember(key string) {
	if b.journal == nil {
		return
	}
	if _, ok := b.journal[key]; !ok {
		b.journal[key] = b.vals[key]
	}
}

// Set writes key (ttl 0 keeps it for ever).
func (b *Batch) Set(key string, val []byte, ttl time.Duration) {
	b.remember(key)
	s := string(val)
	b.vals[key] = &s
	b.keys[key] = true
	b.writes = append(b.writes, func(p redis.Pipeliner) { p.Set(b.ctx, key, s, ttl) })
}

// Del deletes key.
func (b *Batch) Del(key string) {
	b.remember(key)
	b.vals[key] = nil
	b.keys[key] = true
	b.writes = append(b.writes, func(p redis.Pipeliner) { p.Del(b.ctx, key) })
}

// Do queues writes that read nothing back (ZADD, SADD, HINCRBY, ...). They
// run in the batch's MULTI in the order queued.
func (b *Batch) Do(fn func(ctx context.Context, p redis.Pipeliner)) {
	b.writes = append(b.writes, func(p redis.Pipeliner) { fn(b.ctx, p) })
}

// HIncrBy adds delta to field of hash key. The deltas of the whole batch
// are summed per hash and field and written as one HINCRBY each in the
// batch's MULTI, after the writes queued with Do, Set and Publish.
func (b *Batch) HIncrBy(key, field string, delta int64) {
	if delta == 0 {
		return
	}
	if b.counters == nil {
		b.counters = map[counterKey]int64{}
	}
	k := counterKey{key, field}
	b.counters[k] += delta
	if b.journal != nil {
		b.counted = append(b.counted, counted{k, delta})
	}
}

// flushCounters queues one HINCRBY per counter the batch changed, in a
// fixed order.
func (b *Batch) flushCounters(p redis.Pipeliner) {
	ks := make([]counterKey, 0, len(b.counters))
	for k, v := range b.counters {
		if v != 0 {
			ks = append(ks, k)
		}
	}
	slices.SortFunc(ks, func(x, y counterKey) int {
		if c := strings.Compare(x.key, y.key); c != 0 {
			return c
		}
		return strings.Compare(x.field, y.field)
	})
	for _, k := range ks {
		p.HIncrBy(b.ctx, k.key, k.field, b.counters[k])
	}
}

// Publish queues the XADD of ev to stream, so an effect and the events that
// publish it are written together.
func (b *Batch) Publish(stream string, ev *eventv1.Event) error {
	vals, err := Values(ev)
	if err != nil {
		return Permanent(err)
	}
	b.writes = append(b.writes, func(p redis.Pipeliner) { p.XAdd(b.ctx, &redis.XAddArgs{Stream: stream, Values: vals}) })
	return nil
}

// AfterCommit runs fn once the batch is written (not when it fails).
func (b *Batch) AfterCommit(fn func()) { b.after = append(b.after, fn) }

// begin starts one delivery's changes; rollback undoes them.
func (b *Batch) begin() (nWrites, nAfter int) {
	b.journal = map[string]*string{}
	b.counted = b.counted[:0]
	return len(b.writes), len(b.after)
}

func (b *Batch) rollback(nWrites, nAfter int) {
	for k, v := range b.journal {
		b.vals[k] = v
	}
	b.writes = b.writes[:nWrites]
	b.after = b.after[:nAfter]
	for _, c := range b.counted {
		b.counters[c.k] -= c.delta
	}
	b.counted = b.counted[:0]
	b.journal = nil
}

func (b *Batch) commit() { b.journal = nil; b.counted = b.counted[:0] }
