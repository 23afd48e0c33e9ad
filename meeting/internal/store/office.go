package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
)

// maxAttempts bounds the retries of an optimistic transaction that keeps
// meeting concurrent writers.
const maxAttempts = 50

// matterKey is the key of the office's view of a dispute, by its id "<year>-<n>".
func matterKey(region, name string) (string, error) {
	_, id, err := names.DisputeID(name)
	if err != nil {
		return "", err
	}
	return events.Key(Service, region, "matter", id), nil
}

func meetingKey(region, id string) string  { return events.Key(Service, region, "meeting", id) }
func approvalKey(region, id string) string { return events.Key(Service, region, "approval", id) }
func requestKey(region, id string) string  { return events.Key(Service, region, "convene-request", id) }
func warningKey(region, id string) string  { return events.Key(Service, region, "mass-warning", id) }

// Reader reads a region's office records inside a transaction: each key read
// is watched, so the writes commit only if nothing read changed meanwhile.
type Reader struct {
	ctx    context.Context
	tx     *redis.Tx
	region string
}

func (r *Reader) load(key string, v any) (bool, error) {
	// The WATCH goes with the read, in one round trip. The update watched
	// its region's anchor first, so a connection it leaves without EXEC is
	// unwatched, these keys too.
	pipe := r.tx.Pipeline()
	watch := pipe.Do(r.ctx, "watch", key)
	get := pipe.Get(r.ctx, key)
	_, _ = pipe.Exec(r.ctx) // each command's own error is read below
	if err := watch.Err(); err != nil {
		return false, fmt.Errorf("watch %s: %w", key, err)
	}
	b, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

// Matter returns the office's view of dispute name, nil when the office
// has not heard of it.
func (r *Reader) Matter(name string) (*office.Matter, error) {
	key, err := matterKey(r.region, name)
	if err != nil {
		return nil, err
	}
	m := &office.Matter{}
	ok, err := r.load(key, m)
	if !ok || err != nil {
		return nil, err
	}
	return m, nil
}

// Meeting returns meeting id, nil when there is none.
func (r *Reader) Meeting(id string) (*office.Meeting, error) {
	mt := &office.Meeting{}
	ok, err := r.load(meetingKey(r.region, id), mt)
	if !ok || err != nil {
		return nil, err
	}
	return mt, nil
}

// Approval returns approval id, nil when there is none.
func (r *Reader) Approval(id string) (*office.Approval, error) {
	a := &office.Approval{}
	ok, err := r.load(approvalKey(r.region, id), a)
	if !ok || err != nil {
		return nil, err
	}
	return a, nil
}

// Warning returns mass-dispute warning id, nil when there is none.
func (r *Reader) Warning(id string) (*office.MassWarning, error) {
	w := &office.MassWarning{}
	ok, err := r.load(warningKey(r.region, id), w)
	if !ok || err != nil {
		return nil, err
	}
	return w, nil
}

// ConvenedFor returns the id of the meeting convened with request id reqID
// ("" when none).
func (r *Reader) ConvenedFor(reqID string) (string, error) {
	var id string
	_, err := r.load(requestKey(r.region, reqID), &id)
	return id, err
}

// Writes is what a command changes: records to store and the events that
// describe the change, all committed in one MULTI/EXEC.
type Writes struct {
	Matters   []*office.Matter
	Meetings  []*office.Meeting
	Approvals []*office.Approval
	Warnings  []*office.MassWarning
	// Request maps a convene request id to the meeting it created.
	Request *ConveneRequest
	Events  []*eventv1.Event
}

// ConveneRequest records which meeting a convene request created.
type ConveneRequest struct{ ID, Meeting string }

func set(ctx context.Context, pipe redis.Pipeliner, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	pipe.Set(ctx, key, b, 0)
	return nil
}

func (w *Writes) queue(ctx context.Context, pipe redis.Pipeliner, region string) error {
	for _, m := range w.Matters {
		key, err := matterKey(region, m.Name)
		if err != nil {
			return err
		}
		if err := set(ctx, pipe, key, m); err != nil {
			return err
		}
	}
	for _, mt := range w.Meetings {
		if err := set(ctx, pipe, meetingKey(region, mt.ID), mt); err != nil {
			return err
		}
		indexMeeting(ctx, pipe, region, mt)
	}
	for _, a := range w.Approvals {
		if err := set(ctx, pipe, approvalKey(region, a.ID), a); err != nil {
			return err
		}
		indexApproval(ctx, pipe, region, a)
	}
	for _, w := range w.Warnings {
		if err := set(ctx, pipe, warningKey(region, w.ID), w); err != nil {
			return err
		}
		indexWarning(pipeSets{ctx, pipe}, region, w)
	}
	if w.Request != nil {
		if err := set(ctx, pipe, requestKey(region, w.Request.ID), w.Request.Meeting); err != nil {
			return err
		}
	}
	for _, ev := range w.Events {
		if err := events.Append(ctx, pipe, Stream(region), ev); err != nil {
			return err
		}
	}
	return nil
}

// Update runs a command on region's records: fn reads through r and returns
// the writes (nil for none), which commit with their events in one
// MULTI/EXEC only if nothing fn read changed meanwhile; otherwise fn runs
// again on the new records. An error from fn is returned as is.
func (s *Store) Update(ctx context.Context, region string, fn func(r *Reader) (*Writes, error)) error {
	err := s.update(ctx, region, fn)
	if s.awaitRouting == nil || !stale(err) {
		return err
	}
	// The office's view may be behind routing: a dispute routed to the
	// office a moment ago is not known yet, or still in its former state.
	// Judge it again once the view has caught up (docs/ARCHITECTURE.md,
	// "Reading your own writes").
	if werr := s.awaitRouting(ctx, region); werr != nil {
		return err
	}
	return s.update(ctx, region, fn)
}

// stale reports whether err may come from an office view behind routing.
func stale(err error) bool {
	var nf *office.NotFoundError
	var pe *office.PreconditionError
	return (errors.As(err, &nf) && nf.Reason == office.ReasonDisputeNotFound) ||
		(errors.As(err, &pe) && pe.Reason == office.ReasonIllegalState)
}

// AwaitRouting sets how Update waits for the office's view to catch up
// with routing's events before it refuses a dispute as unknown or in the
// wrong state.
func (s *Store) AwaitRouting(fn func(ctx context.Context, region string) error) { s.awaitRouting = fn }

// regionAnchor is a key of the region's hash slot that nothing writes: an
// update watches it first, so a Redis Cluster client knows the node of the
// transaction before the Reader names the keys it reads (a cluster's WATCH
// needs a key; docs/ARCHITECTURE.md, "Scale").
func regionAnchor(region string) string { return events.Key(Service, region, "tx") }

func (s *Store) update(ctx context.Context, region string, fn func(r *Reader) (*Writes, error)) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			w, err := fn(&Reader{ctx: ctx, tx: tx, region: region})
			if err != nil || w == nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				return w.queue(ctx, pipe, region)
			})
			return err
		}, regionAnchor(region))
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return err
	}
	return fmt.Errorf("update in region %s: too much contention", region)
}

// LifecycleHandler applies routing's events to the office's view of their
// disputes (docs/ARCHITECTURE.md, "Consuming events"): the matter takes the
// state, number and registering department routing's Lifecycle reports.
// The office copies routing's account and never works the lifecycle out
// itself; an event no newer than the account applied (a lower or equal
// version) changes nothing, so replicas, redeliveries and retries cannot
// move a matter backwards.
func (s *Store) LifecycleHandler() events.Handler {
	keyOf := func(d *events.Delivery) (string, string, error) {
		name, err := names.CheckDispute(d.Event.GetDispute())
		if err != nil {
			return "", "", events.Permanent(fmt.Errorf("%s event %s: %w", d.Event.GetType(), d.Event.GetId(), err))
		}
		key, err := matterKey(d.Region, name)
		if err != nil {
			return "", "", events.Permanent(err)
		}
		return name, key, nil
	}
	return events.HandlerFuncs{
		// The record keeps the Lifecycle's version and an event not newer
		// changes nothing: no apply-once marker is needed.
		ByVersion: true,
		KeysFunc: func(d *events.Delivery) ([]string, error) {
			if d.Event.GetLifecycle() == nil {
				return nil, nil
			}
			_, key, err := keyOf(d)
			if err != nil {
				return nil, err
			}
			return []string{key}, nil
		},
		ApplyFunc: func(b *events.Batch, d *events.Delivery) error {
			lc := d.Event.GetLifecycle()
			if lc == nil {
				return nil
			}
			name, key, err := keyOf(d)
			if err != nil {
				return err
			}
			m := &office.Matter{Name: name}
			raw, ok, err := b.Get(key)
			if err != nil {
				return err
			}
			if ok {
				if err := json.Unmarshal(raw, m); err != nil {
					return events.Permanent(fmt.Errorf("decode %s: %w", key, err))
				}
			}
			if !m.Follow(lc.GetVersion(), lc.GetState(), lc.GetNumber(), lc.GetRegisteringDepartment()) {
				return nil
			}
			m.AwaitingReceipt = lc.GetOfficeReceiptPending()
			enc, err := json.Marshal(m)
			if err != nil {
				return err
			}
			b.Set(key, enc, 0)
			return nil
		},
	}
}
