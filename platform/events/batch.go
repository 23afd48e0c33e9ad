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

// Versioned is implemented by handlers that recognize an event already
// applied themselves: the record they write keeps the version of the last
// event applied, and Apply changes nothing for an event whose version is
// not newer. Their events are applied without apply-once markers (one SET
// per event and group fewer, docs/ARCHITECTURE.md "Consuming events").
type Versioned interface {
	Versioned() bool
}

// HandlerFuncs adapts two functions to a Handler.
type HandlerFuncs struct {
	KeysFunc  func(d *Delivery) ([]string, error)
	ApplyFunc func(b *Batch, d *Delivery) error
	// ByVersion says ApplyFunc skips events not newer than the version its
	// record holds (Versioned).
	ByVersion bool
}

// Versioned returns ByVersion.
func (h HandlerFuncs) Versioned() bool { return h.ByVersion }

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
	writes []queued
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
	// counterLog, when set, is the list the summed counters are written
	// to as one entry (counterlog.go) instead of one HINCRBY each.
	counterLog string
	// zsets holds the batch's coalesced sorted-set writes: per key and
	// member the last ZAdd or ZRem queued. zundo lists, during one Apply,
	// what each of its ZAdd and ZRem replaced, so a failed delivery's are
	// taken back.
	zsets map[string]map[string]zop
	zundo []zundo
}

// queued is one write of the batch; key is set for a Set or Del, which
// replaces the whole value.
type queued struct {
	key string
	fn  func(redis.Pipeliner)
}

// flushWrites queues the batch's writes in their order, leaving out a Set
// or Del of a key that a later Set or Del of the batch replaces: a key
// many events of a batch rewrite (a dossier, a copy of routing's account)
// is written once.
func (b *Batch) flushWrites(p redis.Pipeliner) {
	last := map[string]int{}
	for i, w := range b.writes {
		if w.key != "" {
			last[w.key] = i
		}
	}
	for i, w := range b.writes {
		if w.key == "" || last[w.key] == i {
			w.fn(p)
		}
	}
}

// zop is the last sorted-set operation queued on a member: an add with its
// score, or a removal.
type zop struct {
	score  float64
	remove bool
}

type zundo struct {
	key, member string
	prev        zop
	had         bool
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
	b.writes = append(b.writes, queued{key, func(p redis.Pipeliner) { p.Set(b.ctx, key, s, ttl) }})
}

// Del deletes key.
func (b *Batch) Del(key string) {
	b.remember(key)
	b.vals[key] = nil
	b.keys[key] = true
	b.writes = append(b.writes, queued{key, func(p redis.Pipeliner) { p.Del(b.ctx, key) }})
}

// Do queues writes that read nothing back (SADD, RPUSH, HSET, ...). They
// run in the batch's MULTI in the order queued, with the writes of Set,
// Del and Publish, before the coalesced writes of HIncrBy, ZAdd and ZRem.
// A handler must not write a key both with Do (or Set, Del) and with a
// coalesced write in one batch: the coalesced writes come last, whatever
// the order they were queued in; nor with both Do and Set or Del: of a
// key's Sets and Dels only the last is written.
func (b *Batch) Do(fn func(ctx context.Context, p redis.Pipeliner)) {
	b.writes = append(b.writes, queued{fn: func(p redis.Pipeliner) { fn(b.ctx, p) }})
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
	if b.counterLog != "" {
		var logged, direct []counterKey
		for _, k := range ks {
			if loggable(k) {
				logged = append(logged, k)
			} else {
				direct = append(direct, k)
			}
		}
		if len(logged) > 0 {
			p.RPush(b.ctx, b.counterLog, encodeCounters(logged, b.counters))
		}
		ks = direct
	}
	for _, k := range ks {
		p.HIncrBy(b.ctx, k.key, k.field, b.counters[k])
	}
}

// ZAdd adds member to sorted set key with score (or moves it to score).
// ZAdd and ZRem are coalesced over the whole batch: per key and member
// only the last one queued is written, and per key all the adds go in one
// ZADD and all the removals in one ZREM, after the writes queued with Do,
// Set and Publish. A sorted set many disputes share (an index) is moved by
// many events of a batch: this writes it once per batch.
func (b *Batch) ZAdd(key string, score float64, member string) {
	b.zset(key, member, zop{score: score})
}

// ZRem removes member from sorted set key, coalesced as ZAdd is.
func (b *Batch) ZRem(key, member string) { b.zset(key, member, zop{remove: true}) }

func (b *Batch) zset(key, member string, op zop) {
	if b.zsets == nil {
		b.zsets = map[string]map[string]zop{}
	}
	ms := b.zsets[key]
	if ms == nil {
		ms = map[string]zop{}
		b.zsets[key] = ms
	}
	if b.journal != nil {
		prev, had := ms[member]
		b.zundo = append(b.zundo, zundo{key, member, prev, had})
	}
	ms[member] = op
}

// flushSortedSets queues, per sorted set the batch changed and in the
// order of the keys, one ZADD of its added members and one ZREM of its
// removed ones, members in order.
func (b *Batch) flushSortedSets(p redis.Pipeliner) {
	keys := make([]string, 0, len(b.zsets))
	for k, ms := range b.zsets {
		if len(ms) > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		ms := b.zsets[k]
		members := make([]string, 0, len(ms))
		for m := range ms {
			members = append(members, m)
		}
		slices.Sort(members)
		var adds []redis.Z
		var rems []any
		for _, m := range members {
			if op := ms[m]; op.remove {
				rems = append(rems, m)
			} else {
				adds = append(adds, redis.Z{Score: op.score, Member: m})
			}
		}
		if len(adds) > 0 {
			p.ZAdd(b.ctx, k, adds...)
		}
		if len(rems) > 0 {
			p.ZRem(b.ctx, k, rems...)
		}
	}
}

// Publish queues the XADD of ev to stream, so an effect and the events that
// publish it are written together.
func (b *Batch) Publish(stream string, ev *eventv1.Event) error {
	vals, err := Values(ev)
	if err != nil {
		return Permanent(err)
	}
	b.writes = append(b.writes, queued{fn: func(p redis.Pipeliner) { p.XAdd(b.ctx, &redis.XAddArgs{Stream: stream, Values: vals}) }})
	return nil
}

// AfterCommit runs fn once the batch is written (not when it fails).
func (b *Batch) AfterCommit(fn func()) { b.after = append(b.after, fn) }

// begin starts one delivery's changes; rollback undoes them.
func (b *Batch) begin() (nWrites, nAfter int) {
	b.journal = map[string]*string{}
	b.counted = b.counted[:0]
	b.zundo = b.zundo[:0]
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
	for i := len(b.zundo) - 1; i >= 0; i-- {
		u := b.zundo[i]
		if u.had {
			b.zsets[u.key][u.member] = u.prev
		} else {
			delete(b.zsets[u.key], u.member)
		}
	}
	b.zundo = b.zundo[:0]
	b.journal = nil
}

func (b *Batch) commit() { b.journal = nil; b.counted = b.counted[:0]; b.zundo = b.zundo[:0] }
