package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/apipb"

	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/mtls"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

const pingMethod = "/probe.v1.ProbeService/Ping"

// probeDesc is a service with one unary write method answering its request.
var probeDesc = &grpc.ServiceDesc{
	ServiceName: "probe.v1.ProbeService",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{MethodName: "Ping", Handler: func(_ any, ctx context.Context, dec func(any) error, icp grpc.UnaryServerInterceptor) (any, error) {
		in := &apipb.Method{}
		if err := dec(in); err != nil {
			return nil, err
		}
		return icp(ctx, in, &grpc.UnaryServerInfo{FullMethod: pingMethod}, func(_ context.Context, req any) (any, error) { return req, nil })
	}}},
}

// TestRateLimitChangedInEtcdTakesEffectLive runs a service through app with
// a real etcd: a limit written to /disputes/<region>/config/rate-limits
// throttles the next calls without a restart, and its removal restores the
// defaults.
func TestRateLimitChangedInEtcdTakesEffectLive(t *testing.T) {
	rd, et := testenv.StartRedis(t), testenv.StartEtcd(t)
	cfg := withBackends(t, rd, et)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan *app.Deps, 1)
	svc := app.Service{Name: "probe", Policy: authn.Policy{pingMethod: {AnyRole: []string{authn.RoleClerk}}},
		Setup: func(_ context.Context, d *app.Deps) ([]func(context.Context) error, error) {
			d.Server.GRPC().RegisterService(probeDesc, nil)
			return nil, nil
		}}
	done := make(chan error, 1)
	go func() {
		done <- app.RunConfig(ctx, svc, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
			func(d *app.Deps) { started <- d })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	priv, err := authn.LoadPrivateKey(filepath.Join(filepath.Dir(cfg.Server.PublicKeyFile), "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := authn.Issue(priv, authn.Identity{Region: "141181", Department: "tax", Staff: "a", Roles: []string{authn.RoleClerk}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := mtls.ClientConfig(mtls.DirFiles(filepath.Dir(cfg.Server.TLS.CA), mtls.ClientName), "intake")
	if err != nil {
		t.Fatal(err)
	}
	deps := <-started
	conn, err := grpc.NewClient(deps.Server.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ping := func() error {
		cctx, ccancel := context.WithTimeout(authn.WithToken(ctx, tok), 5*time.Second)
		defer ccancel()
		return conn.Invoke(cctx, pingMethod, &apipb.Method{Name: "x"}, &apipb.Method{})
	}
	// waitFor calls ping until it answers code (OK: nil) or 20 s pass.
	waitFor := func(what string, code codes.Code) {
		t.Helper()
		var err error
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if err = ping(); status.Code(err) == code {
				return
			}
		}
		t.Fatalf("%s: last answer %v, want %v", what, err, code)
	}

	for i := range 50 {
		if err := ping(); err != nil {
			t.Fatalf("call %d under the default limits: %v", i+1, err)
		}
	}
	ec := et.Client(t)
	slow := &configv1.RateLimit{PerSecond: 0.001, Burst: 2}
	if err := regionconfig.Put(ctx, ec, regionconfig.RateLimitsSpec, "141181", "", &configv1.RateLimits{StaffWrites: slow}); err != nil {
		t.Fatal(err)
	}
	waitFor("a limit of burst 2 written to etcd", codes.ResourceExhausted)
	if err := ping(); apierr.Reason(err) != apierr.ReasonRateLimited {
		t.Fatalf("call under the new limit: %v, want RATE_LIMITED", err)
	}
	// A malformed document is refused; the last valid one stays in force.
	if _, err := ec.Put(ctx, regionconfig.RateLimitsSpec.Key("141181", ""), `{"staffWrites":{"perSecond":-1,"burst":0}}`); err != nil {
		t.Fatal(err)
	}
	rejected := `rate_limits_rejected_total{key="/disputes/141181/config/rate-limits"} 1`
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(metrics(t, deps.Server.AdminAddr()), rejected); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed %s", rejected)
		}
	}
	if err := ping(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("after a malformed document: %v, want the last valid limit still refusing", err)
	}
	if _, err := ec.Delete(ctx, regionconfig.RateLimitsSpec.Key("141181", "")); err != nil {
		t.Fatal(err)
	}
	waitFor("the document deleted: defaults again", codes.OK)
}

func metrics(t *testing.T, admin string) string {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
