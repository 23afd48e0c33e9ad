package grpcapi_test

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/intake/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/intake/internal/service"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/logging"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	"github.com/xiaoyi-disputes/disputes/platform/server"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

const region = "141181"

// seedRoster is the roster shipped for 孝义市.
var seedRoster = filepath.Join("..", "..", "..", "deploy", "roster", region+".json")

// clock is a settable clock shared by the instances of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is one test's platform: a real Redis and etcd holding the seed
// roster, a signing key, a clock and the logs.
type env struct {
	t       *testing.T
	redis   *testenv.Redis
	rdb     *redis.Client
	etcd    *testenv.Etcd
	priv    ed25519.PrivateKey
	pubFile string
	clock   *clock
	logs    *testenv.LogBuffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, redis: testenv.StartRedis(t), etcd: testenv.StartEtcd(t),
		clock: &clock{t: time.Now()}, logs: &testenv.LogBuffer{}}
	e.rdb = e.redis.Client(t)
	dir := t.TempDir()
	privFile, pubFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "key.pub.pem")
	if err := authn.GenerateKeyFiles(privFile, pubFile); err != nil {
		t.Fatal(err)
	}
	priv, err := authn.LoadPrivateKey(privFile)
	if err != nil {
		t.Fatal(err)
	}
	e.priv, e.pubFile = priv, pubFile
	r, err := roster.LoadFile(seedRoster)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := roster.Put(ctx, e.etcd.Client(t), r); err != nil {
		t.Fatal(err)
	}
	return e
}

// start runs one intake process through app.RunConfig, the same wiring as
// cmd/intake, on free ports, and returns a connection to it once its
// roster is loaded. It stops when the test ends.
func (e *env) start() *grpc.ClientConn {
	t := e.t
	t.Helper()
	log, err := logging.New(e.logs, "intake", "info")
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{
		Server: server.Config{
			Service: "intake", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
			PublicKeyFile: e.pubFile, LogLevel: "info", ShutdownTimeout: 5 * time.Second,
			InsecurePlaintext: true, // the handlers are under test here; TLS is platform/server's
		},
		RedisAddr: e.redis.Addr, RedisUser: e.redis.User, RedisPasswordFile: e.redis.PasswordFile,
		EtcdEndpoints: e.etcd.Endpoint, EtcdUser: e.etcd.User, EtcdPasswordFile: e.etcd.PasswordFile,
	}
	svc := app.Service{Name: "intake", Policy: grpcapi.Policy, Setup: service.Setup}
	ctx, cancel := context.WithCancel(context.Background())
	depsc := make(chan *app.Deps, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.RunConfig(ctx, svc, cfg, log, func(d *app.Deps) {
			d.Now = e.clock.Now
			depsc <- d
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("intake instance: %v", err)
		}
	})
	var d *app.Deps
	select {
	case d = <-depsc:
	case err := <-done:
		t.Fatalf("intake instance did not start: %v", err)
	}
	waitRoster(t, d.Roster)
	conn, err := grpc.NewClient(d.Server.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func waitRoster(t *testing.T, w *roster.Watcher) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := w.Get(region); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("roster of 141181 not loaded within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// caller is a token-bearing client of one intake instance.
type caller struct {
	intakev1.IntakeServiceClient
	token string
}

func (e *env) as(conn *grpc.ClientConn, region, dept, staff string, roles ...string) caller {
	e.t.Helper()
	tok, err := authn.Issue(e.priv, authn.Identity{Region: region, Department: dept, Staff: staff, Roles: roles}, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return caller{IntakeServiceClient: intakev1.NewIntakeServiceClient(conn), token: tok}
}

func (c caller) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return authn.WithToken(ctx, c.token)
}

// wantCode fails t unless err is a status with code (and, when given, the
// ErrorInfo reason).
func wantCode(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("code = %v (%v), want %v", got, err, code)
	}
	if reason != "" {
		if got := apierr.Reason(err); got != reason {
			t.Fatalf("reason = %q (%v), want %q", got, err, reason)
		}
	}
}

// newKeyCaller returns a caller whose token is signed by a key the
// instances do not trust.
func newKeyCaller(t *testing.T, conn *grpc.ClientConn) caller {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := authn.Issue(priv, authn.Identity{Region: region, Department: "tax", Staff: "mallory", Roles: []string{"clerk"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return caller{IntakeServiceClient: intakev1.NewIntakeServiceClient(conn), token: tok}
}
