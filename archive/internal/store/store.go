// Package store keeps the archive's dossiers in Redis: per dispute a summary
// (JSON), its events ordered by time then id (a sorted set of event ids with
// the event bytes in a hash), a region index, a region log for events
// about no dispute, the closed dossiers waiting to be sealed, and the late
// events that arrived for dossiers already sealed. Each event is applied
// once, atomically, by its id.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// Service is the archive's key prefix.
const Service = "archive"

// Store is the Redis store of dossiers.
type Store struct {
	rdb redis.UniversalClient
	// Now is the clock that stamps when a dossier closed; tests replace it.
	Now func() time.Time
}

// New returns a store on rdb.
func New(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb, Now: time.Now} }

func metaKey(region, id string) string   { return events.Key(Service, region, "dossier", id) }
func orderKey(region, id string) string  { return events.Key(Service, region, "dossier", id, "order") }
func eventsKey(region, id string) string { return events.Key(Service, region, "dossier", id, "events") }
func indexKey(region string) string      { return events.Key(Service, region, "dossiers") }

// PendingKey is the sorted set of a region's closed dossiers waiting to be
// sealed, by dispute name, scored by the time (Unix ms) of the last event
// filed while closed.
func PendingKey(region string) string { return events.Key(Service, region, "sealing") }

// LateKey is the list of events that arrived for a region's dossiers
// after they were sealed.
func LateKey(region string) string { return events.Key(Service, region, "late") }

// LogKey is the list of a region's events that concern no dispute (roster changes).
func LogKey(region string) string { return events.Key(Service, region, "log") }

func decodeMeta(b []byte) (*dossier.Dossier, error) {
	d := &dossier.Dossier{}
	if err := json.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("decode dossier: %w", err)
	}
	return d, nil
}

// Append records ev in the dossier of every dispute in targets (all in the
// event's region), folding fact into each summary; with no targets and no
// late ones it goes to the region log. A dossier that the event leaves
// closed is scheduled for sealing, from now: each event filed while closed
// starts the quiet period again. The disputes in late are sealed already:
// the event goes once to the region's late list instead. It reports false
// when ev had been recorded before.
func (s *Store) Append(ctx context.Context, ev *eventv1.Event, targets, late []string, fact dossier.Fact) (bool, error) {
	region := ev.GetRegion()
	type target struct {
		name, id string
	}
	var ts []target
	var watch []string
	for _, name := range targets {
		r, id, err := names.DisputeID(name)
		if err != nil {
			return false, err
		}
		if r != region {
			return false, fmt.Errorf("event %s of region %s names dispute %s of another region", ev.GetId(), region, name)
		}
		ts = append(ts, target{name, id})
		watch = append(watch, metaKey(region, id))
	}
	raw, err := proto.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("marshal event: %w", err)
	}
	score := float64(ev.GetTime().AsTime().UnixMicro())
	marker := events.Marker(Service, region, ev.GetId())
	return events.Once(ctx, s.rdb, marker, watch, func(ctx context.Context, tx *redis.Tx, pipe redis.Pipeliner) error {
		if len(late) > 0 {
			pipe.RPush(ctx, LateKey(region), raw)
		}
		if len(ts) == 0 {
			if len(late) == 0 {
				pipe.RPush(ctx, LogKey(region), raw)
			}
			return nil
		}
		for _, t := range ts {
			d, err := dossier.New(t.name)
			if err != nil {
				return err
			}
			b, err := tx.Get(ctx, metaKey(region, t.id)).Bytes()
			switch {
			case err == nil:
				if d, err = decodeMeta(b); err != nil {
					return err
				}
			case !errors.Is(err, redis.Nil):
				return fmt.Errorf("read dossier %s: %w", t.name, err)
			}
			d.Apply(fact)
			out, err := json.Marshal(d)
			if err != nil {
				return fmt.Errorf("encode dossier: %w", err)
			}
			pipe.Set(ctx, metaKey(region, t.id), out, 0)
			pipe.ZAdd(ctx, orderKey(region, t.id), redis.Z{Score: score, Member: ev.GetId()})
			pipe.HSet(ctx, eventsKey(region, t.id), ev.GetId(), raw)
			indexScore := score
			if !d.RegisterTime.IsZero() {
				indexScore = float64(d.RegisterTime.UnixMicro())
			}
			pipe.ZAdd(ctx, indexKey(region), redis.Z{Score: indexScore, Member: t.id})
			if d.State == typesv1.DisputeState_DISPUTE_STATE_CLOSED && !d.Sealed {
				pipe.ZAdd(ctx, PendingKey(region), redis.Z{Score: float64(s.Now().UnixMilli()), Member: t.name})
			}
		}
		return nil
	})
}

// Get returns the dossier of dispute name and its events in order, or
// dossier.ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (*dossier.Dossier, []*eventv1.Event, error) {
	region, id, err := names.DisputeID(name)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.rdb.Get(ctx, metaKey(region, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("%w: %s", dossier.ErrNotFound, name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read dossier %s: %w", name, err)
	}
	d, err := decodeMeta(b)
	if err != nil {
		return nil, nil, err
	}
	ids, err := s.rdb.ZRange(ctx, orderKey(region, id), 0, -1).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("read order of %s: %w", name, err)
	}
	if len(ids) == 0 {
		return d, nil, nil
	}
	raws, err := s.rdb.HMGet(ctx, eventsKey(region, id), ids...).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("read events of %s: %w", name, err)
	}
	evs := make([]*eventv1.Event, 0, len(raws))
	for i, r := range raws {
		str, ok := r.(string)
		if !ok {
			return nil, nil, fmt.Errorf("dossier %s: event %s missing", name, ids[i])
		}
		ev := &eventv1.Event{}
		if err := proto.Unmarshal([]byte(str), ev); err != nil {
			return nil, nil, fmt.Errorf("dossier %s: event %s: %w", name, ids[i], err)
		}
		evs = append(evs, ev)
	}
	return d, evs, nil
}

// List returns every dossier of region, latest registered first.
func (s *Store) List(ctx context.Context, region string) ([]*dossier.Dossier, error) {
	ids, err := s.rdb.ZRevRange(ctx, indexKey(region), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read index of %s: %w", region, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = metaKey(region, id)
	}
	raws, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("read dossiers of %s: %w", region, err)
	}
	out := make([]*dossier.Dossier, 0, len(raws))
	for _, r := range raws {
		str, ok := r.(string)
		if !ok {
			continue
		}
		d, err := decodeMeta([]byte(str))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Log returns the region log's events, oldest first.
func (s *Store) Log(ctx context.Context, region string) ([]*eventv1.Event, error) {
	return s.list(ctx, region, LogKey(region))
}

// Late returns the events that arrived for the region's sealed dossiers,
// oldest first.
func (s *Store) Late(ctx context.Context, region string) ([]*eventv1.Event, error) {
	return s.list(ctx, region, LateKey(region))
}

// Due returns the dossiers of region filed closed at or before until, which
// are waiting to be sealed.
func (s *Store) Due(ctx context.Context, region string, until time.Time) ([]string, error) {
	names, err := s.rdb.ZRangeByScore(ctx, PendingKey(region), &redis.ZRangeBy{Min: "-inf", Max: fmt.Sprint(until.UnixMilli())}).Result()
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
