package sealing_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/archive/internal/feed"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealing"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

const (
	region  = "141181"
	dispute = "regions/141181/disputes/2026-5"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func event(t *testing.T, source string, p proto.Message, at time.Time) *eventv1.Event {
	t.Helper()
	ev, err := events.New(source, region, dispute, nil, "", p, at)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// consume runs the archive's consumer on region's streams until it has
// applied what was published on the streams of sources (all when none),
// then stops it.
func consume(t *testing.T, rdb *redis.Client, st *store.Store, claimIdle time.Duration, sources ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sub := &events.Subscription{Redis: rdb, Group: feed.Group, Sources: feed.Sources, Name: "t",
		Regions: func() []string { return []string{region} }, Default: feed.Handler(st),
		Block: 20 * time.Millisecond, ClaimIdle: claimIdle}
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wait, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if len(sources) == 0 {
		sources = feed.Sources
	}
	for _, src := range sources {
		if err := events.WaitConsumed(wait, rdb, events.Stream(src, region), feed.Group, 0); err != nil {
			t.Fatal(err)
		}
	}
}

func publish(t *testing.T, rdb *redis.Client, ev *eventv1.Event) {
	t.Helper()
	vals, err := events.Values(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: events.Stream(ev.GetSource(), region), Values: vals}).Err(); err != nil {
		t.Fatal(err)
	}
}

func closedEvent(t *testing.T, at time.Time) *eventv1.Event {
	ev := event(t, "routing", &routingv1.DisputeClosed{Cause: "withdrawn"}, at)
	ev.Lifecycle = &eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_CLOSED, Version: 3, Readers: []string{"tax"}}
	return ev
}

func newSealer(t *testing.T, rdb *redis.Client, st *store.Store, dir string, key ed25519.PrivateKey) (*sealing.Sealer, *sealedlog.Log) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := sealedlog.Open(dir, key, log, sealedlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &sealing.Sealer{Store: st, Log: l, Redis: rdb, Group: feed.Group, Sources: feed.Sources,
		Regions: func() []string { return []string{region} }, Logger: log}, l
}

// A closed dossier is sealed only once the archive has applied every
// stream past its close: an event published before the close in another
// stream, still pending with a consumer, holds the seal back, and goes into
// the sealed dossier once applied.
func TestSealingWaitsForTheWatermark(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	st := store.New(rdb)
	s, l := newSealer(t, rdb, st, t.TempDir(), key)

	publish(t, rdb, event(t, "intake", &intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{RegisteringDepartment: "tax", RegisterTime: timestamppb.New(t0)}}, t0))
	consume(t, rdb, st, time.Hour)
	// A meeting event published before the close is read by a consumer
	// that stops before applying it.
	meetingStream := events.Stream("meeting", region)
	if err := rdb.XGroupCreateMkStream(ctx, meetingStream, feed.Group, "0").Err(); err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		t.Fatal(err)
	}
	before := event(t, "meeting", &meetingv1.OpinionSubmitted{Opinion: &meetingv1.Opinion{Unit: "hrss", Text: "同意"}}, t0.Add(time.Minute))
	publish(t, rdb, before)
	if _, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: feed.Group, Consumer: "dead", Streams: []string{meetingStream, ">"}}).Result(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	publish(t, rdb, closedEvent(t, t0.Add(2*time.Minute)))
	consume(t, rdb, st, time.Hour, "routing") // applies the close, not the pending entry
	if n, err := s.SealDue(ctx, region); err != nil || n != 0 {
		t.Fatalf("SealDue with an earlier event pending = %d, %v", n, err)
	}
	// Another consumer claims the dead one's entry and applies it.
	time.Sleep(150 * time.Millisecond)
	consume(t, rdb, st, 100*time.Millisecond)
	if n, err := s.SealDue(ctx, region); err != nil || n != 1 {
		t.Fatalf("SealDue past the watermark = %d, %v", n, err)
	}
	sealed, err := l.Lookup(ctx, dispute)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range sealed.GetEvents() {
		got = append(got, ev.GetSource())
	}
	if strings.Join(got, ",") != "intake,meeting,routing" {
		t.Fatalf("sealed events from %v, want intake,meeting,routing", got)
	}
	// An event published after the close goes to the addendum.
	publish(t, rdb, event(t, "meeting", &meetingv1.OpinionSubmitted{Opinion: &meetingv1.Opinion{Unit: "finance"}}, t0.Add(3*time.Minute)))
	consume(t, rdb, st, time.Hour)
	add, err := st.Addendum(ctx, dispute)
	if err != nil || len(add) != 1 {
		t.Fatalf("addendum = %v, %v", add, err)
	}
}

func TestResealAfterCrash(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	st := store.New(rdb)
	_, l := newSealer(t, rdb, st, dir, key)
	publish(t, rdb, event(t, "intake", &intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{RegisteringDepartment: "tax", RegisterTime: timestamppb.New(t0)}}, t0))
	publish(t, rdb, closedEvent(t, t0.Add(time.Minute)))
	consume(t, rdb, st, time.Hour)

	// A crash after the leaf is on disk and before Redis is marked: the
	// leaf is in the log, Redis still waits to seal it.
	d, evs, err := st.Get(ctx, dispute)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("dossier has %d events, want 2", len(evs))
	}
	if i, appended, err := l.Seal(ctx, sealing.Proto(d, evs)); err != nil || i != 0 || !appended {
		t.Fatalf("Seal = %d %v %v", i, appended, err)
	}
	l.Close()

	// Restart: the reopened log knows the dossier, so it is only marked.
	s2, l2 := newSealer(t, rdb, st, dir, key)
	if n, err := s2.SealDue(ctx, region); err != nil || n != 1 {
		t.Fatalf("SealDue after restart = %d, %v", n, err)
	}
	cp, err := l2.Checkpoint(ctx, region, 0)
	if err != nil || cp.TreeSize != 1 {
		t.Fatalf("tree size after re-seal = %d, %v (appended twice?)", cp.TreeSize, err)
	}
	d, _, err = st.Get(ctx, dispute)
	if err != nil || !d.Sealed || d.LeafIndex != 0 {
		t.Fatalf("Redis dossier after re-seal = %+v, %v", d, err)
	}
	if due, err := st.Due(ctx, region, uint64(time.Now().Add(time.Hour).UnixMilli())); err != nil || len(due) != 0 {
		t.Fatalf("still waiting to seal: %v %v", due, err)
	}
	// Sealing again is harmless.
	if ok, err := s2.Seal(ctx, dispute); err != nil || !ok {
		t.Fatalf("Seal again = %v %v", ok, err)
	}
	if cp, _ := l2.Checkpoint(ctx, region, 0); cp.TreeSize != 1 {
		t.Fatalf("tree size %d after sealing again", cp.TreeSize)
	}
}
