package gateway

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"

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
