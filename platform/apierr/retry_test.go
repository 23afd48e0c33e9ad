package apierr

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRateLimitedCarriesRetryInfo(t *testing.T) {
	err := RateLimited("slow down", 1500*time.Millisecond, map[string]string{"scope": "staff"})
	if status.Code(err) != codes.ResourceExhausted || Reason(err) != ReasonRateLimited {
		t.Fatalf("got %v (reason %q), want RESOURCE_EXHAUSTED RATE_LIMITED", err, Reason(err))
	}
	if d, ok := RetryDelay(err); !ok || d != 1500*time.Millisecond {
		t.Fatalf("RetryDelay = %v, %v; want 1.5s", d, ok)
	}
	if _, ok := RetryDelay(New(codes.Unavailable, ReasonBackendUnavailable, MsgBackendUnavailable)); ok {
		t.Fatal("RetryDelay found a delay in a status without RetryInfo")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tc := range []struct {
		delay time.Duration
		want  int64
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {90 * time.Second, 90}} {
		if got, ok := RetryAfterSeconds(RateLimited("x", tc.delay, nil)); !ok || got != tc.want {
			t.Errorf("delay %v: %d, %v; want %d", tc.delay, got, ok, tc.want)
		}
	}
	if _, ok := RetryAfterSeconds(New(codes.Unavailable, ReasonBackendUnavailable, MsgBackendUnavailable)); ok {
		t.Error("a status without RetryInfo has a Retry-After")
	}
}
