package events_test

import (
	"context"
	"errors"
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

func newEvent(t testing.TB, dispute string) *eventv1.Event {
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
