// Package store keeps the meeting service's state in Redis under keys
// "meeting:{<region>}:...", and appends its events to the region's meeting
// stream in the same MULTI/EXEC as the state they describe.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
)

// Service is the name the meeting service's keys and stream are under.
const Service = "meeting"

// Store is the meeting service's Redis state.
type Store struct {
	rdb redis.UniversalClient
	// awaitRouting, when set, waits until the office's view has applied
	// routing's events published so far.
	awaitRouting func(ctx context.Context, region string) error
}

// New returns a Store on rdb.
func New(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// Stream returns the meeting event stream of region.
func Stream(region string) string { return events.Stream(Service, region) }

func publishedKey(region, changeID string) string {
	return events.Key(Service, region, "roster-published", changeID)
}

func cursorKey(region string) string { return events.Key(Service, region, "roster-cursor") }

// PublishRosterChange appends ev (a RosterUpdated) to region's stream unless
// the roster change changeID was already announced; it reports whether it
// appended. The marker and the XADD are one MULTI/EXEC, so a change is
// announced exactly once however many times it is offered.
func (s *Store) PublishRosterChange(ctx context.Context, region, changeID string, ev *eventv1.Event) (bool, error) {
	applied, err := events.Once(ctx, s.rdb, publishedKey(region, changeID), nil,
		func(ctx context.Context, _ *redis.Tx, pipe redis.Pipeliner) error {
			return events.Append(ctx, pipe, Stream(region), ev)
		})
	if err != nil {
		return false, fmt.Errorf("publish roster change %s: %w", changeID, err)
	}
	return applied, nil
}

// RosterCursor returns the id of the last roster change of region known to
// be announced ("" when none).
func (s *Store) RosterCursor(ctx context.Context, region string) (string, error) {
	id, err := s.rdb.Get(ctx, cursorKey(region)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("roster cursor %s: %w", region, err)
	}
	return id, nil
}

// SetRosterCursor records that every roster change of region up to id is
// announced.
func (s *Store) SetRosterCursor(ctx context.Context, region, id string) error {
	if err := s.rdb.Set(ctx, cursorKey(region), id, 0).Err(); err != nil {
		return fmt.Errorf("set roster cursor %s: %w", region, err)
	}
	return nil
}
