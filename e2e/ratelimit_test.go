package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
)

// TestRateLimitsEndToEnd sets a region's limits with disputectl and checks,
// across the real processes, that a clerk over the staff limit is answered
// 429 with Retry-After by the gateway and RESOURCE_EXHAUSTED by the service,
// while a colleague reads on, and that removing the limit lifts it.
func TestRateLimitsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	p := startPlatform(t)
	clerk, colleague := p.token("tax", "wang", "clerk"), p.token("tax", "li", "clerk")
	list := "/v1/regions/" + region + "/disputes"
	get := func(token string) (int, string, string) {
		req, err := http.NewRequest(http.MethodGet, p.gateway+list, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
	}
	if code, _, body := get(clerk); code != http.StatusOK {
		t.Fatalf("before any limit: HTTP %d %s", code, body)
	}

	// Three reads, then one every 1000 s: the clerk is soon refused.
	p.run("limits", "set", "--region", region, "--staff-reads", "0.001/3", "--etcd", p.etcd.Endpoint)
	eventually(t, "the clerk is refused 429", 20*time.Second, func() error {
		code, retry, body := get(clerk)
		if code != http.StatusTooManyRequests {
			return fmt.Errorf("HTTP %d", code)
		}
		if secs, err := strconv.Atoi(retry); err != nil || secs < 1 || secs > 1000 {
			t.Fatalf("429 with Retry-After %q, want whole seconds up to 1000", retry)
		}
		if !strings.Contains(body, `"reason":"RATE_LIMITED"`) || !strings.Contains(body, "google.rpc.RetryInfo") {
			t.Fatalf("429 body lacks RATE_LIMITED or RetryInfo: %s", body)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := intakev1.NewIntakeServiceClient(p.conn("intake", clerk)).ListDisputes(ctx, &intakev1.ListDisputesRequest{Parent: "regions/" + region})
	if status.Code(err) != codes.ResourceExhausted || apierr.Reason(err) != apierr.ReasonRateLimited {
		t.Fatalf("the same clerk over gRPC: %v, want RESOURCE_EXHAUSTED RATE_LIMITED", err)
	}
	if _, ok := apierr.RetryDelay(err); !ok {
		t.Errorf("the refusal carries no RetryInfo: %v", err)
	}
	if code, _, body := get(colleague); code != http.StatusOK {
		t.Fatalf("a colleague of the same department: HTTP %d %s", code, body)
	}

	p.run("limits", "set", "--region", region, "--staff-reads", "default", "--etcd", p.etcd.Endpoint)
	eventually(t, "the clerk reads again", 20*time.Second, func() error {
		if code, _, body := get(clerk); code != http.StatusOK {
			return fmt.Errorf("HTTP %d %s", code, body)
		}
		return nil
	})
}
