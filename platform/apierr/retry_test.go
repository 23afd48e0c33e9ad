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
