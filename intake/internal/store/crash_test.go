package store

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// TestCrashLosesNoAcknowledgedRegistration kills Redis (SIGKILL) while
// registrations stream in through the batch loops, restarts it from its
// append-only file, and checks that every registration that was answered
// is there with its number, that a retry of it replays, and that the
// numbers stored are exactly 1..N: a crash loses no acknowledged write and
// leaves no gap.
func TestCrashLosesNoAcknowledgedRegistration(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	s := New(rdb)
	ctx, cancel := context.WithCancel(context.Background())
	batches := make(chan struct{})
	go func() { defer close(batches); s.RunBatches(ctx) }()
	defer func() { cancel(); <-batches }()

	now := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	type ack struct{ requestID, name string }
	var (
		mu     sync.Mutex
		acked  []ack
		failed atomic.Int64
		seq    atomic.Int64
		stop   atomic.Bool
		wg     sync.WaitGroup
	)
	for w := 0; w < 16; w++ {
		wg.Go(func() {
			for !stop.Load() {
				rid := fmt.Sprintf("crash-%d", seq.Add(1))
				cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
				d, _, err := s.Register(cctx, registration(t, now, rid, ""))
				ccancel()
				if err != nil {
					failed.Add(1)
					continue
				}
				mu.Lock()
				acked = append(acked, ack{rid, d.GetName()})
				mu.Unlock()
			}
		})
	}
	// Let registrations flow, crash Redis under load, keep the writers
	// running against the dead server for a moment, then stop them.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d registrations before the crash", n)
		}
	}
	srv.Kill()
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if failed.Load() == 0 {
		t.Fatal("no registration failed while Redis was down: the crash did not happen under load")
	}

	srv.Restart(t)
	check := context.Background()
	stored := map[string]bool{}
	for _, a := range acked {
		_, id, _ := cut(a.name)
		d, err := s.Get(check, region, id)
		if err != nil {
			t.Fatalf("acknowledged %s (%s) lost after the crash: %v", a.name, a.requestID, err)
		}
		if d.GetName() != a.name {
			t.Fatalf("acknowledged %s reads back as %s", a.name, d.GetName())
		}
		stored[id] = true
		again, replayed, err := s.Register(check, registration(t, now, a.requestID, ""))
		if err != nil || !replayed || again.GetName() != a.name {
			t.Fatalf("retry of %s: %v replayed=%v err=%v, want a replay of %s", a.requestID, again.GetName(), replayed, err, a.name)
		}
	}
	last, err := rdb.Get(check, SequenceKey(region, 2026)).Int64()
	if err != nil {
		t.Fatal(err)
	}
	for n := int64(1); n <= last; n++ {
		id := "2026-" + strconv.FormatInt(n, 10)
		if _, err := s.Get(check, region, id); err != nil {
			t.Fatalf("number %d of %d is missing after the crash (a gap): %v", n, last, err)
		}
	}
	t.Logf("%d acknowledged before the crash, %d failed during it, %d numbers stored, all present", len(acked), failed.Load(), last)
}

// cut splits "regions/<r>/disputes/<id>" into region and id.
func cut(name string) (string, string, bool) {
	const prefix = "regions/" + region + "/disputes/"
	if len(name) <= len(prefix) {
		return "", "", false
	}
	return region, name[len(prefix):], true
}
