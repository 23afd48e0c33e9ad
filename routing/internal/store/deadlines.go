package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// The deadline index of a region is a sorted set of dispute names scored
// by the unix milliseconds of each tracker's next deadline (a warning or
// due time not yet raised, or the end of an objection window). It is
// written with the tracker in the same MULTI/EXEC, so the deadline scanner
// reads only what is due instead of every tracker:
//
//	routing:{r}:deadlines

func deadlineKey(region string) string { return events.Key(Service, region, "deadlines") }

// indexDeadline queues t's entry in the deadline index: its next deadline,
// or none.
func indexDeadline(w indexWriter, t *tracker.Tracker) {
	if at, ok := t.NextDeadline(); ok {
		w.zadd(deadlineKey(t.Region), float64(at.UnixMilli()), t.Name)
		return
	}
	w.zrem(deadlineKey(t.Region), t.Name)
}

// DueDisputes returns up to limit disputes of region whose next deadline is
// at or before now, earliest first.
func (s *Store) DueDisputes(ctx context.Context, region string, now time.Time, limit int64) ([]string, error) {
	names, err := s.rdb.ZRangeByScore(ctx, deadlineKey(region), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: limit,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("read deadlines of %s: %w", region, err)
	}
	return names, nil
}
