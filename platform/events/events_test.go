package events_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/testing/protocmp"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

func TestKeyCarriesRegionHashTag(t *testing.T) {
	if got, want := events.Key("intake", "141181", "dispute", "2026-1"), "intake:{141181}:dispute:2026-1"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
	if got, want := events.Stream("routing", "141181"), "routing:{141181}:events"; got != want {
		t.Fatalf("Stream = %q, want %q", got, want)
	}
}

func TestNewIDIsUniqueAndTimeOrdered(t *testing.T) {
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 1000; i++ {
		id := events.NewID(base.Add(time.Duration(i) * time.Millisecond))
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		if id <= prev {
			t.Fatalf("id %s not after %s", id, prev)
		}
		prev = id
	}
}

func TestNewIDsAscendInOneMillisecond(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for range 200 {
		ids := events.NewIDs(now, 3)
		if !(ids[0] < ids[1] && ids[1] < ids[2]) {
			t.Fatalf("ids %v do not ascend", ids)
		}
		if ids[2] >= events.NewID(now.Add(time.Millisecond)) {
			t.Fatalf("id %s sorts after an id of the next millisecond", ids[2])
		}
		if ids[0] < events.NewID(now.Add(-time.Millisecond)) {
			t.Fatalf("id %s sorts before an id of the previous millisecond", ids[0])
		}
	}
}

func TestActorOf(t *testing.T) {
	got := events.ActorOf(authn.Identity{Region: "141181", Department: "tax", Staff: "wang", Roles: []string{"clerk", "office"}})
	want := &typesv1.Actor{Region: "141181", Department: "tax", StaffId: "wang",
		Roles: []typesv1.Role{typesv1.Role_ROLE_CLERK, typesv1.Role_ROLE_OFFICE}}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Fatalf("ActorOf (-want +got):\n%s", d)
	}
}

func newEvent(t *testing.T, dispute string) *eventv1.Event {
	t.Helper()
	ev, err := events.New("intake", "141181", dispute, &typesv1.Actor{Department: "tax"}, "",
		&intakev1.DisputeWithdrawn{Reason: "resolved"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// publish writes a state key and its event atomically, as services do.
func publish(t *testing.T, rdb *redis.Client, stream string, ev *eventv1.Event) {
	t.Helper()
	ctx := context.Background()
	_, err := rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, "state:"+ev.GetId(), "x", 0)
		return events.Append(ctx, pipe, stream, ev)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConsumerAppliesEachEventOnce(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	stream := events.Stream("intake", "141181")

	var evs []*eventv1.Event
	for i := 0; i < 20; i++ {
		ev := newEvent(t, fmt.Sprintf("regions/141181/disputes/2026-%d", i+1))
		evs = append(evs, ev)
		publish(t, rdb, stream, ev)
	}
	// The same event published twice (a producer retry) must be applied once.
	publish(t, rdb, stream, evs[3])

	handle := func(ctx context.Context, ev *eventv1.Event) error {
		_, err := events.Once(ctx, rdb, events.Marker("archive", ev.GetRegion(), ev.GetId()), nil,
			func(ctx context.Context, _ *redis.Tx, pipe redis.Pipeliner) error {
				pipe.RPush(ctx, "applied", ev.GetId())
				return nil
			})
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		c := &events.Consumer{Redis: rdb, Group: "archive", Name: fmt.Sprintf("c%d", i),
			Streams: func() []string { return []string{stream} }, Handle: handle, Block: 100 * time.Millisecond}
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Run(ctx) }()
	}
	waitFor(t, "all entries acknowledged", func() bool {
		p, err := rdb.XPending(ctx, stream, "archive").Result()
		n, _ := rdb.LLen(ctx, "applied").Result()
		return err == nil && p.Count == 0 && n == 20
	})
	cancel()
	wg.Wait()
	got, err := rdb.LRange(context.Background(), "applied", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 {
		t.Fatalf("applied %d events, want 20", len(got))
	}
	uniq := map[string]bool{}
	for _, id := range got {
		uniq[id] = true
	}
	if len(uniq) != 20 {
		t.Fatalf("applied %d distinct events, want 20", len(uniq))
	}
}

func TestConsumerParksPoisonAndRetriesFailures(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := events.Stream("routing", "141181")

	// An undecodable entry, then an event whose handler fails twice, then a good one.
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"event": "not a protobuf \xff"}}).Err(); err != nil {
		t.Fatal(err)
	}
	flaky := newEvent(t, "regions/141181/disputes/2026-1")
	publish(t, rdb, stream, flaky)
	poison := newEvent(t, "regions/141181/disputes/2026-2")
	publish(t, rdb, stream, poison)
	good := newEvent(t, "regions/141181/disputes/2026-3")
	publish(t, rdb, stream, good)

	var flakyCalls, poisonCalls atomic.Int32
	var handledGood atomic.Bool
	c := &events.Consumer{Redis: rdb, Group: "archive", Name: "c1",
		Streams: func() []string { return []string{stream} },
		Handle: func(ctx context.Context, ev *eventv1.Event) error {
			switch ev.GetId() {
			case flaky.GetId():
				if flakyCalls.Add(1) <= 2 {
					return errors.New("temporary failure")
				}
			case poison.GetId():
				poisonCalls.Add(1)
				return errors.New("always fails")
			case good.GetId():
				handledGood.Store(true)
			}
			return nil
		},
		MaxDeliveries: 3, ClaimIdle: 50 * time.Millisecond, Block: 20 * time.Millisecond}
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()

	parked := events.ParkedStream(stream, "archive")
	waitFor(t, "poison and undecodable entries parked", func() bool {
		n, _ := rdb.XLen(ctx, parked).Result()
		return n == 2
	})
	waitFor(t, "no entries pending", func() bool {
		p, err := rdb.XPending(ctx, stream, "archive").Result()
		return err == nil && p.Count == 0
	})
	cancel()
	<-done
	if !handledGood.Load() {
		t.Error("the good event after the poison one was not handled")
	}
	if got := flakyCalls.Load(); got != 3 {
		t.Errorf("flaky handler called %d times, want 3 (two failures, then success)", got)
	}
	if got := poisonCalls.Load(); got != 3 {
		t.Errorf("poison handler called %d times, want MaxDeliveries=3", got)
	}
	entries, err := rdb.XRange(context.Background(), parked, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var parkedIDs []string
	for _, e := range entries {
		if id, ok := e.Values["orig_id"].(string); ok {
			parkedIDs = append(parkedIDs, id)
		}
	}
	if d := cmp.Diff([]string{poison.GetId()}, parkedIDs); d != "" {
		t.Errorf("parked event ids (-want +got):\n%s", d)
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	ev := newEvent(t, "regions/141181/disputes/2026-9")
	vals, err := events.Values(ev)
	if err != nil {
		t.Fatal(err)
	}
	msg := redis.XMessage{ID: "1-0", Values: map[string]any{}}
	for k, v := range vals {
		switch v := v.(type) {
		case []byte:
			msg.Values[k] = string(v)
		default:
			msg.Values[k] = v
		}
	}
	got, err := events.Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ev, got, protocmp.Transform()); d != "" {
		t.Fatalf("Decode (-want +got):\n%s", d)
	}
	p, err := events.Payload[*intakev1.DisputeWithdrawn](got)
	if err != nil || p.GetReason() != "resolved" {
		t.Fatalf("Payload = %v, %v", p, err)
	}
	if !events.Is(got, &intakev1.DisputeWithdrawn{}) || events.Is(got, &intakev1.DisputeRegistered{}) {
		t.Fatal("Is misreports the payload type")
	}
	if _, err := events.Decode(redis.XMessage{ID: "2-0", Values: map[string]any{"event": "\x0a\x02"}}); !errors.Is(err, events.ErrMalformed) {
		t.Fatalf("Decode of a truncated entry: %v, want ErrMalformed", err)
	}
}
