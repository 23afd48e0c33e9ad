package logging

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// recorder keeps every Write call it gets. The writes of a Writer never
// overlap, and the test checks that too.
type recorder struct {
	mu     sync.Mutex
	busy   bool
	calls  [][]byte
	gate   chan struct{} // when set, the first Write waits for it
	failAt int           // when > 0, the failAt-th Write fails
	failed []byte
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	if r.busy {
		r.mu.Unlock()
		panic("overlapping writes")
	}
	r.busy = true
	n := len(r.calls)
	gate := r.gate
	r.mu.Unlock()
	if n == 0 && gate != nil {
		<-gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.busy = false
	if r.failAt > 0 && n+1 == r.failAt {
		r.calls = append(r.calls, nil)
		r.failed = append(r.failed, p...)
		return 0, errors.New("disk full")
	}
	r.calls = append(r.calls, append([]byte(nil), p...))
	return len(p), nil
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(bytes.Join(r.calls, nil))
}

func TestWriterConcurrentLinesIntact(t *testing.T) {
	const writers, lines = 8, 500
	rec := &recorder{}
	w := NewWriter(rec)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				// Lines of different lengths, up to a few KiB.
				line := fmt.Sprintf("g%d n%d x%s\n", g, i, strings.Repeat("x", (g*131+i*17)%3000))
				if n, err := w.Write([]byte(line)); err != nil || n != len(line) {
					t.Errorf("Write = %d, %v", n, err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}

	next := make([]int, writers)
	total := 0
	for c, call := range rec.calls {
		if len(call) == 0 || call[len(call)-1] != '\n' {
			t.Fatalf("write %d does not end a line: %q", c, call)
		}
		for line := range strings.SplitSeq(strings.TrimSuffix(string(call), "\n"), "\n") {
			var g, i int
			head, xs, _ := strings.Cut(line, " x")
			if _, err := fmt.Sscanf(head, "g%d n%d", &g, &i); err != nil || g < 0 || g >= writers {
				t.Fatalf("mangled line %q: %v", line, err)
			}
			if want := strings.Repeat("x", (g*131+i*17)%3000); xs != want {
				t.Fatalf("line g%d n%d has %d x, want %d", g, i, len(xs), len(want))
			}
			if i != next[g] {
				t.Fatalf("writer %d: line %d after line %d", g, i, next[g]-1)
			}
			next[g]++
			total++
		}
	}
	if total != writers*lines {
		t.Fatalf("got %d lines, want %d", total, writers*lines)
	}
	t.Logf("%d lines in %d writes", total, len(rec.calls))
}

// blocked starts a Write of first that blocks in the underlying writer,
// and returns when it is blocked there, with a function that unblocks it
// and waits for that Write to return.
func blocked(t *testing.T, w *Writer, rec *recorder, first string) (release func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := w.Write([]byte(first)); err != nil {
			t.Errorf("first Write: %v", err)
		}
	}()
	for {
		rec.mu.Lock()
		busy := rec.busy
		rec.mu.Unlock()
		if busy {
			break
		}
		runtime.Gosched()
	}
	return func() {
		close(rec.gate)
		<-done
	}
}

func TestWriterCoalescesBehindWriteInProgress(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})}
	w := NewWriter(rec)
	release := blocked(t, w, rec, "one\n")
	// The first write is in progress: these queue and return at once.
	for _, line := range []string{"two\n", "three\n"} {
		if n, err := w.Write([]byte(line)); err != nil || n != len(line) {
			t.Fatalf("Write(%q) = %d, %v", line, n, err)
		}
	}
	if got := rec.String(); got != "" {
		t.Fatalf("written before the first write returned: %q", got)
	}
	release()
	// The first writer wrote the queued lines before its Write returned,
	// in one call: nothing is left waiting for another Write.
	if len(rec.calls) != 2 || string(rec.calls[0]) != "one\n" || string(rec.calls[1]) != "two\nthree\n" {
		t.Fatalf("writes = %q, want [one, two+three]", rec.calls)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Idle again: a Write goes straight through.
	w.Write([]byte("four\n"))
	if got := rec.String(); got != "one\ntwo\nthree\nfour\n" {
		t.Fatalf("written %q", got)
	}
}

func TestWriterFlushReportsQueuedError(t *testing.T) {
	rec := &recorder{gate: make(chan struct{}), failAt: 2}
	w := NewWriter(rec)
	release := blocked(t, w, rec, "one\n")
	if _, err := w.Write([]byte("two\n")); err != nil {
		t.Fatalf("queued Write: %v", err)
	}
	release()
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Flush = %v, want the queued write's error", err)
	}
	if string(rec.failed) != "two\n" {
		t.Fatalf("failed write had %q", rec.failed)
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("second Flush = %v, want nil", err)
	}
}

func TestWriterCapsPending(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})}
	w := NewWriter(rec)
	release := blocked(t, w, rec, "first\n")
	line := strings.Repeat("p", 1023) + "\n"
	const n = 3 * maxPending / 1024 // three times what may wait
	var wg sync.WaitGroup
	wg.Go(func() {
		for range n {
			w.Write([]byte(line))
		}
	})
	// The writes beyond maxPending wait for room; they can only finish
	// once the first write is released.
	release()
	wg.Wait()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got := rec.String()
	if want := "first\n" + strings.Repeat(line, n); got != want {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	for i, c := range rec.calls {
		if len(c) > maxPending {
			t.Fatalf("write %d has %d bytes, over the %d cap", i, len(c), maxPending)
		}
	}
}
