package gateway

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/xiaoyi-disputes/disputes/platform/discovery"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// countingIntake answers GetDispute and counts the calls.
type countingIntake struct {
	intakev1.UnimplementedIntakeServiceServer
	calls atomic.Int64
}

func (c *countingIntake) GetDispute(context.Context, *intakev1.GetDisputeRequest) (*intakev1.GetDisputeResponse, error) {
	c.calls.Add(1)
	return &intakev1.GetDisputeResponse{}, nil
}

// TestReplicasTakeCallsInTurn: with two intake addresses the gateway sends
// calls to both, and once one stops, every call goes to the other.
func TestReplicasTakeCallsInTurn(t *testing.T) {
	var fakes [2]*countingIntake
	var servers [2]*grpc.Server
	var addrs [2]string
	for i := range fakes {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		fakes[i], servers[i] = &countingIntake{}, grpc.NewServer()
		intakev1.RegisterIntakeServiceServer(servers[i], fakes[i])
		go servers[i].Serve(lis)
		t.Cleanup(servers[i].Stop)
		addrs[i] = lis.Addr().String()
	}
	g := newGateway(t, addrs[0]+", "+addrs[1])
	get := func() int {
		req := httptest.NewRequest(http.MethodGet, registerPath+"/2026-1", nil)
		req.Header.Set("Authorization", "Bearer x")
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	// Round robin starts once both connections are ready; calls before
	// that may all go to the first one ready.
	for n := 0; fakes[0].calls.Load() == 0 || fakes[1].calls.Load() == 0; n++ {
		if n == 1000 {
			t.Fatalf("1000 calls, replicas took %d and %d: want both to take calls", fakes[0].calls.Load(), fakes[1].calls.Load())
		}
		if code := get(); code != http.StatusOK {
			t.Fatalf("call %d: HTTP %d", n, code)
		}
	}
	servers[0].Stop()
	// A call picked before the gateway read the closed connection may
	// fail; once one succeeds, the stopped replica is out of the turn.
	for n := 0; get() != http.StatusOK; n++ {
		if n == 100 {
			t.Fatal("no call succeeded after one replica stopped")
		}
	}
	before := fakes[1].calls.Load()
	for n := range 20 {
		if code := get(); code != http.StatusOK {
			t.Fatalf("call %d after one replica stopped: HTTP %d", n, code)
		}
	}
	if got := fakes[1].calls.Load() - before; got != 20 {
		t.Fatalf("the replica left took %d of 20 calls", got)
	}
}

// TestReplicasFoundThroughEtcd: with discovery the gateway calls the intake
// replicas registered in etcd, and stops calling one once it leaves.
func TestReplicasFoundThroughEtcd(t *testing.T) {
	e := testenv.StartEtcd(t)
	cli := e.Client(t)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var fakes [2]*countingIntake
	var regs [2]*discovery.Registration
	for i := range fakes {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		fakes[i] = &countingIntake{}
		gs := grpc.NewServer()
		intakev1.RegisterIntakeServiceServer(gs, fakes[i])
		go gs.Serve(lis)
		t.Cleanup(gs.Stop)
		if regs[i], err = discovery.Register(ctx, cli, "intake", lis.Addr().String(), log); err != nil {
			t.Fatal(err)
		}
	}
	res, err := discovery.Resolver(e.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	down := closedAddr(t)
	g, err := New(ctx, Backends{Intake: down, Routing: down, Meeting: down, Archive: down, InsecurePlaintext: true, Discovery: res},
		http.NotFoundHandler(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	get := func() int {
		req := httptest.NewRequest(http.MethodGet, registerPath+"/2026-1", nil)
		req.Header.Set("Authorization", "Bearer x")
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	for n := 0; fakes[0].calls.Load() == 0 || fakes[1].calls.Load() == 0; n++ {
		if n == 1000 {
			t.Fatalf("1000 calls, replicas took %d and %d: want both to take calls", fakes[0].calls.Load(), fakes[1].calls.Load())
		}
		if code := get(); code != http.StatusOK {
			t.Fatalf("call %d: HTTP %d", n, code)
		}
	}
	if err := regs[0].Leave(ctx); err != nil {
		t.Fatal(err)
	}
	// Once the gateway's watch has seen the leaving, a round of calls all
	// go to the replica left, though the other still serves.
	for n := 0; ; n++ {
		if n == 500 {
			t.Fatal("the replica that left still takes calls")
		}
		before := fakes[0].calls.Load()
		for range 10 {
			if code := get(); code != http.StatusOK {
				t.Fatalf("HTTP %d after a replica left", code)
			}
		}
		if fakes[0].calls.Load() == before {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}
