package store

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// TestBatchedRegistrations registers concurrently through the batch loops,
// with the script flushed from Redis halfway, and finds every registration
// stored under a gapless series of numbers.
func TestBatchedRegistrations(t *testing.T) {
	rdb := testenv.StartRedis(t).Client(t)
	s := New(rdb)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.RunBatches(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.batch.mu.RLock()
		running := s.batch.running > 0
		s.batch.mu.RUnlock()
		if running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("batch loops did not start")
		}
	}

	const n = 300
	now := time.Date(2026, 5, 6, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var numbers []string
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		if i == n/2 {
			if err := rdb.ScriptFlush(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, replayed, err := s.Register(context.Background(), registration(t, now, fmt.Sprintf("batch-%d", i), ""))
			if err != nil || replayed {
				errs <- fmt.Errorf("registration %d: replayed=%v err=%v", i, replayed, err)
				return
			}
			mu.Lock()
			numbers = append(numbers, d.GetName())
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sort.Slice(numbers, func(i, j int) bool { return idNum(numbers[i]) < idNum(numbers[j]) })
	for i, name := range numbers {
		if want := fmt.Sprintf("regions/141181/disputes/2026-%d", i+1); name != want {
			t.Fatalf("dispute %d is %s, want %s (numbers must be 1..%d without gaps)", i, name, want, n)
		}
	}
	if len(numbers) != n {
		t.Fatalf("%d registrations stored, want %d", len(numbers), n)
	}
}

func idNum(name string) int {
	var year, n int
	fmt.Sscanf(name[len("regions/141181/disputes/"):], "%d-%d", &year, &n)
	return n
}
