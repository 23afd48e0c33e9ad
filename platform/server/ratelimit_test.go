package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/logging"
	"github.com/xiaoyi-disputes/disputes/platform/ratelimit"
)

// rateFixture serves the test service and issues tokens of any staff.
type rateFixture struct {
	srv  *Server
	conn *grpc.ClientConn
	priv ed25519.PrivateKey
}

func startRateLimited(t *testing.T) *rateFixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	log, err := logging.New(io.Discard, "test", "error")
	if err != nil {
		t.Fatal(err)
	}
	policy := authn.Policy{"/" + testService + "/Echo": {AnyRole: []string{authn.RoleClerk}}}
	cfg := Config{Service: "test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		ShutdownTimeout: time.Second, InsecurePlaintext: true}
	srv, err := New(cfg, log, policy, authn.NewVerifier(pub))
	if err != nil {
		t.Fatal(err)
	}
	srv.GRPC().RegisterService(testDesc(phoneRequest(t)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		<-done
	})
	return &rateFixture{srv: srv, conn: conn, priv: priv}
}

func (f *rateFixture) token(t *testing.T, dept, staff string) string {
	t.Helper()
	tok, err := authn.Issue(f.priv, authn.Identity{Region: "110105", Department: dept, Staff: staff, Roles: []string{authn.RoleClerk}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rateRefusal returns the scope and retry delay of a RATE_LIMITED refusal,
// failing the test for any other answer.
func rateRefusal(t *testing.T, err error) (string, time.Duration) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || apierr.Reason(err) != apierr.ReasonRateLimited {
		t.Fatalf("got %v (reason %q), want RESOURCE_EXHAUSTED RATE_LIMITED", err, apierr.Reason(err))
	}
	var scope string
	var retry time.Duration = -1
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			scope = d.GetMetadata()["scope"]
		case *errdetails.RetryInfo:
			retry = d.GetRetryDelay().AsDuration()
		}
	}
	if retry <= 0 {
		t.Fatalf("refusal without a positive RetryInfo delay: %v", st.Details())
	}
	return scope, retry
}

// TestRateLimitRefusesOverTheBurst drives the real server: one staff member
// over its burst is refused with RetryInfo while another is served, two
// staff of one department together meet the department's bucket, another
// department and the health service are untouched, and each refusal is
// counted by method and bucket.
func TestRateLimitRefusesOverTheBurst(t *testing.T) {
	f := startRateLimited(t)
	// A token every 1000 s: nothing refills during the test, however slow
	// the machine.
	staff := ratelimit.Rate{PerSecond: 0.001, Burst: 3}
	dept := ratelimit.Rate{PerSecond: 0.001, Burst: 5}
	f.srv.SetRateLimits(func(region string) ratelimit.Limits {
		if region != "110105" {
			return ratelimit.DefaultLimits()
		}
		return ratelimit.Limits{Staff: [2]ratelimit.Rate{staff, staff}, Department: [2]ratelimit.Rate{dept, dept}}
	})
	call := func(tok string) error { return echo(authn.WithToken(callCtx(t, ""), tok), f.conn, "x") }
	a, b := f.token(t, "chaoyang", "a"), f.token(t, "chaoyang", "b")

	for i := range 3 {
		if err := call(a); err != nil {
			t.Fatalf("a's call %d of its burst of 3: %v", i+1, err)
		}
	}
	scope, retry := rateRefusal(t, call(a))
	if scope != "staff" || retry > 1000*time.Second {
		t.Fatalf("a's 4th call refused by %q retry %v, want the staff bucket within 1000 s", scope, retry)
	}
	for i := range 2 {
		if err := call(b); err != nil {
			t.Fatalf("b's call %d, while a is refused: %v", i+1, err)
		}
	}
	if scope, _ := rateRefusal(t, call(b)); scope != "department" {
		t.Fatalf("b's 3rd call (6th of the department) refused by %q, want the department bucket", scope)
	}
	if err := call(f.token(t, "dongcheng", "c")); err != nil {
		t.Fatalf("a staff member of another department: %v", err)
	}
	hc := healthpb.NewHealthClient(f.conn)
	for range 10 {
		if _, err := hc.Check(callCtx(t, ""), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatalf("health check while callers are throttled: %v", err)
		}
	}
	method := "/" + testService + "/Echo"
	if n := testutil.ToFloat64(f.srv.rateLimited.WithLabelValues(method, "staff")); n != 1 {
		t.Errorf("refusals by the staff bucket counted %v, want 1", n)
	}
	if n := testutil.ToFloat64(f.srv.rateLimited.WithLabelValues(method, "department")); n != 1 {
		t.Errorf("refusals by the department bucket counted %v, want 1", n)
	}
}

func TestRateLimitDefaultsLeaveRoom(t *testing.T) {
	f := startRateLimited(t)
	tok := f.token(t, "chaoyang", "bench")
	ctx := authn.WithToken(callCtx(t, ""), tok)
	for i := range 500 {
		if err := echo(ctx, f.conn, "x"); err != nil {
			t.Fatalf("call %d of 500 from one staff id under the default limits: %v", i+1, err)
		}
	}
}
