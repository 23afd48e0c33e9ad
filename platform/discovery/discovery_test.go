package discovery_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xiaoyi-disputes/disputes/platform/discovery"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// replica is a gRPC server answering health checks and counting them.
type replica struct {
	addr  string
	calls atomic.Int64
	srv   *grpc.Server
}

func startReplica(t *testing.T) *replica {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{addr: lis.Addr().String()}
	r.srv = grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		r.calls.Add(1)
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(r.srv, health.NewServer())
	go r.srv.Serve(lis)
	t.Cleanup(r.srv.Stop)
	return r
}

// TestReplicasFoundThroughEtcd: two replicas register in etcd (as the
// platform's user, under its prefix); a client dialling the service's
// target calls both in turn; once one leaves, it calls only the other,
// while the leaving one still serves (as it does while draining).
func TestReplicasFoundThroughEtcd(t *testing.T) {
	e := testenv.StartEtcd(t)
	cli := e.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, b := startReplica(t), startReplica(t)
	ra, err := discovery.Register(ctx, cli, "intake", a.addr, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := discovery.Register(ctx, cli, "intake", b.addr, log); err != nil {
		t.Fatal(err)
	}
	// Another service's replicas are not intake's.
	other := startReplica(t)
	if _, err := discovery.Register(ctx, cli, "routing", other.addr, log); err != nil {
		t.Fatal(err)
	}

	res, err := discovery.Resolver(e.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	target, opts := discovery.Target(res, "intake")
	conn, err := grpc.NewClient(target, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	call := func() error {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := hc.Check(cctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		return err
	}
	for n := 0; a.calls.Load() == 0 || b.calls.Load() == 0; n++ {
		if n == 1000 {
			t.Fatalf("1000 calls: replicas took %d and %d, want both to take calls", a.calls.Load(), b.calls.Load())
		}
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	if other.calls.Load() != 0 {
		t.Fatal("a routing replica took intake's calls")
	}

	if err := ra.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	// The client learns of the leaving through its watch; after that, every
	// call goes to b although a still serves.
	deadline := time.Now().Add(30 * time.Second)
	for {
		before := a.calls.Load()
		for range 20 {
			if err := call(); err != nil {
				t.Fatal(err)
			}
		}
		if a.calls.Load() == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica that left still takes calls")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := cli.Get(ctx, discovery.Prefix+"intake/"+a.addr); err != nil || got.Count != 0 {
		t.Fatalf("the address that left is still in etcd (%v)", err)
	}
}

func TestAdvertised(t *testing.T) {
	for _, c := range []struct{ advertise, listen, want string }{
		{"", "127.0.0.1:9101", "127.0.0.1:9101"},
		{"", ":9101", ""},
		{"", "0.0.0.0:9101", ""},
		{"", "[::]:9101", ""},
		{"10.0.1.11:9101", ":9101", "10.0.1.11:9101"},
		{"", "intake-1.example:9101", "intake-1.example:9101"},
	} {
		if got := discovery.Advertised(c.advertise, c.listen); got != c.want {
			t.Errorf("Advertised(%q, %q) = %q, want %q", c.advertise, c.listen, got, c.want)
		}
	}
}
