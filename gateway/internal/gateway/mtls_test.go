package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xiaoyi-disputes/disputes/platform/mtls"
)

// tlsService serves gRPC health over mutual TLS with the certificate of
// name from dir, and returns its address.
func tlsService(t *testing.T, dir, name string) string {
	t.Helper()
	tc, err := mtls.ServerConfig(mtls.DirFiles(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.Creds(credentials.NewTLS(tc)))
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func TestBackendsOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	if _, err := mtls.InitDir(dir, nil); err != nil {
		t.Fatal(err)
	}
	intake := tlsService(t, dir, "intake")
	// Routing's address answers with intake's certificate: the gateway
	// must not take one service for another.
	g, err := New(context.Background(), Backends{
		Intake: intake, Routing: intake, Meeting: tlsService(t, dir, "meeting"), Archive: tlsService(t, dir, "archive"),
		TLS: mtls.DirFiles(dir, "gateway"),
	}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	rec := httptest.NewRecorder()
	g.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var got struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("readyz %d: %s", rec.Code, rec.Body)
	}
	for _, svc := range []string{"intake", "meeting", "archive"} {
		if got.Checks[svc] != "ok" {
			t.Errorf("%s over mutual TLS: %q", svc, got.Checks[svc])
		}
	}
	if got.Checks["routing"] == "ok" {
		t.Error("routing's address with intake's certificate was accepted")
	}
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz HTTP %d, want 503 while routing is not reachable as routing", rec.Code)
	}
}

func TestBackendsNeedTLSOrTheDevelopmentFlag(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name string
		b    Backends
	}{
		{"nothing", Backends{}},
		{"half the files", Backends{TLS: mtls.Files{Cert: "gateway.pem"}}},
		{"both", Backends{TLS: mtls.Files{Cert: "a", Key: "b", CA: "c"}, InsecurePlaintext: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if g, err := New(context.Background(), tt.b, nil, log); err == nil {
				g.Close()
				t.Fatal("New accepted the backends")
			}
		})
	}
}
