package load

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, v := range n {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one value", ms(7), 50, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
		{"p95 of 1..100", ms(hundred...), 95, 95 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(p%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestRunCountsCallsAndErrorsAndUsesUniqueSequence(t *testing.T) {
	seen := make(chan int64, 1<<16)
	r, err := Run(context.Background(), "t", Options{Concurrency: 4, Duration: 50 * time.Millisecond},
		func(_ context.Context, _ int, seq int64) error {
			seen <- seq
			time.Sleep(time.Millisecond)
			if seq%2 == 0 {
				return status.Error(codes.Unavailable, "down")
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	close(seen)
	uniq := map[int64]bool{}
	for s := range seen {
		if uniq[s] {
			t.Fatalf("sequence %d handed out twice", s)
		}
		uniq[s] = true
	}
	if r.Requests == 0 || r.Requests != len(r.Latencies)+r.ErrorCount() {
		t.Errorf("requests %d, successes %d, errors %d: do not add up", r.Requests, len(r.Latencies), r.ErrorCount())
	}
	if r.Errors["Unavailable"] == 0 {
		t.Errorf("errors by code %v, want Unavailable counted", r.Errors)
	}
}

func TestRunRefusesNoWorkers(t *testing.T) {
	_, err := Run(context.Background(), "t", Options{Concurrency: 0, Duration: time.Second},
		func(context.Context, int, int64) error { return errors.New("never called") })
	if err == nil {
		t.Fatal("Run with no workers succeeded")
	}
}
