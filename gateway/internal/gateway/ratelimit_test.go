package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/ratelimit"
	"github.com/xiaoyi-disputes/disputes/platform/server"
)

type okIntake struct {
	intakev1.UnimplementedIntakeServiceServer
}

func (okIntake) GetDispute(context.Context, *intakev1.GetDisputeRequest) (*intakev1.GetDisputeResponse, error) {
	return &intakev1.GetDisputeResponse{}, nil
}

// TestRateLimitedIs429WithRetryAfter puts the gateway in front of a real
// service server whose staff bucket holds 2 reads: the third GET is 429
// with a Retry-After header and the service's RATE_LIMITED and RetryInfo
// details in the body.
func TestRateLimitedIs429WithRetryAfter(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	policy := authn.Policy{"/disputes.intake.v1.IntakeService/GetDispute": {AnyRole: []string{authn.RoleClerk}}}
	srv, err := server.New(server.Config{Service: "intake", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		ShutdownTimeout: time.Second, InsecurePlaintext: true},
		slog.New(slog.NewTextHandler(io.Discard, nil)), policy, authn.NewVerifier(pub))
	if err != nil {
		t.Fatal(err)
	}
	intakev1.RegisterIntakeServiceServer(srv.GRPC(), okIntake{})
	// 2 reads, then one token per 10 s: Retry-After is 10.
	slow := ratelimit.Rate{PerSecond: 0.1, Burst: 2}
	srv.SetRateLimits(func(string) ratelimit.Limits {
		l := ratelimit.DefaultLimits()
		l.Staff[ratelimit.Read] = slow
		return l
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	g := newGateway(t, srv.Addr())

	tok, err := authn.Issue(priv, authn.Identity{Region: "141181", Department: "tax", Staff: "a", Roles: []string{authn.RoleClerk}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, registerPath+"/2026-1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, req)
		return rec
	}
	for i := range 2 {
		if rec := get(); rec.Code != http.StatusOK {
			t.Fatalf("GET %d: HTTP %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := get()
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("GET over the limit: HTTP %d %s, want 429", rec.Code, rec.Body)
	}
	if got := reason(t, rec.Body.Bytes()); got != apierr.ReasonRateLimited {
		t.Errorf("reason %q, want RATE_LIMITED: %s", got, rec.Body)
	}
	ra, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	if err != nil || ra < 1 || ra > 10 {
		t.Errorf("Retry-After %q, want whole seconds in [1, 10]", rec.Header().Get("Retry-After"))
	}
	var body struct {
		Details []struct {
			Type       string `json:"@type"`
			RetryDelay string `json:"retryDelay"`
		} `json:"details"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	var delay string
	for _, d := range body.Details {
		if strings.HasSuffix(d.Type, "google.rpc.RetryInfo") {
			delay = d.RetryDelay
		}
	}
	if d, err := time.ParseDuration(delay); err != nil || d <= 0 || d > 10*time.Second {
		t.Errorf("RetryInfo retryDelay %q, want within 10 s: %s", delay, rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("429 without Cache-Control: no-store: %v", rec.Header())
	}
	// Another staff member reads on.
	other, err := authn.Issue(priv, authn.Identity{Region: "141181", Department: "hrss", Staff: "b", Roles: []string{authn.RoleClerk}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok = other
	if rec := get(); rec.Code != http.StatusOK {
		t.Fatalf("another staff member: HTTP %d %s", rec.Code, rec.Body)
	}
}
