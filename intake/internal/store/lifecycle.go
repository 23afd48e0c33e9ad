package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// LifecycleKey returns the key of routing's account of dispute id as intake
// last applied it (version, state, readers).
func LifecycleKey(region, id string) string { return events.Key(Service, region, "lifecycle", id) }

// seen is routing's account of a dispute as intake last applied it.
type seen struct {
	Version int64                `json:"version"`
	State   typesv1.DisputeState `json:"state"`
	Readers []string             `json:"readers"`
	// Guests are those of Readers that read the dispute for one stage of
	// the office path without holding it (Lifecycle.guest_readers).
	Guests []string `json:"guests,omitempty"`
	// Stages are the states routing reported, each with the time of the
	// event that first reported it; Due is the running clock's due time.
	// Both are for the claimant's lookup.
	Stages []Stage   `json:"stages,omitempty"`
	Due    time.Time `json:"due,omitzero"`
}

// Guests returns the departments routing last reported as reading dispute
// id as guests only: they see its personal numbers masked.
func (s *Store) Guests(ctx context.Context, region, id string) ([]string, error) {
	raw, err := s.rdb.Get(ctx, LifecycleKey(region, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", LifecycleKey(region, id), err)
	}
	var v seen
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", LifecycleKey(region, id), err)
	}
	return v.Guests, nil
}

// LifecycleHandler applies routing's events to intake (docs/ARCHITECTURE.md,
// "Consuming events"): the departments routing says may read a dispute
// become its holders (who may read it and see it in their lists), and a
// dispute routing closed leaves the open-dispute indexes that links and
// mass-dispute counts are drawn from. intake copies routing's account and
// never works the lifecycle out itself; an event older than the account
// applied (a lower version) changes nothing.
func (s *Store) LifecycleHandler() events.Handler {
	keys := func(d *events.Delivery) (region, id string, err error) {
		region, id, err = names.DisputeID(d.Event.GetDispute())
		if err != nil {
			return "", "", events.Permanent(fmt.Errorf("%s event %s: %w", d.Event.GetType(), d.Event.GetId(), err))
		}
		return region, id, nil
	}
	return events.HandlerFuncs{
		// The record keeps the Lifecycle's version and an event not newer
		// changes nothing: no apply-once marker is needed.
		ByVersion: true,
		KeysFunc: func(d *events.Delivery) ([]string, error) {
			if d.Event.GetLifecycle() == nil {
				return nil, nil
			}
			region, id, err := keys(d)
			if err != nil {
				return nil, err
			}
			return []string{LifecycleKey(region, id), DisputeKey(region, id)}, nil
		},
		ApplyFunc: func(b *events.Batch, d *events.Delivery) error {
			lc := d.Event.GetLifecycle()
			if lc == nil {
				return nil
			}
			region, id, err := keys(d)
			if err != nil {
				return err
			}
			var old seen
			raw, ok, err := b.Get(LifecycleKey(region, id))
			if err != nil {
				return err
			}
			if ok {
				if err := json.Unmarshal(raw, &old); err != nil {
					return events.Permanent(fmt.Errorf("decode %s: %w", LifecycleKey(region, id), err))
				}
				if lc.GetVersion() < old.Version {
					return nil
				}
			}
			form, ok, err := b.Get(DisputeKey(region, id))
			if err != nil {
				return err
			}
			if !ok {
				return events.NotYet(fmt.Errorf("%w: %s", dispute.ErrNotFound, dispute.Name(region, id)))
			}
			dp, err := decode(id, form)
			if err != nil {
				return events.Permanent(err)
			}
			now := seen{Version: lc.GetVersion(), State: lc.GetState(), Readers: lc.GetReaders(), Guests: lc.GetGuestReaders(), Stages: old.Stages}
			if lc.GetDueTime() != nil {
				now.Due = lc.GetDueTime().AsTime()
			}
			if lc.GetState() != old.State {
				now.Stages = append(slices.Clip(old.Stages), Stage{State: lc.GetState(), Time: d.Event.GetTime().AsTime()})
			}
			enc, _ := json.Marshal(now)
			b.Set(LifecycleKey(region, id), enc, 0)
			score := float64(dp.GetRegisterTime().AsTime().UnixMilli())
			member := indexMember(id)
			closes := lc.GetState() == typesv1.DisputeState_DISPUTE_STATE_CLOSED && old.State != typesv1.DisputeState_DISPUTE_STATE_CLOSED
			// The holders set is the dispute's own; the department and
			// open-dispute indexes are shared by the region's disputes, so
			// they are written once per batch (events.Batch.ZAdd).
			var gone, added []string
			for _, dep := range old.Readers {
				if !slices.Contains(now.Readers, dep) {
					gone = append(gone, dep)
					b.ZRem(DepartmentIndexKey(region, dep), member)
				}
			}
			for _, dep := range now.Readers {
				// A reader the last applied event already had is in both
				// indexes: they were written with its record.
				if !slices.Contains(old.Readers, dep) {
					added = append(added, dep)
					b.ZAdd(DepartmentIndexKey(region, dep), score, member)
				}
			}
			if len(gone) > 0 || len(added) > 0 {
				b.Do(func(ctx context.Context, p redis.Pipeliner) {
					for _, dep := range gone {
						p.SRem(ctx, HoldersKey(region, id), dep)
					}
					for _, dep := range added {
						p.SAdd(ctx, HoldersKey(region, id), dep)
					}
				})
			}
			if closes {
				for _, k := range openIndexes(region, dp) {
					b.ZRem(k, id)
				}
			}
			return nil
		},
	}
}
