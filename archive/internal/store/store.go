// Package store keeps the archive's dossiers in Redis: per dispute a summary
// (JSON), its events ordered by time then id (a sorted set of event ids with
// the event bytes in a hash), a region index, and a region log for events
// about no dispute. Each event is applied once, atomically, by its id.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
)

// Service is the archive's key prefix.
const Service = "archive"

// Store is the Redis store of dossiers.
type Store struct {
	rdb redis.UniversalClient
}

// New returns a store on rdb.
func New(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

func metaKey(region, id string) string   { return events.Key(Service, region, "dossier", id) }
func orderKey(region, id string) string  { return events.Key(Service, region, "dossier", id, "order") }
func eventsKey(region, id string) string { return events.Key(Service, region, "dossier", id, "events") }
func indexKey(region string) string      { return events.Key(Service, region, "dossiers") }

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
// event's region), folding fact into each summary; with no targets it goes
// to the region log. It reports false when ev had been recorded before.
func (s *Store) Append(ctx context.Context, ev *eventv1.Event, targets []string, fact dossier.Fact) (bool, error) {
	region := ev.GetRegion()
	type target struct {
		name, id string
	}
	var ts []target
	var watch []string
	for _, name := range targets {
		r, id, err := dossier.ParseName(name)
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
		if len(ts) == 0 {
			pipe.RPush(ctx, LogKey(region), raw)
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
		}
		return nil
	})
}

// Get returns the dossier of dispute name and its events in order, or
// dossier.ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (*dossier.Dossier, []*eventv1.Event, error) {
	region, id, err := dossier.ParseName(name)
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
	raws, err := s.rdb.LRange(ctx, LogKey(region), 0, -1).Result()
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
