package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// The lists read indexes, never the region's records: one sorted set per
// list a caller can ask for, every member at score 0 so the set is ordered
// by id. Ids are time-ordered to the millisecond (events.NewID), so an
// index lists oldest first (ids of one millisecond in a fixed order) and a
// page continues after the last id of the one before.

func index(region string, parts ...string) string {
	return events.Key(Service, region, append([]string{"idx"}, parts...)...)
}

func disputeID(name string) string {
	_, id, err := names.DisputeID(name)
	if err != nil {
		return name
	}
	return id
}

func meetingIndex(region string, f MeetingFilter) string {
	switch {
	case f.Dispute != "":
		return index(region, "dispute-meetings", disputeID(f.Dispute))
	case f.Unit != "":
		return index(region, "unit-meetings", f.Unit)
	case f.Kind != 0:
		return index(region, "meetings", "kind", strconv.Itoa(int(f.Kind)))
	}
	return index(region, "meetings")
}

func approvalIndex(region string, f ApprovalFilter) string {
	switch {
	case f.Dispute != "":
		return index(region, "dispute-approvals", disputeID(f.Dispute))
	case f.ApprovedOnly:
		return index(region, "approvals", "approved")
	case f.State == ApprovalPending:
		return index(region, "approvals", "pending")
	case f.State == ApprovalDecided:
		return index(region, "approvals", "decided")
	}
	return index(region, "approvals")
}

func warningIndex(region, unit string, state WarningState) string {
	scope := "all"
	if unit != "" {
		scope = "to:" + unit
	}
	return index(region, "warnings", scope, string(state))
}

func zadd(ctx context.Context, p redis.Pipeliner, key, id string) {
	p.ZAdd(ctx, key, redis.Z{Member: id})
}

func indexMeeting(ctx context.Context, p redis.Pipeliner, region string, mt *office.Meeting) {
	zadd(ctx, p, meetingIndex(region, MeetingFilter{}), mt.ID)
	zadd(ctx, p, meetingIndex(region, MeetingFilter{Kind: mt.KindOf()}), mt.ID)
	for _, u := range mt.InvitedUnits {
		zadd(ctx, p, meetingIndex(region, MeetingFilter{Unit: u}), mt.ID)
	}
	for _, d := range mt.Disputes {
		zadd(ctx, p, meetingIndex(region, MeetingFilter{Dispute: d}), mt.ID)
	}
}

func indexApproval(ctx context.Context, p redis.Pipeliner, region string, a *office.Approval) {
	zadd(ctx, p, approvalIndex(region, ApprovalFilter{}), a.ID)
	zadd(ctx, p, approvalIndex(region, ApprovalFilter{Dispute: a.Dispute}), a.ID)
	pending := approvalIndex(region, ApprovalFilter{State: ApprovalPending})
	if !a.Decided {
		zadd(ctx, p, pending, a.ID)
		return
	}
	p.ZRem(ctx, pending, a.ID)
	zadd(ctx, p, approvalIndex(region, ApprovalFilter{State: ApprovalDecided}), a.ID)
	if a.Approved {
		zadd(ctx, p, approvalIndex(region, ApprovalFilter{ApprovedOnly: true}), a.ID)
	}
}

// indexWarning puts the warning in the lists of its state, region-wide and
// for each unit addressed, and out of those of the other state: disputes
// added after an acknowledgement move it back to pending.
func indexWarning(z sortedSets, region string, w *office.MassWarning) {
	in, out := WarningAcknowledged, WarningPending
	if w.Pending() {
		in, out = out, in
	}
	for _, unit := range append([]string{""}, w.AddressedTo...) {
		z.ZAdd(warningIndex(region, unit, WarningAny), 0, w.ID)
		z.ZRem(warningIndex(region, unit, out), w.ID)
		z.ZAdd(warningIndex(region, unit, in), 0, w.ID)
	}
}

// sortedSets queues sorted-set writes: *events.Batch (the event consumer's
// batch, which writes each index once per batch) or pipeSets.
type sortedSets interface {
	ZAdd(key string, score float64, member string)
	ZRem(key, member string)
}

// pipeSets queues sorted-set writes on a pipeline.
type pipeSets struct {
	ctx  context.Context
	pipe redis.Pipeliner
}

func (p pipeSets) ZAdd(key string, score float64, member string) {
	p.pipe.ZAdd(p.ctx, key, redis.Z{Score: score, Member: member})
}
func (p pipeSets) ZRem(key, member string) { p.pipe.ZRem(p.ctx, key, member) }

// MeetingFilter selects meetings; zero fields select all.
type MeetingFilter struct {
	// Dispute on the agenda.
	Dispute string
	// Unit invited.
	Unit string
	// Kind of meeting (0: any).
	Kind office.Kind
}

func (f MeetingFilter) keep(mt *office.Meeting) bool {
	return (f.Dispute == "" || containsString(mt.Disputes, f.Dispute)) &&
		(f.Unit == "" || mt.Invites(f.Unit)) &&
		(f.Kind == 0 || mt.KindOf() == f.Kind)
}

// ApprovalState selects approvals by state.
type ApprovalState int

// Approval states of a filter.
const (
	ApprovalAny     ApprovalState = 0
	ApprovalPending ApprovalState = 1
	ApprovalDecided ApprovalState = 2
)

// ApprovalFilter selects approval requests; zero fields select all.
type ApprovalFilter struct {
	Dispute string
	State   ApprovalState
	// ApprovedOnly keeps the approved ones (the platform's view).
	ApprovedOnly bool
}

func (f ApprovalFilter) keep(a *office.Approval) bool {
	return (f.Dispute == "" || a.Dispute == f.Dispute) &&
		(f.State != ApprovalPending || !a.Decided) &&
		(f.State != ApprovalDecided || a.Decided) &&
		(!f.ApprovedOnly || (a.Decided && a.Approved))
}

// WarningState selects mass-dispute warnings by state.
type WarningState string

// Warning states of a filter.
const (
	WarningAny          WarningState = "any"
	WarningPending      WarningState = "pending"
	WarningAcknowledged WarningState = "acknowledged"
)

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// listChunk is how many ids a list reads from an index at a time.
const listChunk = 64

// list reads up to limit records of index after the id after, in id order,
// keeping those keep accepts; next is the id to continue after, "" on the
// last page. An id whose record is gone is passed over.
func list[T any](ctx context.Context, rdb redis.UniversalClient, idx string, recKey func(string) string,
	after string, limit int, keep func(*T) bool) (out []*T, next string, err error) {
	start := "-"
	if after != "" {
		start = "(" + after
	}
	var ids []string
	for {
		chunk, err := rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: idx, Start: start, Stop: "+", ByLex: true, Count: listChunk}).Result()
		if err != nil {
			return nil, "", fmt.Errorf("read index %s: %w", idx, err)
		}
		if len(chunk) == 0 {
			break
		}
		keys := make([]string, len(chunk))
		for i, id := range chunk {
			keys[i] = recKey(id)
		}
		vals, err := rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, "", fmt.Errorf("read records of %s: %w", idx, err)
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue
			}
			rec := new(T)
			if err := json.Unmarshal([]byte(s), rec); err != nil {
				return nil, "", fmt.Errorf("decode %s: %w", keys[i], err)
			}
			if keep != nil && !keep(rec) {
				continue
			}
			if len(out) == limit {
				// One more exists: the page ends at the last one kept.
				return out, ids[len(ids)-1], nil
			}
			out, ids = append(out, rec), append(ids, chunk[i])
		}
		if len(chunk) < listChunk {
			break
		}
		start = "(" + chunk[len(chunk)-1]
	}
	return out, "", nil
}

// get reads one record, reporting false when there is none.
func (s *Store) get(ctx context.Context, key string, v any) (bool, error) {
	b, err := s.rdb.Get(ctx, key).Bytes()
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

// Meeting reads meeting id of region, nil when there is none.
func (s *Store) Meeting(ctx context.Context, region, id string) (*office.Meeting, error) {
	mt := &office.Meeting{}
	if ok, err := s.get(ctx, meetingKey(region, id), mt); !ok || err != nil {
		return nil, err
	}
	return mt, nil
}

// Approval reads approval id of region, nil when there is none.
func (s *Store) Approval(ctx context.Context, region, id string) (*office.Approval, error) {
	a := &office.Approval{}
	if ok, err := s.get(ctx, approvalKey(region, id), a); !ok || err != nil {
		return nil, err
	}
	return a, nil
}

// ListMeetings lists region's meetings that f selects, after the id after.
func (s *Store) ListMeetings(ctx context.Context, region string, f MeetingFilter, after string, limit int) ([]*office.Meeting, string, error) {
	return list(ctx, s.rdb, meetingIndex(region, f), func(id string) string { return meetingKey(region, id) }, after, limit, f.keep)
}

// ListApprovals lists region's approval requests that f selects, after the
// id after.
func (s *Store) ListApprovals(ctx context.Context, region string, f ApprovalFilter, after string, limit int) ([]*office.Approval, string, error) {
	if f.ApprovedOnly && f.State == ApprovalPending {
		return nil, "", nil // an approved request is never pending
	}
	return list(ctx, s.rdb, approvalIndex(region, f), func(id string) string { return approvalKey(region, id) }, after, limit, f.keep)
}

// ListWarnings lists region's mass-dispute warnings in state, those
// addressed to unit (all when unit is empty), after the id after.
func (s *Store) ListWarnings(ctx context.Context, region, unit string, state WarningState, after string, limit int) ([]*office.MassWarning, string, error) {
	return list[office.MassWarning](ctx, s.rdb, warningIndex(region, unit, state), func(id string) string { return warningKey(region, id) }, after, limit, nil)
}
