package sealing_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

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
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
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

func TestQuietPeriodAndResealAfterCrash(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	openLog := func() *sealedlog.Log {
		l, err := sealedlog.Open(dir, key, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	now := t0
	st := store.New(rdb)
	st.Now = func() time.Time { return now }
	l := openLog()
	s := &sealing.Sealer{Store: st, Log: l, Quiet: 10 * time.Second, Now: func() time.Time { return now },
		Regions: func() []string { return []string{region} }, Logger: log}
	f := &feed.Feed{Store: st, Sealer: s}
	for _, ev := range []*eventv1.Event{
		event(t, "intake", &intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{RegisteringDepartment: "tax", RegisterTime: timestamppb.New(t0)}}, t0),
		event(t, "routing", &routingv1.DisputeClosed{Cause: "withdrawn"}, t0.Add(time.Minute)),
	} {
		if err := f.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}

	// Within the quiet period nothing is sealed, and a late event still goes in.
	now = now.Add(5 * time.Second)
	if n, err := s.SealDue(ctx, region); err != nil || n != 0 {
		t.Fatalf("SealDue within the quiet period = %d, %v", n, err)
	}
	if err := f.Handle(ctx, event(t, "meeting", &routingv1.ReplyRecorded{}, t0.Add(50*time.Second))); err != nil {
		t.Fatal(err)
	}
	// The quiet period runs again from the last event filed.
	now = now.Add(9 * time.Second)
	if n, err := s.SealDue(ctx, region); err != nil || n != 0 {
		t.Fatalf("SealDue within the renewed quiet period = %d, %v", n, err)
	}
	now = now.Add(time.Second)

	// A crash after the leaf is on disk and before Redis is marked: the
	// leaf is in the log, Redis still waits to seal it.
	d, evs, err := st.Get(ctx, dispute)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("dossier has %d events, want 3", len(evs))
	}
	if i, appended, err := l.Seal(sealing.Proto(d, evs)); err != nil || i != 0 || !appended {
		t.Fatalf("Seal = %d %v %v", i, appended, err)
	}
	l.Close()

	// Restart: the reopened log knows the dossier, so it is only marked.
	l2 := openLog()
	s2 := &sealing.Sealer{Store: st, Log: l2, Quiet: 10 * time.Second, Now: func() time.Time { return now },
		Regions: func() []string { return []string{region} }, Logger: log}
	if n, err := s2.SealDue(ctx, region); err != nil || n != 1 {
		t.Fatalf("SealDue after restart = %d, %v", n, err)
	}
	cp, err := l2.Checkpoint(region)
	if err != nil || cp.TreeSize != 1 {
		t.Fatalf("tree size after re-seal = %d, %v (appended twice?)", cp.TreeSize, err)
	}
	d, _, err = st.Get(ctx, dispute)
	if err != nil || !d.Sealed || d.LeafIndex != 0 {
		t.Fatalf("Redis dossier after re-seal = %+v, %v", d, err)
	}
	if due, err := st.Due(ctx, region, now.Add(time.Hour)); err != nil || len(due) != 0 {
		t.Fatalf("still waiting to seal: %v %v", due, err)
	}
	// Sealing again is harmless.
	if ok, err := s2.Seal(ctx, dispute); err != nil || !ok {
		t.Fatalf("Seal again = %v %v", ok, err)
	}
	if cp, _ := l2.Checkpoint(region); cp.TreeSize != 1 {
		t.Fatalf("tree size %d after sealing again", cp.TreeSize)
	}
}

func TestReopenedWithinQuietPeriodIsNotSealed(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l, err := sealedlog.Open(t.TempDir(), key, log)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st := store.New(rdb)
	s := &sealing.Sealer{Store: st, Log: l, Logger: log, Regions: func() []string { return []string{region} }}
	f := &feed.Feed{Store: st, Sealer: s}
	for _, ev := range []*eventv1.Event{
		event(t, "intake", &intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{RegisteringDepartment: "tax"}}, t0),
		event(t, "routing", &routingv1.DisputeClosed{}, t0.Add(time.Minute)),
		event(t, "routing", &routingv1.DisputeRedone{Holder: "hrss"}, t0.Add(2*time.Minute)),
	} {
		if err := f.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.SealDue(ctx, region); err != nil || n != 0 {
		t.Fatalf("SealDue = %d, %v", n, err)
	}
	if l.Sealed(dispute) {
		t.Fatal("a reopened dossier was sealed")
	}
	if due, err := st.Due(ctx, region, time.Now()); err != nil || len(due) != 0 {
		t.Fatalf("still waiting to seal: %v %v", due, err)
	}
}
