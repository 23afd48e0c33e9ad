package events_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// parkByHand writes ev to stream and parks that entry for group in the
// format Consumer.park writes, returning the parked entry's id.
func parkByHand(t *testing.T, rdb *redis.Client, stream, group string, ev *eventv1.Event, why string) string {
	t.Helper()
	ctx := context.Background()
	vals, err := events.Values(ev)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: vals}).Result()
	if err != nil {
		t.Fatal(err)
	}
	parked := map[string]any{"entry": entry, "stream": stream, "error": why}
	for k, v := range vals {
		parked["orig_"+k] = v
	}
	id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: events.ParkedStream(stream, group), Values: parked}).Result()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSplitParkedStream(t *testing.T) {
	tests := []struct {
		key, stream, group string
		ok                 bool
	}{
		{"routing:{141181}:events:parked:intake", "routing:{141181}:events", "intake", true},
		{"routing:{141181}:events:parked:", "", "", false},
		{"routing:{141181}:seen:parked:intake", "", "", false},
		{"routing:{141181}:events", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			s, g, ok := events.SplitParkedStream(tt.key)
			if s != tt.stream || g != tt.group || ok != tt.ok {
				t.Fatalf("SplitParkedStream = %q, %q, %v; want %q, %q, %v", s, g, ok, tt.stream, tt.group, tt.ok)
			}
		})
	}
}

func TestParkedListReplayDrop(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)

	routing := events.Stream("routing", "141181")
	intake := events.Stream("intake", "141181")
	evs := []*eventv1.Event{
		newEvent(t, "regions/141181/disputes/2026-1"),
		newEvent(t, "regions/141181/disputes/2026-2"),
		newEvent(t, "regions/141181/disputes/2026-3"),
	}
	var ids []string
	for _, ev := range evs {
		ids = append(ids, parkByHand(t, rdb, routing, "intake", ev, "delivered 6 times"))
	}
	archived := parkByHand(t, rdb, intake, "archive", newEvent(t, "regions/141181/disputes/2026-4"), "delivered 6 times")
	// An undecodable entry as the consumer parks it: no orig_event to replay.
	routingParked := events.ParkedStream(routing, "intake")
	broken, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: routingParked,
		Values: map[string]any{"entry": "1-1", "stream": routing, "error": "malformed event entry", "orig_junk": "x"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	// Another region's parked entry is not listed.
	parkByHand(t, rdb, events.Stream("routing", "140100"), "intake", newEvent(t, "regions/140100/disputes/2026-1"), "x")

	streams, err := events.ParkedStreams(ctx, rdb, "141181")
	if err != nil {
		t.Fatal(err)
	}
	intakeParked := events.ParkedStream(intake, "archive")
	if d := cmp.Diff([]string{intakeParked, routingParked}, streams); d != "" {
		t.Fatalf("ParkedStreams (-want +got):\n%s", d)
	}
	counts, err := events.CountParked(ctx, rdb, "141181")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int64{intakeParked: 1, routingParked: 4}, counts); d != "" {
		t.Fatalf("CountParked (-want +got):\n%s", d)
	}

	// Two pages of two.
	page1, next, err := events.ListParked(ctx, rdb, routingParked, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	page2, last, err := events.ListParked(ctx, rdb, routingParked, next, 2)
	if err != nil {
		t.Fatal(err)
	}
	if next != ids[2] || last != "" {
		t.Fatalf("next tokens %q, %q; want %q, \"\"", next, last, ids[2])
	}
	got := append(page1, page2...)
	var want []events.Parked
	for i, ev := range evs {
		want = append(want, events.Parked{ParkedStream: routingParked, ParkedID: ids[i], Stream: routing, Group: "intake",
			Error: "delivered 6 times", EventID: ev.GetId(), Type: ev.GetType(), Dispute: ev.GetDispute(), Replayable: true})
	}
	want = append(want, events.Parked{ParkedStream: routingParked, ParkedID: broken, Stream: routing, Entry: "1-1",
		Group: "intake", Error: "malformed event entry"})
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(events.Parked{}, "Entry", "Time")); d != "" {
		t.Fatalf("ListParked (-want +got):\n%s", d)
	}
	for _, p := range got {
		if p.Time.Before(before) || p.Time.After(time.Now().Add(time.Second)) {
			t.Errorf("parked %s at %v, want about now", p.ParkedID, p.Time)
		}
	}

	// Replay puts the original fields back on the source stream and removes
	// the parked entry.
	if err := events.ReplayParked(ctx, rdb, routingParked, ids[0]); err != nil {
		t.Fatal(err)
	}
	tail, err := rdb.XRevRangeN(ctx, routing, "+", "-", 1).Result()
	if err != nil {
		t.Fatal(err)
	}
	replayed, err := events.Decode(tail[0])
	if err != nil {
		t.Fatal(err)
	}
	if replayed.GetId() != evs[0].GetId() || tail[0].ID == got[0].Entry || tail[0].Values["id"] != evs[0].GetId() ||
		tail[0].Values["type"] != evs[0].GetType() || len(tail[0].Values) != 3 {
		t.Fatalf("replayed entry %s %v, want a new entry of event %s", tail[0].ID, tail[0].Values, evs[0].GetId())
	}
	if _, err := events.GetParked(ctx, rdb, routingParked, ids[0]); !errors.Is(err, events.ErrParkedNotFound) {
		t.Fatalf("GetParked after replay: %v, want ErrParkedNotFound", err)
	}

	// Refusals.
	var pe *events.ParkedError
	err = events.ReplayParked(ctx, rdb, routingParked, ids[0])
	if !errors.Is(err, events.ErrParkedNotFound) || !errors.As(err, &pe) || pe.ParkedID != ids[0] {
		t.Fatalf("second replay: %v, want a ParkedError with ErrParkedNotFound", err)
	}
	if err := events.ReplayParked(ctx, rdb, routingParked, broken); !errors.Is(err, events.ErrNotReplayable) {
		t.Fatalf("replay without orig_event: %v, want ErrNotReplayable", err)
	}
	// An event published longer ago than the groups keep their markers
	// would be applied again by the groups that applied it.
	vals, err := events.Values(evs[1])
	if err != nil {
		t.Fatal(err)
	}
	stale := map[string]any{"entry": "1600000000000-0", "stream": routing, "error": "delivered 6 times"}
	for k, v := range vals {
		stale["orig_"+k] = v
	}
	staleID, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: routingParked, Values: stale}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := events.ReplayParked(ctx, rdb, routingParked, staleID); !errors.Is(err, events.ErrNotReplayable) {
		t.Fatalf("replay of an old event: %v, want ErrNotReplayable", err)
	}
	if err := events.DropParked(ctx, rdb, routingParked, staleID); err != nil {
		t.Fatal(err)
	}
	if err := events.ReplayParked(ctx, rdb, routing, ids[1]); err == nil {
		t.Fatal("replay from a stream that is not a parked stream succeeded")
	}

	// Drop.
	if err := events.DropParked(ctx, rdb, intakeParked, archived); err != nil {
		t.Fatal(err)
	}
	if err := events.DropParked(ctx, rdb, intakeParked, archived); !errors.Is(err, events.ErrParkedNotFound) {
		t.Fatalf("second drop: %v, want ErrParkedNotFound", err)
	}
	counts, err = events.CountParked(ctx, rdb, "141181")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int64{intakeParked: 0, routingParked: 3}, counts); d != "" {
		t.Fatalf("CountParked after replay and drop (-want +got):\n%s", d)
	}
}

// A replayed event is applied by the group that parked it and skipped by
// the groups that applied it before.
func TestReplayedEventIsAppliedOnceByTheGroupThatParkedIt(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := events.Stream("routing", "141181")
	ev := newEvent(t, "regions/141181/disputes/2026-1")
	publish(t, rdb, stream, ev)

	var fixed atomic.Bool
	handler := func(group string) events.Handler {
		return events.HandlerFuncs{ApplyFunc: func(b *events.Batch, d *events.Delivery) error {
			if group == "archive" && !fixed.Load() {
				return events.Permanent(errors.New("archive handler cannot apply it"))
			}
			b.Do(func(ctx context.Context, p redis.Pipeliner) { p.RPush(ctx, "applied:"+group, d.Event.GetId()) })
			return nil
		}}
	}
	var wg sync.WaitGroup
	for _, g := range []string{"archive", "meeting"} {
		c := &events.Subscription{Redis: rdb, Group: g, Name: "c1", Sources: []string{"routing"},
			Regions: func() []string { return []string{"141181"} }, Default: handler(g), Block: 20 * time.Millisecond}
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Run(ctx) }()
	}
	parked := events.ParkedStream(stream, "archive")
	waitFor(t, "the event parked by archive", func() bool {
		n, _ := rdb.XLen(ctx, parked).Result()
		m, _ := rdb.LLen(ctx, "applied:meeting").Result()
		return n == 1 && m == 1
	})
	list, _, err := events.ListParked(ctx, rdb, parked, "", 0)
	if err != nil || len(list) != 1 || list[0].EventID != ev.GetId() {
		t.Fatalf("ListParked = %+v, %v", list, err)
	}

	fixed.Store(true)
	if err := events.ReplayParked(ctx, rdb, parked, list[0].ParkedID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replayed entry handled by both groups", func() bool {
		a, _ := rdb.LLen(ctx, "applied:archive").Result()
		pa, err1 := rdb.XPending(ctx, stream, "archive").Result()
		pm, err2 := rdb.XPending(ctx, stream, "meeting").Result()
		return a == 1 && err1 == nil && err2 == nil && pa.Count == 0 && pm.Count == 0
	})
	cancel()
	wg.Wait()
	for _, g := range []string{"archive", "meeting"} {
		got, err := rdb.LRange(context.Background(), "applied:"+g, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{ev.GetId()}, got); d != "" {
			t.Errorf("%s applied (-want +got):\n%s", g, d)
		}
	}
	if n, _ := rdb.XLen(context.Background(), parked).Result(); n != 0 {
		t.Errorf("%d entries parked after the replay, want 0", n)
	}
	if n, _ := rdb.XLen(context.Background(), stream).Result(); n != 2 {
		t.Errorf("source stream holds %d entries, want the original and the replayed one", n)
	}
}
