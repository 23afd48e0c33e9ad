package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/discovery"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// TestServiceRegistersWhileServing: a running service's gRPC address is in
// etcd under its name, and is gone once the service is told to stop.
func TestServiceRegistersWhileServing(t *testing.T) {
	rd, et := testenv.StartRedis(t), testenv.StartEtcd(t)
	cli := et.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	grpcAddr := make(chan string, 1)
	svc := app.Service{Name: "probe", Policy: authn.Policy{},
		Setup: func(context.Context, *app.Deps) ([]func(context.Context) error, error) { return nil, nil }}
	done := make(chan error, 1)
	go func() {
		done <- app.RunConfig(ctx, svc, withBackends(t, rd, et), slog.New(slog.NewTextHandler(io.Discard, nil)),
			func(d *app.Deps) { grpcAddr <- d.Server.Addr() })
	}()
	addr := <-grpcAddr
	key := discovery.Prefix + "probe/" + addr
	registered := func() bool {
		gctx, gcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer gcancel()
		r, err := cli.Get(gctx, key, clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return r.Count == 1
	}
	for deadline := time.Now().Add(30 * time.Second); !registered(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s not registered", key)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if registered() {
		t.Fatalf("%s still registered after the service stopped", key)
	}
}
