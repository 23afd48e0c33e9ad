package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// Stage is when a dispute entered a state, as routing reported it.
type Stage struct {
	State typesv1.DisputeState `json:"state"`
	Time  time.Time            `json:"time"`
}

// Progress is routing's account of a dispute as intake keeps it for the
// claimant's lookup: the state, the states passed with their dates and the
// due time of the stage running now.
type Progress struct {
	State  typesv1.DisputeState
	Stages []Stage
	Due    time.Time
}

// Lookup reads a dispute and its progress for the claimant's lookup; a
// dispute routing has not reported on yet has no stages.
func (s *Store) Lookup(ctx context.Context, region, id string) (*intakev1.Dispute, Progress, error) {
	vals, err := s.rdb.MGet(ctx, DisputeKey(region, id), LifecycleKey(region, id)).Result()
	if err != nil {
		return nil, Progress{}, fmt.Errorf("lookup dispute %s: %w", id, err)
	}
	form, ok := vals[0].(string)
	if !ok {
		return nil, Progress{}, dispute.NotFound(dispute.Name(region, id))
	}
	d, err := decode(id, []byte(form))
	if err != nil {
		return nil, Progress{}, err
	}
	var p Progress
	if raw, ok := vals[1].(string); ok {
		var sn seen
		if err := json.Unmarshal([]byte(raw), &sn); err != nil {
			return nil, Progress{}, fmt.Errorf("decode %s: %w", LifecycleKey(region, id), err)
		}
		p = Progress{State: sn.State, Stages: sn.Stages, Due: sn.Due}
	}
	return d, p, nil
}

// LookupFailKeys are the counters of wrong lookups of one dispute number
// and of one client address in a region.
func LookupFailKeys(region, id, client string) (byNumber, byClient string) {
	return events.Key(Service, region, "lookup-fail", "number", id), events.Key(Service, region, "lookup-fail", "client", client)
}

// LookupFailures returns the wrong lookups counted against the number and
// the client in their current windows, and how long each window still runs.
func (s *Store) LookupFailures(ctx context.Context, region, id, client string) (number, cl int64, numberTTL, clientTTL time.Duration, err error) {
	kn, kc := LookupFailKeys(region, id, client)
	p := s.rdb.Pipeline()
	gn, gc := p.Get(ctx, kn), p.Get(ctx, kc)
	tn, tc := p.PTTL(ctx, kn), p.PTTL(ctx, kc)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, 0, 0, 0, fmt.Errorf("read lookup counters: %w", err)
	}
	number, _ = gn.Int64()
	cl, _ = gc.Int64()
	return number, cl, tn.Val(), tc.Val(), nil
}

// CountLookupFailure counts one wrong lookup against the number and the
// client; a window starts with its first failure and lasts window.
func (s *Store) CountLookupFailure(ctx context.Context, region, id, client string, window time.Duration) error {
	kn, kc := LookupFailKeys(region, id, client)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range []string{kn, kc} {
			p.Incr(ctx, k)
			p.ExpireNX(ctx, k, window)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("count lookup failure: %w", err)
	}
	return nil
}
