package printing

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
)

func TestRateLimitedIs429WithRetryAfter(t *testing.T) {
	b := newBackend()
	b.intakeErr = apierr.RateLimited("rate limit exceeded", 2500*time.Millisecond, map[string]string{"scope": "staff"})
	code, hdr, body := get(t, start(t, b), base+"registration-form", token)
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") != "3" {
		t.Errorf("HTTP %d Retry-After %q, want 429 with Retry-After 3", code, hdr.Get("Retry-After"))
	}
	if !strings.Contains(body, "请求过于频繁") {
		t.Errorf("page lacks 请求过于频繁:\n%s", body)
	}
	// Any other exhaustion stays 503, without Retry-After.
	b.intakeErr = status.Error(codes.ResourceExhausted, "grpc: received message larger than max")
	code, hdr, _ = get(t, start(t, b), base+"registration-form", token)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") != "" {
		t.Errorf("other RESOURCE_EXHAUSTED: HTTP %d Retry-After %q, want 503 without one", code, hdr.Get("Retry-After"))
	}
}
