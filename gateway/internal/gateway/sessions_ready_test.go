package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xiaoyi-disputes/disputes/gateway/internal/signin"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// TestReadyzChecksTheSessionStore: with the console's sessions in Redis,
// the gateway is ready while Redis answers and not once it is gone, though
// every backend still serves.
func TestReadyzChecksTheSessionStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	up := lis.Addr().String()
	r := testenv.StartRedis(t)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(context.Background(), Backends{Intake: up, Routing: up, Meeting: up, Archive: up, InsecurePlaintext: true},
		http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		WithSignIn(signin.Config{Region: "141181", Signer: authn.Signer{Key: priv}, Dev: true,
			Store: signin.NewRedisStore(r.Client(t))}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	ready := func() (int, map[string]string) {
		rec := httptest.NewRecorder()
		g.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		var body struct {
			Checks map[string]string `json:"checks"`
		}
		json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body.Checks
	}
	if code, checks := ready(); code != http.StatusOK || checks["sessions"] != "ok" {
		t.Fatalf("readyz with Redis up: HTTP %d %v", code, checks)
	}
	r.Kill()
	if code, checks := ready(); code != http.StatusServiceUnavailable || checks["sessions"] == "ok" || checks["intake"] != "ok" {
		t.Fatalf("readyz with Redis down: HTTP %d %v", code, checks)
	}
}
