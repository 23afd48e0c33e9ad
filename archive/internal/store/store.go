// Package store keeps the archive's dossiers in Redis: per dispute a summary
// (JSON), its events (a hash of the event bytes by event id, read in order
// of time then id), a region index, a region log for events
// about no dispute, the closed dossiers waiting to be sealed, and the late
// events that arrived for dossiers already sealed. Each event is applied
// once, atomically, by its id.
package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
)

// Service is the archive's key prefix.
const Service = "archive"

// Store is the Redis store of dossiers, with the indexes and counters
// search and statistics are served from (derived.go).
type Store struct {
	rdb redis.UniversalClient
	// Now is the clock that stamps when a dossier closed; tests replace it.
	Now func() time.Time
}

// New returns a store on rdb.
func New(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb, Now: time.Now} }

func metaKey(region, id string) string   { return events.Key(Service, region, "dossier", id) }
func eventsKey(region, id string) string { return events.Key(Service, region, "dossier", id, "events") }
func indexKey(region string) string      { return events.Key(Service, region, "dossiers") }

// PendingKey is the sorted set of a region's closed dossiers waiting to be
// sealed, by dispute name, scored by when (Unix ms) their close was
// published.
func PendingKey(region string) string { return events.Key(Service, region, "sealing") }

func addendumEventsKey(region, id string) string {
	return events.Key(Service, region, "dossier", id, "addendum", "events")
}

// LogKey is the list of a region's events that concern no dispute (roster changes).
func LogKey(region string) string { return events.Key(Service, region, "log") }

func decodeMeta(b []byte) (*dossier.Dossier, error) {
	d := &dossier.Dossier{}
	if err := json.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("decode dossier: %w", err)
	}
	return d, nil
}

// Extractor returns the disputes an event concerns and what it tells
// their dossiers.
type Extractor func(ev *eventv1.Event) ([]string, dossier.Fact, error)

// Handler files events in the event consumer's batches (docs/ARCHITECTURE.md,
// "Consuming events" and "Sealing"): each event goes into the dossier of
// every dispute extract names (all in the event's region), folding its fact
// into the summary; an event about no dispute goes to the region log. An
// event published after the event that closed a dossier goes to the
// dossier's addendum instead, so the dossier a seal covers never changes.
// A dossier that closes is scheduled for sealing at its close.
func (s *Store) Handler(extract Extractor) events.Handler {
	type target struct{ name, id string }
	targetsOf := func(d *events.Delivery) ([]target, dossier.Fact, error) {
		disputes, fact, err := extract(d.Event)
		if err != nil {
			return nil, fact, events.Permanent(err)
		}
		var ts []target
		for _, name := range disputes {
			r, id, err := names.DisputeID(name)
			if err != nil {
				return nil, fact, events.Permanent(err)
			}
			if r != d.Region {
				return nil, fact, events.Permanent(fmt.Errorf("event %s of region %s names dispute %s of another region", d.Event.GetId(), d.Region, name))
			}
			ts = append(ts, target{name, id})
		}
		return ts, fact, nil
	}
	return events.HandlerFuncs{
		KeysFunc: func(d *events.Delivery) ([]string, error) {
			ts, _, err := targetsOf(d)
			if err != nil {
				return nil, err
			}
			keys := make([]string, len(ts))
			for i, t := range ts {
				keys[i] = metaKey(d.Region, t.id)
			}
			return keys, nil
		},
		ApplyFunc: func(b *events.Batch, dl *events.Delivery) error {
			ts, fact, err := targetsOf(dl)
			if err != nil {
				return err
			}
			ev, region := dl.Event, dl.Region
			raw, err := proto.Marshal(ev)
			if err != nil {
				return events.Permanent(fmt.Errorf("marshal event: %w", err))
			}
			if len(ts) == 0 {
				b.Do(func(ctx context.Context, p redis.Pipeliner) { p.RPush(ctx, LogKey(region), raw) })
				return nil
			}
			published := events.IDMillis(dl.EntryID)
			for _, t := range ts {
				d, err := dossier.New(t.name)
				if err != nil {
					return events.Permanent(err)
				}
				old, ok, err := b.Get(metaKey(region, t.id))
				if err != nil {
					return err
				}
				var prev *dossier.Dossier
				if ok {
					if d, err = decodeMeta(old); err != nil {
						return events.Permanent(err)
					}
					p := *d
					p.Departments = slices.Clone(d.Departments)
					prev = &p
				}
				if d.Sealed || (d.CloseMs != 0 && published > d.CloseMs) {
					b.Do(func(ctx context.Context, p redis.Pipeliner) {
						p.HSet(ctx, addendumEventsKey(region, t.id), ev.GetId(), raw)
					})
					// A follow-up after the close still counts in the
					// statistics; the sealed dossier does not change.
					if fact.FollowUp && prev != nil {
						d.ApplyLate(fact)
						out, err := json.Marshal(d)
						if err != nil {
							return fmt.Errorf("encode dossier: %w", err)
						}
						b.Set(metaKey(region, t.id), out, 0)
						derive(region, t.id, prev, d).toBatch(b)
					}
					continue
				}
				d.Apply(fact)
				closes := d.Closed() && d.CloseMs == 0
				if closes {
					d.CloseMs = published
				}
				out, err := json.Marshal(d)
				if err != nil {
					return fmt.Errorf("encode dossier: %w", err)
				}
				b.Set(metaKey(region, t.id), out, 0)
				derive(region, t.id, prev, d).toBatch(b)
				b.Do(func(ctx context.Context, p redis.Pipeliner) {
					p.HSet(ctx, eventsKey(region, t.id), ev.GetId(), raw)
				})
				// The region's sorted sets, shared by every dossier, are
				// written once per batch (events.Batch.ZAdd).
				b.ZAdd(indexKey(region), d.Score(), t.id)
				if closes {
					b.ZAdd(PendingKey(region), float64(published), t.name)
				}
			}
			return nil
		},
	}
}

// Get returns the dossier of dispute name and its events in order, or
// dossier.ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (*dossier.Dossier, []*eventv1.Event, error) {
	r := s.GetMany(ctx, []string{name})[0]
	return r.Dossier, r.Events, r.Err
}

// Read is one dossier read by GetMany.
type Read struct {
	Dossier *dossier.Dossier
	Events  []*eventv1.Event
	Err     error // dossier.ErrNotFound when there is none
}

// GetMany reads the dossiers of disputes with their events in order, one
// transaction per region: a dossier's account and its events are written
// in one transaction and read in one, so the account read is the one of
// the events listed; all of a region's in one round trip.
func (s *Store) GetMany(ctx context.Context, disputes []string) []Read {
	out := make([]Read, len(disputes))
	type pending struct {
		i    int
		get  *redis.StringCmd
		hash *redis.MapStringStringCmd
	}
	byRegion := map[string][]int{}
	var regions []string
	ids := make([]string, len(disputes))
	for i, name := range disputes {
		region, id, err := names.DisputeID(name)
		if err != nil {
			out[i].Err = err
			continue
		}
		ids[i] = id
		if _, ok := byRegion[region]; !ok {
			regions = append(regions, region)
		}
		byRegion[region] = append(byRegion[region], i)
	}
	for _, region := range regions {
		var ps []pending
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range byRegion[region] {
				ps = append(ps, pending{i, p.Get(ctx, metaKey(region, ids[i])), p.HGetAll(ctx, eventsKey(region, ids[i]))})
			}
			return nil
		})
		for _, pd := range ps {
			name := disputes[pd.i]
			b, gerr := pd.get.Bytes()
			switch {
			case errors.Is(gerr, redis.Nil):
				out[pd.i].Err = fmt.Errorf("%w: %s", dossier.ErrNotFound, name)
			case gerr != nil || (err != nil && !errors.Is(err, redis.Nil)):
				out[pd.i].Err = fmt.Errorf("read dossier %s: %w", name, cmp.Or(gerr, err))
			default:
				r := &out[pd.i]
				if r.Events, r.Err = ordered(name, pd.hash.Val()); r.Err == nil {
					r.Dossier, r.Err = decodeMeta(b)
				}
			}
		}
	}
	return out
}

// Addendum returns the events that arrived for dispute name after it
// closed, in the order they happened.
func (s *Store) Addendum(ctx context.Context, name string) ([]*eventv1.Event, error) {
	region, id, err := names.DisputeID(name)
	if err != nil {
		return nil, err
	}
	raws, err := s.rdb.HGetAll(ctx, addendumEventsKey(region, id)).Result()
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", name, err)
	}
	return ordered(name, raws)
}

// ordered decodes the events of a dossier's hash (raws, by id), ordered by
// time (to the microsecond) then id: the order a sorted set of event ids
// scored by their time in microseconds kept before, kept the same so a
// sealed dossier reads back byte for byte.
func ordered(name string, raws map[string]string) ([]*eventv1.Event, error) {
	if len(raws) == 0 {
		return nil, nil
	}
	type timed struct {
		ev    *eventv1.Event
		id    string
		score float64
	}
	all := make([]timed, 0, len(raws))
	for id, r := range raws {
		ev := &eventv1.Event{}
		if err := proto.Unmarshal([]byte(r), ev); err != nil {
			return nil, fmt.Errorf("dossier %s: event %s: %w", name, id, err)
		}
		all = append(all, timed{ev, id, eventScore(ev)})
	}
	slices.SortFunc(all, func(x, y timed) int {
		if c := cmp.Compare(x.score, y.score); c != 0 {
			return c
		}
		return strings.Compare(x.id, y.id)
	})
	evs := make([]*eventv1.Event, len(all))
	for i, t := range all {
		evs[i] = t.ev
	}
	return evs, nil
}

// eventScore is where ev goes in a dossier's order: its time in
// microseconds as a float64, as the sorted set that kept the order
// before scored it (same float, same ties broken by id).
func eventScore(ev *eventv1.Event) float64 { return float64(ev.GetTime().AsTime().UnixMicro()) }

// List returns every dossier of region, latest registered first. It reads
// the whole region: no RPC calls it (search and statistics read the
// indexes and counters); it is the reference a recount is checked against.
func (s *Store) List(ctx context.Context, region string) ([]*dossier.Dossier, error) {
	ids, err := s.rdb.ZRevRange(ctx, indexKey(region), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read index of %s: %w", region, err)
	}
	all, err := s.summaries(ctx, region, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*dossier.Dossier, 0, len(all))
	for _, d := range all {
		if d != nil {
			out = append(out, d)
		}
	}
	return out, nil
}

// Log returns the region log's events, oldest first.
func (s *Store) Log(ctx context.Context, region string) ([]*eventv1.Event, error) {
	return s.list(ctx, region, LogKey(region))
}

// Due returns the closed dossiers of region waiting to be sealed whose
// close was published before watermark (Unix ms).
func (s *Store) Due(ctx context.Context, region string, watermark uint64) ([]string, error) {
	if watermark == 0 {
		return nil, nil
	}
	names, err := s.rdb.ZRangeByScore(ctx, PendingKey(region), &redis.ZRangeBy{Min: "-inf", Max: "(" + strconv.FormatUint(watermark, 10)}).Result()
	if err != nil {
		return nil, fmt.Errorf("read dossiers to seal in %s: %w", region, err)
	}
	return names, nil
}

// Unschedule drops dispute name from the dossiers waiting to be sealed.
func (s *Store) Unschedule(ctx context.Context, name string) error {
	region, _, err := names.DisputeID(name)
	if err != nil {
		return err
	}
	if err := s.rdb.ZRem(ctx, PendingKey(region), name).Err(); err != nil {
		return fmt.Errorf("unschedule %s: %w", name, err)
	}
	return nil
}

// MarkSealed records that dispute name's dossier is leaf index of the
// sealed log and no longer waits to be sealed. Marking again is harmless; a
// dossier Redis no longer holds is only unscheduled.
func (s *Store) MarkSealed(ctx context.Context, name string, index int64) error {
	region, id, err := names.DisputeID(name)
	if err != nil {
		return err
	}
	key := metaKey(region, id)
	for range 50 {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			b, err := tx.Get(ctx, key).Bytes()
			var d *dossier.Dossier
			switch {
			case err == nil:
				if d, err = decodeMeta(b); err != nil {
					return err
				}
				d.Sealed, d.LeafIndex = true, index
			case !errors.Is(err, redis.Nil):
				return fmt.Errorf("read dossier %s: %w", name, err)
			}
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				if d != nil {
					out, err := json.Marshal(d)
					if err != nil {
						return fmt.Errorf("encode dossier: %w", err)
					}
					pipe.Set(ctx, key, out, 0)
				}
				pipe.ZRem(ctx, PendingKey(region), name)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return fmt.Errorf("mark %s sealed: too much contention", name)
}

// MarkSealedMany is MarkSealed for many dossiers of one region (dispute
// name to leaf index) in one transaction, so a sealer pass costs one fsync
// of Redis's log, not one per dossier.
func (s *Store) MarkSealedMany(ctx context.Context, region string, leaves map[string]int64) error {
	if len(leaves) == 0 {
		return nil
	}
	disputes := make([]string, 0, len(leaves))
	keys := make([]string, 0, len(leaves))
	for name := range leaves {
		r, id, err := names.DisputeID(name)
		if err != nil {
			return err
		}
		if r != region {
			return fmt.Errorf("mark %s sealed: not a dispute of region %s", name, region)
		}
		disputes = append(disputes, name)
		keys = append(keys, metaKey(region, id))
	}
	for range 50 {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			raws, err := tx.MGet(ctx, keys...).Result()
			if err != nil {
				return fmt.Errorf("read dossiers: %w", err)
			}
			out := make([][]byte, len(raws))
			for i, r := range raws {
				str, ok := r.(string)
				if !ok {
					continue // Redis no longer holds it: only unschedule
				}
				d, err := decodeMeta([]byte(str))
				if err != nil {
					return err
				}
				d.Sealed, d.LeafIndex = true, leaves[disputes[i]]
				if out[i], err = json.Marshal(d); err != nil {
					return fmt.Errorf("encode dossier: %w", err)
				}
			}
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				for i, b := range out {
					if b != nil {
						pipe.Set(ctx, keys[i], b, 0)
					}
				}
				members := make([]any, len(disputes))
				for i, n := range disputes {
					members[i] = n
				}
				pipe.ZRem(ctx, PendingKey(region), members...)
				return nil
			})
			return err
		}, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return fmt.Errorf("mark %d dossiers of %s sealed: too much contention", len(leaves), region)
}

func (s *Store) list(ctx context.Context, region, key string) ([]*eventv1.Event, error) {
	raws, err := s.rdb.LRange(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read log of %s: %w", region, err)
	}
	out := make([]*eventv1.Event, 0, len(raws))
	for _, r := range raws {
		ev := &eventv1.Event{}
		if err := proto.Unmarshal([]byte(r), ev); err != nil {
			return nil, fmt.Errorf("log of %s: %w", region, err)
		}
		out = append(out, ev)
	}
	return out, nil
}
