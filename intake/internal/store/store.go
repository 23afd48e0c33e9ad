// Package store keeps intake's disputes in Redis: the registration form,
// the per-region-year number sequence, request-id and external-reference
// indexes, the by-time index lists read, and the event stream, each state
// change written together with its event in one atomic operation.
//
// Every key is events.Key("intake", region, ...), so one region's keys share
// the {region} hash tag and one Redis Cluster slot.
package store

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/events"
)

// Service is the key prefix and event source of intake.
const Service = "intake"

//go:embed register.lua
var registerLua string

// Store is intake's Redis storage. It is safe for concurrent use, and any
// number of Stores (one per replica) may share one Redis.
type Store struct {
	rdb      redis.UniversalClient
	register *redis.Script
}

// New returns a Store on rdb.
func New(rdb redis.UniversalClient) *Store {
	return &Store{rdb: rdb, register: redis.NewScript(registerLua)}
}

// DisputeKey returns the key of dispute id's stored form.
func DisputeKey(region, id string) string { return events.Key(Service, region, "dispute", id) }

// SequenceKey returns the key of the region's number sequence for year.
func SequenceKey(region string, year int) string {
	return events.Key(Service, region, "seq", strconv.Itoa(year))
}

// IndexKey returns the key of the region's by-registration-time index.
func IndexKey(region string) string { return events.Key(Service, region, "by-time") }

func requestKey(region, requestID string) string {
	return events.Key(Service, region, "request", requestID)
}

func externalRefKey(region string, ch typesv1.Channel, ref string) string {
	return events.Key(Service, region, "extref", ch.String(), ref)
}

// Registration is one registration to store.
type Registration struct {
	Region, RequestID string
	// Time is the registration time; it sets the numbering year and the
	// index score.
	Time time.Time
	// Dispute is the complete form except its name and number, which the
	// store allocates.
	Dispute *intakev1.Dispute
	// Event is the DisputeRegistered envelope with its dispute field empty;
	// the store fills it with the allocated name.
	Event *eventv1.Event
}

// Register stores r atomically and returns the dispute with its name and
// number. A request id seen before returns the dispute it registered and
// replayed true, without allocating a number. An external reference already
// registered on the same channel is a *dispute.DuplicateRefError, also
// without allocating a number.
func (s *Store) Register(ctx context.Context, r Registration) (d *intakev1.Dispute, replayed bool, err error) {
	if r.Dispute.GetName() != "" || r.Dispute.GetNumber() != "" || r.Event.GetDispute() != "" {
		return nil, false, errors.New("register: name, number and event dispute are allocated by the store")
	}
	form, err := proto.Marshal(r.Dispute)
	if err != nil {
		return nil, false, fmt.Errorf("register: marshal dispute: %w", err)
	}
	env, err := proto.Marshal(r.Event)
	if err != nil {
		return nil, false, fmt.Errorf("register: marshal event: %w", err)
	}
	year := dispute.Year(r.Time)
	keys := []string{
		requestKey(r.Region, r.RequestID),
		SequenceKey(r.Region, year),
		IndexKey(r.Region),
		events.Stream(Service, r.Region),
	}
	ref := r.Dispute.GetExternalRef()
	if ref != "" {
		keys = append(keys, externalRefKey(r.Region, r.Dispute.GetChannel(), ref))
	}
	res, err := s.register.Run(ctx, s.rdb, keys,
		DisputeKey(r.Region, ""), r.Region, strconv.Itoa(year), form, env,
		r.Event.GetId(), r.Event.GetType(), r.Time.UnixMilli()).StringSlice()
	if err != nil {
		return nil, false, fmt.Errorf("register script: %w", err)
	}
	if len(res) < 2 {
		return nil, false, fmt.Errorf("register script: unexpected reply %q", res)
	}
	switch res[0] {
	case "duplicate":
		return nil, false, &dispute.DuplicateRefError{
			Channel: r.Dispute.GetChannel().String(), Ref: ref, Existing: dispute.Name(r.Region, res[1]),
		}
	case "replayed", "created":
		if len(res) != 3 {
			return nil, false, fmt.Errorf("register script: unexpected reply %q", res)
		}
		d := &intakev1.Dispute{}
		if err := proto.Unmarshal([]byte(res[2]), d); err != nil {
			return nil, false, fmt.Errorf("register: decode dispute %s: %w", res[1], err)
		}
		return d, res[0] == "replayed", nil
	}
	return nil, false, fmt.Errorf("register script: unexpected reply %q", res[0])
}

// Get returns dispute id of region, or dispute.ErrNotFound.
func (s *Store) Get(ctx context.Context, region, id string) (*intakev1.Dispute, error) {
	b, err := s.rdb.Get(ctx, DisputeKey(region, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: %s", dispute.ErrNotFound, dispute.Name(region, id))
	}
	if err != nil {
		return nil, fmt.Errorf("get dispute %s: %w", id, err)
	}
	return decode(id, b)
}

func decode(id string, b []byte) (*intakev1.Dispute, error) {
	d := &intakev1.Dispute{}
	if err := proto.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("decode dispute %s: %w", id, err)
	}
	return d, nil
}

// maxAttempts bounds optimistic retries of one update under contention.
const maxAttempts = 50

// Update changes dispute id of region with change and publishes the event
// change returns, in one MULTI/EXEC that fails and retries when the dispute
// changed since it was read. An error from change aborts without writing.
func (s *Store) Update(ctx context.Context, region, id string,
	change func(d *intakev1.Dispute) (*eventv1.Event, error)) (*intakev1.Dispute, error) {
	key := DisputeKey(region, id)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var out *intakev1.Dispute
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			b, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return fmt.Errorf("%w: %s", dispute.ErrNotFound, dispute.Name(region, id))
			}
			if err != nil {
				return fmt.Errorf("get dispute %s: %w", id, err)
			}
			d, err := decode(id, b)
			if err != nil {
				return err
			}
			ev, err := change(d)
			if err != nil {
				return err
			}
			nb, err := proto.Marshal(d)
			if err != nil {
				return fmt.Errorf("marshal dispute %s: %w", id, err)
			}
			if _, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.Set(ctx, key, nb, 0)
				return events.Append(ctx, pipe, events.Stream(Service, region), ev)
			}); err != nil {
				return err
			}
			out = d
			return nil
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return out, err
	}
	return nil, fmt.Errorf("update dispute %s: too much contention", id)
}

// Cursor is a position in the by-time index: the last dispute returned.
type Cursor struct {
	Score int64
	ID    string
}

// Query selects disputes of a region, newest first.
type Query struct {
	Region string
	// From and To bound the registration time to [From, To); zero is open.
	From, To time.Time
	// After continues a previous page; nil starts at the newest.
	After *Cursor
	// Size is the page size.
	Size int
	// Keep filters loaded disputes; nil keeps all.
	Keep func(*intakev1.Dispute) bool
}

// List returns up to q.Size disputes matching q, newest first, scanning the
// index in batches until the page is full or the index ends, and the cursor
// of the next page (nil when the index has nothing after the page).
func (s *Store) List(ctx context.Context, q Query) ([]*intakev1.Dispute, *Cursor, error) {
	var stop any = "-inf"
	if !q.From.IsZero() {
		stop = q.From.UnixMilli()
	}
	// top is the highest score still to scan (inclusive); nil is +inf.
	// Each batch restarts at the last score seen, skipping the entries of
	// that score already seen, so registrations arriving meanwhile (newer,
	// higher scores) cannot shift the scan.
	var top *int64
	if !q.To.IsZero() {
		ms := q.To.UnixMilli() // inclusive; inRange below is exact
		top = &ms
	}
	var afterMember string
	if q.After != nil {
		afterMember = indexMember(q.After.ID)
		if top == nil || q.After.Score < *top {
			ms := q.After.Score
			top = &ms
		}
	}
	batch := max(q.Size, 50)
	index := IndexKey(q.Region)
	var out []*intakev1.Dispute
	for offset := 0; ; {
		var start any = "+inf"
		if top != nil {
			start = *top
		}
		zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: index, Start: start, Stop: stop, ByScore: true, Rev: true, Offset: int64(offset), Count: int64(batch),
		}).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("list %s: read index: %w", q.Region, err)
		}
		var cursors []Cursor
		var keys []string
		for _, z := range zs {
			member, _ := z.Member.(string)
			c := Cursor{Score: int64(z.Score), ID: idOfMember(member)}
			if q.After != nil && c.Score == q.After.Score && member >= afterMember {
				continue // at or before the cursor in newest-first order
			}
			cursors = append(cursors, c)
			keys = append(keys, DisputeKey(q.Region, c.ID))
		}
		if len(keys) > 0 {
			vals, err := s.rdb.MGet(ctx, keys...).Result()
			if err != nil {
				return nil, nil, fmt.Errorf("list %s: load disputes: %w", q.Region, err)
			}
			for i, v := range vals {
				raw, ok := v.(string)
				if !ok {
					continue // indexed but gone: nothing to show
				}
				d, err := decode(cursors[i].ID, []byte(raw))
				if err != nil {
					return nil, nil, err
				}
				if !inRange(d, q.From, q.To) || (q.Keep != nil && !q.Keep(d)) {
					continue
				}
				out = append(out, d)
				if len(out) == q.Size {
					var next *Cursor
					if i < len(vals)-1 || len(zs) == batch {
						c := cursors[i]
						next = &c
					}
					return out, next, nil
				}
			}
		}
		if len(zs) < batch {
			return out, nil, nil
		}
		last := int64(zs[len(zs)-1].Score)
		same := 0
		for _, z := range zs {
			if int64(z.Score) == last {
				same++
			}
		}
		if top != nil && *top == last {
			offset += same
		} else {
			top, offset = &last, same
		}
	}
}

func inRange(d *intakev1.Dispute, from, to time.Time) bool {
	t := d.GetRegisterTime().AsTime()
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

// indexMember is the by-time index member of dispute id "2026-17":
// "2026-000000017", so disputes registered in the same millisecond still
// sort by number.
func indexMember(id string) string {
	year, n, ok := strings.Cut(id, "-")
	if !ok {
		return id
	}
	return year + "-" + strings.Repeat("0", max(0, 9-len(n))) + n
}

func idOfMember(member string) string {
	year, n, ok := strings.Cut(member, "-")
	if !ok {
		return member
	}
	n = strings.TrimLeft(n, "0")
	return year + "-" + n
}
