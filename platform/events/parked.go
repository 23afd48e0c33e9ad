package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
)

// Services are the platform's services. Each consumes the others' events
// through a consumer group named like itself, and parks what it cannot
// process in ParkedStream(stream, <service>).
var Services = []string{"intake", "routing", "meeting", "archive"}

// Fields of a parked entry (written by Consumer.park). Every field of the
// original entry is kept as ParkedOrigPrefix + its name.
const (
	ParkedFieldEntry  = "entry"
	ParkedFieldStream = "stream"
	ParkedFieldError  = "error"
	ParkedOrigPrefix  = "orig_"
)

// Errors of the parked-entry operations; ParkedError unwraps to them.
var (
	// ErrParkedNotFound: the parked stream has no entry with that id.
	ErrParkedNotFound = errors.New("parked entry not found")
	// ErrNotReplayable: the parked entry lacks the original event, names a
	// source stream other than the one its parked stream belongs to, or is
	// older than the apply-once markers that make a replay safe.
	ErrNotReplayable = errors.New("parked entry cannot be replayed")
)

// ParkedError is a refused operation on one parked entry.
type ParkedError struct {
	// ParkedStream and ParkedID name the entry.
	ParkedStream, ParkedID string
	// Err is ErrParkedNotFound or ErrNotReplayable.
	Err error
	// Detail says why, when Err alone does not.
	Detail string
}

func (e *ParkedError) Error() string {
	msg := fmt.Sprintf("%s in %s: %v", e.ParkedID, e.ParkedStream, e.Err)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

func (e *ParkedError) Unwrap() error { return e.Err }

// Parked is one parked entry.
type Parked struct {
	// ParkedStream is the stream it is parked in, ParkedID its id there.
	ParkedStream, ParkedID string
	// Stream is the stream it was read from, Entry its id there.
	Stream, Entry string
	// Group is the consumer group that parked it.
	Group string
	// Error is why it was parked.
	Error string
	// EventID and Type are the original entry's id and type fields.
	EventID, Type string
	// Dispute is the decoded event's dispute name; empty when the event is
	// about no dispute or cannot be decoded.
	Dispute string
	// Time is when it was parked: the time of its parked entry id, which
	// Redis gives it on XADD.
	Time time.Time
	// Replayable reports whether the original event is kept, so that
	// ReplayParked can put it back.
	Replayable bool
}

const parkedInfix = ":parked:"

// SplitParkedStream returns the source stream and the group of a parked
// stream key; ok is false when key is not one.
func SplitParkedStream(key string) (stream, group string, ok bool) {
	i := strings.LastIndex(key, parkedInfix)
	if i <= 0 || !strings.HasSuffix(key[:i], ":events") {
		return "", "", false
	}
	group = key[i+len(parkedInfix):]
	if group == "" || strings.Contains(group, ":") {
		return "", "", false
	}
	return key[:i], group, true
}

// ParkedStreams returns the parked streams of a region, sorted.
func ParkedStreams(ctx context.Context, rdb redis.UniversalClient, region string) ([]string, error) {
	// The region becomes part of a glob pattern: escape what SCAN would
	// read as pattern syntax.
	pattern := "*:{" + globEscape(region) + "}:events" + parkedInfix + "*"
	found, err := ScanRegion(ctx, rdb, region, pattern, 500)
	if err != nil {
		return nil, fmt.Errorf("scan parked streams of region %s: %w", region, err)
	}
	var keys []string
	for _, k := range found {
		if _, _, ok := SplitParkedStream(k); ok {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// CountParked returns the length of each parked stream of a region.
func CountParked(ctx context.Context, rdb redis.UniversalClient, region string) (map[string]int64, error) {
	keys, err := ParkedStreams(ctx, rdb, region)
	if err != nil {
		return nil, err
	}
	cmds := make([]*redis.IntCmd, len(keys))
	_, err = rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = pipe.XLen(ctx, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count parked entries of region %s: %w", region, err)
	}
	counts := make(map[string]int64, len(keys))
	for i, k := range keys {
		counts[k] = cmds[i].Val()
	}
	return counts, nil
}

// ListParked returns up to count entries of a parked stream from id start
// on ("" for the first; count <= 0 for all), and the id to pass as start
// for the next page, "" after the last.
func ListParked(ctx context.Context, rdb redis.UniversalClient, parkedStream, start string, count int64) ([]Parked, string, error) {
	if start == "" {
		start = "-"
	}
	var (
		msgs []redis.XMessage
		err  error
	)
	if count > 0 {
		msgs, err = rdb.XRangeN(ctx, parkedStream, start, "+", count+1).Result()
	} else {
		msgs, err = rdb.XRange(ctx, parkedStream, start, "+").Result()
	}
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", parkedStream, err)
	}
	next := ""
	if count > 0 && int64(len(msgs)) > count {
		next = msgs[count].ID
		msgs = msgs[:count]
	}
	out := make([]Parked, len(msgs))
	for i, m := range msgs {
		out[i] = parsedParked(parkedStream, m)
	}
	return out, next, nil
}

// parsedParked reads a parked entry. It never fails: an entry that cannot
// be fully read is still listed, so it can be dropped.
func parsedParked(parkedStream string, m redis.XMessage) Parked {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	p := Parked{
		ParkedStream: parkedStream,
		ParkedID:     m.ID,
		Stream:       str(ParkedFieldStream),
		Entry:        str(ParkedFieldEntry),
		Error:        str(ParkedFieldError),
		EventID:      str(ParkedOrigPrefix + FieldID),
		Type:         str(ParkedOrigPrefix + FieldType),
	}
	if _, g, ok := SplitParkedStream(parkedStream); ok {
		p.Group = g
	}
	p.Time, _ = entryTime(m.ID)
	raw, ok := m.Values[ParkedOrigPrefix+FieldEvent].(string)
	p.Replayable = ok
	ev := &eventv1.Event{}
	if ok && proto.Unmarshal([]byte(raw), ev) == nil {
		p.Dispute = ev.GetDispute()
		if p.EventID == "" {
			p.EventID = ev.GetId()
		}
		if p.Type == "" {
			p.Type = ev.GetType()
		}
	}
	return p
}

// GetParked returns one parked entry, or a ParkedError with
// ErrParkedNotFound.
func GetParked(ctx context.Context, rdb redis.UniversalClient, parkedStream, parkedID string) (Parked, error) {
	msgs, err := rdb.XRangeN(ctx, parkedStream, parkedID, parkedID, 1).Result()
	if err != nil {
		return Parked{}, fmt.Errorf("read %s %s: %w", parkedStream, parkedID, err)
	}
	if len(msgs) == 0 {
		return Parked{}, &ParkedError{ParkedStream: parkedStream, ParkedID: parkedID, Err: ErrParkedNotFound}
	}
	return parsedParked(parkedStream, msgs[0]), nil
}

// replayWindow is how long after publishing an event can be replayed: the
// groups that applied it must still hold their apply-once markers (kept
// MarkerTTL from applying, which comes after publishing) while they read it
// again; an hour is left for that.
const replayWindow = MarkerTTL - time.Hour

// entryTime returns the time of a stream entry id ("<ms>-<seq>").
func entryTime(id any) (time.Time, bool) {
	s, _ := id.(string)
	ms, _, ok := strings.Cut(s, "-")
	if !ok {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(n).UTC(), true
}

// ReplayParked puts a parked entry's original fields back on its source
// stream and deletes it from the parked stream, in one MULTI/EXEC (both keys
// carry the region's hash tag). Every group reads the new entry; consumers
// apply each event once by its id, so the groups that applied it already
// skip it and the group that parked it applies it now. An entry that is
// missing, lacks its original event, names another source stream or was
// published too long ago for the groups' markers to be kept is refused
// with a ParkedError.
func ReplayParked(ctx context.Context, rdb redis.UniversalClient, parkedStream, parkedID string) error {
	source, _, ok := SplitParkedStream(parkedStream)
	if !ok {
		return fmt.Errorf("%q is not a parked stream (<service>:{<region>}:events:parked:<group>)", parkedStream)
	}
	refuse := func(err error, detail string) error {
		return &ParkedError{ParkedStream: parkedStream, ParkedID: parkedID, Err: err, Detail: detail}
	}
	// WATCH the parked stream: replaying the same entry twice at once (two
	// operators, a retried command) must not publish it twice.
	for attempt := 0; attempt < 20; attempt++ {
		err := rdb.Watch(ctx, func(tx *redis.Tx) error {
			msgs, err := tx.XRangeN(ctx, parkedStream, parkedID, parkedID, 1).Result()
			if err != nil {
				return fmt.Errorf("read %s %s: %w", parkedStream, parkedID, err)
			}
			if len(msgs) == 0 {
				return refuse(ErrParkedNotFound, "")
			}
			m := msgs[0]
			if _, ok := m.Values[ParkedOrigPrefix+FieldEvent].(string); !ok {
				return refuse(ErrNotReplayable, "it has no "+ParkedOrigPrefix+FieldEvent+" field")
			}
			if s, _ := m.Values[ParkedFieldStream].(string); s != "" && s != source {
				return refuse(ErrNotReplayable, fmt.Sprintf("it names source stream %s, not %s", s, source))
			}
			if published, ok := entryTime(m.Values[ParkedFieldEntry]); ok && time.Since(published) > replayWindow {
				return refuse(ErrNotReplayable, fmt.Sprintf("published %s, longer ago than the groups keep their apply-once markers",
					published.Format(time.RFC3339)))
			}
			orig := map[string]any{}
			for k, v := range m.Values {
				if name, ok := strings.CutPrefix(k, ParkedOrigPrefix); ok && name != "" {
					orig[name] = v
				}
			}
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.XAdd(ctx, &redis.XAddArgs{Stream: source, Values: orig})
				pipe.XDel(ctx, parkedStream, parkedID)
				return nil
			})
			return err
		}, parkedStream)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		var pe *ParkedError
		if err != nil && !errors.As(err, &pe) {
			return fmt.Errorf("replay %s %s: %w", parkedStream, parkedID, err)
		}
		return err
	}
	return fmt.Errorf("replay %s %s: the parked stream keeps changing; try again", parkedStream, parkedID)
}

// DropParked deletes a parked entry for good, or returns a ParkedError
// with ErrParkedNotFound.
func DropParked(ctx context.Context, rdb redis.UniversalClient, parkedStream, parkedID string) error {
	n, err := rdb.XDel(ctx, parkedStream, parkedID).Result()
	if err != nil {
		return fmt.Errorf("drop %s %s: %w", parkedStream, parkedID, err)
	}
	if n == 0 {
		return &ParkedError{ParkedStream: parkedStream, ParkedID: parkedID, Err: ErrParkedNotFound}
	}
	return nil
}
