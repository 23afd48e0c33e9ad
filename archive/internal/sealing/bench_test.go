package sealing_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// BenchmarkSealDue is one sealer tick over b.N closed dossiers, end to
// end: read from Redis, sealed into the log as one batch, marked sealed in
// Redis (appendfsync always). It reports dossiers sealed per second
// (make bench-archive; docs/PERFORMANCE.md).
func BenchmarkSealDue(b *testing.B) {
	ctx := context.Background()
	rdb := testenv.StartRedis(b).Client(b)
	st := store.New(rdb)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	l, err := sealedlog.Open(b.TempDir(), key, log, sealedlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	s := &sealing.Sealer{Store: st, Log: l, Redis: rdb, Group: feed.Group, Sources: feed.Sources,
		Regions: func() []string { return []string{region} }, Logger: log}

	// b.N disputes registered and closed, applied by the archive's consumer.
	pipe := rdb.Pipeline()
	for n := 1; n <= b.N; n++ {
		name := fmt.Sprintf("regions/%s/disputes/2026-%d", region, n)
		reg, err := events.New("intake", region, name, nil, "", &intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{
			Name: name, RegisteringDepartment: "tax", Complaint: "单位未足额缴纳社会保险费", RegisterTime: timestamppb.New(t0)}}, t0)
		if err != nil {
			b.Fatal(err)
		}
		closed, err := events.New("routing", region, name, nil, "", &routingv1.DisputeClosed{Cause: "withdrawn"}, t0.Add(time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		closed.Lifecycle = &eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_CLOSED, Version: 2, Readers: []string{"tax"}}
		for _, ev := range []*eventv1.Event{reg, closed} {
			vals, err := events.Values(ev)
			if err != nil {
				b.Fatal(err)
			}
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: events.Stream(ev.GetSource(), region), Values: vals})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	sub := &events.Subscription{Redis: rdb, Group: feed.Group, Sources: feed.Sources, Name: "b",
		Regions: func() []string { return []string{region} }, Default: feed.Handler(st), Block: 20 * time.Millisecond}
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(cctx) }()
	for _, src := range feed.Sources {
		if err := events.WaitConsumed(ctx, rdb, events.Stream(src, region), feed.Group, 0); err != nil {
			b.Fatal(err)
		}
	}
	cancel()
	<-done

	b.ResetTimer()
	start := time.Now()
	n, err := s.SealDue(ctx, region)
	el := time.Since(start)
	if err != nil || n != b.N {
		b.Fatalf("sealed %d of %d: %v", n, b.N, err)
	}
	b.ReportMetric(float64(n)/el.Seconds(), "dossiers/s")
	b.ReportMetric(0, "ns/op")
}
