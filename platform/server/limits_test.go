package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/apipb"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/logging"
)

// startLimited serves the test service with limits and returns a client
// connection and a clerk's token.
func startLimited(t *testing.T, limits Limits) (*Server, *grpc.ClientConn, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := authn.Issue(priv, authn.Identity{Region: "110105", Department: "chaoyang", Staff: "c1", Roles: []string{authn.RoleClerk}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	log, err := logging.New(io.Discard, "test", "error")
	if err != nil {
		t.Fatal(err)
	}
	policy := authn.Policy{
		"/" + testService + "/Echo":  {AnyRole: []string{authn.RoleClerk}},
		"/" + testService + "/Watch": {AnyRole: []string{authn.RoleClerk}},
	}
	// Plaintext: the ping-flood test speaks raw HTTP/2 frames, and the
	// limits do not depend on the transport's security.
	cfg := Config{Service: "test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		ShutdownTimeout: time.Second, Limits: limits, InsecurePlaintext: true}
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
	return srv, conn, tok
}

func echo(ctx context.Context, conn *grpc.ClientConn, name string) error {
	return conn.Invoke(ctx, "/"+testService+"/Echo", &apipb.Method{Name: name}, &apipb.Method{})
}

func TestMaxRecvMsgSize(t *testing.T) {
	_, conn, tok := startLimited(t, Limits{MaxRecvMsgBytes: 1024})
	tests := []struct {
		name string
		size int
		want codes.Code
	}{
		{"small", 100, codes.OK},
		{"over the limit", 4096, codes.ResourceExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := echo(callCtx(t, tok), conn, strings.Repeat("x", tt.size))
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

func TestMaxConcurrentStreams(t *testing.T) {
	_, conn, tok := startLimited(t, Limits{MaxConcurrentStreams: 1})
	// One call first, so the client has the server's SETTINGS (and its
	// stream limit) before the stream opens.
	if err := echo(callCtx(t, tok), conn, "warm"); err != nil {
		t.Fatal(err)
	}
	// The Watch handler waits for the client's message: the stream holds
	// the connection's only slot until the client sends it.
	sctx, cancel := context.WithCancel(callCtx(t, tok))
	defer cancel()
	stream, err := conn.NewStream(sctx, &grpc.StreamDesc{ServerStreams: true}, "/"+testService+"/Watch")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancelShort := context.WithTimeout(callCtx(t, tok), 300*time.Millisecond)
	defer cancelShort()
	if err := echo(ctx, conn, "second"); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("call beside an open stream: %v, want DeadlineExceeded (no free stream)", err)
	}
	if err := stream.SendMsg(&apipb.Method{Name: "w"}); err != nil {
		t.Fatal(err)
	}
	if err := stream.RecvMsg(&apipb.Method{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := echo(callCtx(t, tok), conn, "after"); err != nil {
		t.Fatalf("call after the stream ended: %v", err)
	}
}

// TestPingFloodGetsGoAway sends HTTP/2 pings faster than the keepalive
// policy allows and expects the server to close the connection with
// GOAWAY ENHANCE_YOUR_CALM.
func TestPingFloodGetsGoAway(t *testing.T) {
	srv, _, _ := startLimited(t, Limits{})
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			break // the server may already have closed
		}
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("connection ended without GOAWAY: %v", err)
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			if ga.ErrCode != http2.ErrCodeEnhanceYourCalm {
				t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM", ga.ErrCode)
			}
			return
		}
	}
}

func TestLimitsDefaults(t *testing.T) {
	got := Limits{MaxConcurrentStreams: 7}.withDefaults()
	want := Limits{
		MaxRecvMsgBytes: DefaultMaxRecvMsgBytes, MaxConcurrentStreams: 7, MaxHeaderListBytes: DefaultMaxHeaderListBytes,
		KeepaliveMinTime: DefaultKeepaliveMinTime, KeepaliveTime: DefaultKeepaliveTime,
		KeepaliveTimeout: DefaultKeepaliveTimeout, MaxConnectionIdle: DefaultMaxConnectionIdle,
	}
	if got != want {
		t.Fatalf("withDefaults = %+v, want %+v", got, want)
	}
	cfg := Config{Service: "test", GRPCAddr: ":0", AdminAddr: ":0", ShutdownTimeout: time.Second,
		Limits: Limits{MaxRecvMsgBytes: -1, KeepaliveMinTime: -time.Second}, InsecurePlaintext: true}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "max receive message size") || !strings.Contains(err.Error(), "keepalive min time") {
		t.Fatalf("Validate = %v, want both negative limits named", err)
	}
}
