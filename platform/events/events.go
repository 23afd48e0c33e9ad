// Package events publishes and consumes the platform's domain events.
//
// Every state change is written together with its event in one atomic Redis
// operation: the event is an XADD to the owning service's per-region stream
// queued in the same MULTI/EXEC (or Lua script) as the state change. Other
// services read the streams through consumer groups (at-least-once) and make
// their effects idempotent on the event id with Once.
package events

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
)

// Stream entry field names. Lua scripts that XADD events directly must use
// the same three fields.
const (
	FieldID    = "id"
	FieldType  = "type"
	FieldEvent = "event"
)

// Key returns a Redis key of a service in a region: "<service>:{<region>}:<parts...>".
// The braces make the region a hash tag, so every key of one region lives in
// one Redis Cluster slot and a region's atomic operations stay possible.
func Key(service, region string, parts ...string) string {
	n := len(service) + len(region) + 3 + len(parts)
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(service)
	b.WriteString(":{")
	b.WriteString(region)
	b.WriteString("}")
	for _, p := range parts {
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}

// Stream returns the stream key of a service's events in a region.
func Stream(service, region string) string { return Key(service, region, "events") }

// ParkedStream returns the stream where a consumer group parks entries it
// could not process after MaxDeliveries attempts.
func ParkedStream(stream, group string) string { return stream + ":parked:" + group }

// Marker returns the key that records that a consuming service applied an event.
func Marker(service, region, eventID string) string { return Key(service, region, "seen", eventID) }

var idEncoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// NewID returns a unique, time-ordered event id (48-bit milliseconds and 80
// random bits, Crockford base32, 26 characters).
func NewID(now time.Time) string { return NewIDs(now, 1)[0] }

// NewIDs returns n unique event ids of time now in ascending order, for
// events published together that readers order by time and then id: the
// first is a NewID, each next one the previous plus one in its random bits.
func NewIDs(now time.Time, n int) []string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic(fmt.Sprintf("events: read random: %v", err))
	}
	// Clear the top random bit so n-1 increments cannot carry into the
	// milliseconds.
	b[6] &^= 0x80
	ids := make([]string, n)
	for i := range ids {
		ids[i] = idEncoding.EncodeToString(b[:])
		for j := 15; j >= 6; j-- { // b[6:] + 1, big-endian
			b[j]++
			if b[j] != 0 {
				break
			}
		}
	}
	return ids
}

// ActorOf converts the caller's identity into the Actor recorded on events.
func ActorOf(id authn.Identity) *typesv1.Actor {
	a := &typesv1.Actor{Region: id.Region, Department: id.Department, StaffId: id.Staff}
	for _, r := range id.Roles {
		if v, ok := typesv1.Role_value["ROLE_"+strings.ToUpper(r)]; ok {
			a.Roles = append(a.Roles, typesv1.Role(v))
		}
	}
	return a
}

// New builds an event envelope with a fresh id.
func New(source, region, dispute string, actor *typesv1.Actor, reason string, payload proto.Message, now time.Time) (*eventv1.Event, error) {
	any, err := anypb.New(payload)
	if err != nil {
		return nil, fmt.Errorf("pack %T: %w", payload, err)
	}
	return &eventv1.Event{
		Id:      NewID(now),
		Region:  region,
		Dispute: dispute,
		Type:    string(payload.ProtoReflect().Descriptor().FullName()),
		Payload: any,
		Actor:   actor,
		Time:    timestamppb.New(now),
		Reason:  reason,
		Source:  source,
	}, nil
}

// Values returns the stream entry fields of an event.
func Values(ev *eventv1.Event) (map[string]any, error) {
	b, err := proto.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("marshal event: %w", err)
	}
	return map[string]any{FieldID: ev.GetId(), FieldType: ev.GetType(), FieldEvent: b}, nil
}

// Append queues the XADD of ev on pipe. Called inside TxPipelined, the event
// is written atomically with the state change queued on the same pipe.
func Append(ctx context.Context, pipe redis.Pipeliner, stream string, ev *eventv1.Event) error {
	vals, err := Values(ev)
	if err != nil {
		return err
	}
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: vals})
	return nil
}

// ErrMalformed marks a stream entry that cannot be decoded; consumers park it.
var ErrMalformed = errors.New("malformed event entry")

// Decode parses a stream entry written by Append (or a Lua script using the
// same fields).
func Decode(msg redis.XMessage) (*eventv1.Event, error) {
	raw, ok := msg.Values[FieldEvent].(string)
	if !ok {
		return nil, fmt.Errorf("%w: entry %s has no %q field", ErrMalformed, msg.ID, FieldEvent)
	}
	ev := &eventv1.Event{}
	if err := proto.Unmarshal([]byte(raw), ev); err != nil {
		return nil, fmt.Errorf("%w: entry %s: %v", ErrMalformed, msg.ID, err)
	}
	if ev.GetId() == "" || ev.GetRegion() == "" || ev.GetPayload() == nil {
		return nil, fmt.Errorf("%w: entry %s lacks id, region or payload", ErrMalformed, msg.ID)
	}
	return ev, nil
}

// Payload unpacks the event's payload into a new message of type T.
func Payload[T proto.Message](ev *eventv1.Event) (T, error) {
	var zero T
	m := zero.ProtoReflect().New().Interface().(T)
	if err := ev.GetPayload().UnmarshalTo(m); err != nil {
		return zero, fmt.Errorf("event %s: unpack %s: %w", ev.GetId(), ev.GetType(), err)
	}
	return m, nil
}

// Is reports whether the event's payload is of the message type of m.
func Is(ev *eventv1.Event, m proto.Message) bool {
	return ev.GetType() == string(m.ProtoReflect().Descriptor().FullName())
}

// MarkerTTL is how long an applied-event marker is kept. Redelivery happens
// within minutes; a month leaves room for a consumer that was down for long.
const MarkerTTL = 30 * 24 * time.Hour

// Once applies an event's effect exactly once. It watches marker and the
// given keys, skips when marker exists, and otherwise runs apply's queued
// writes and sets marker in one MULTI/EXEC. apply may read through tx (those
// reads happen before MULTI and are protected by the WATCH). A concurrent
// change of a watched key retries the whole attempt.
func Once(ctx context.Context, rdb redis.UniversalClient, marker string, watch []string,
	apply func(ctx context.Context, tx *redis.Tx, pipe redis.Pipeliner) error) (bool, error) {
	keys := append([]string{marker}, watch...)
	for attempt := 0; attempt < 50; attempt++ {
		applied := false
		err := rdb.Watch(ctx, func(tx *redis.Tx) error {
			n, err := tx.Exists(ctx, marker).Result()
			if err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				if err := apply(ctx, tx, pipe); err != nil {
					return err
				}
				pipe.Set(ctx, marker, 1, MarkerTTL)
				return nil
			})
			if err == nil {
				applied = true
			}
			return err
		}, keys...)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return applied, err
	}
	return false, fmt.Errorf("apply once %s: too much contention", marker)
}

// TypeOf returns the event type of payloads of m's message type, the key of
// a Subscription's Routes.
func TypeOf(m proto.Message) string { return string(m.ProtoReflect().Descriptor().FullName()) }
