package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/xiaoyi-disputes/disputes/gateway/internal/signin"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
)

// closedAddr returns an address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestPrintRoutesAreMounted(t *testing.T) {
	down := closedAddr(t)
	g, err := New(context.Background(), Backends{Intake: down, Routing: down, Meeting: down, Archive: down, InsecurePlaintext: true},
		http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	tests := []struct {
		name, path, auth string
		want             int
		wantBody         string
	}{
		{"no token", "/print/regions/141181/disputes/2026-1/registration-form", "", http.StatusUnauthorized, "未登录"},
		{"services down", "/print/regions/141181/disputes/2026-1/registration-form", "Bearer x", http.StatusServiceUnavailable, "服务暂不可用"},
		{"unknown paper", "/print/regions/141181/disputes/2026-1/invoice", "Bearer x", http.StatusNotFound, ""},
		{"POST is not a print", "/print/regions/141181/disputes/2026-1/receipt", "Bearer x", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			if strings.HasPrefix(tt.name, "POST") {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			g.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("HTTP %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body lacks %q: %s", tt.wantBody, rec.Body)
			}
		})
	}
}

func TestSignInRoutesAndSessionCookie(t *testing.T) {
	down := closedAddr(t)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(context.Background(), Backends{Intake: down, Routing: down, Meeting: down, Archive: down, InsecurePlaintext: true},
		http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		WithSignIn(signin.Config{Region: "141181", Signer: authn.Signer{Key: priv}, Dev: true}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	get := func(path string, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, req)
		return rec
	}
	if rec := get("/auth/config", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"dev":true`) {
		t.Errorf("/auth/config: HTTP %d %s", rec.Code, rec.Body)
	}
	// A cookie of no live session is refused at the gateway, before any service.
	for _, path := range []string{"/v1/regions/141181/disputes", "/print/regions/141181/disputes/2026-1/receipt"} {
		rec := get(path, &http.Cookie{Name: "disputes-session", Value: "gone"})
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), signin.ReasonSessionExpired) {
			t.Errorf("%s with an ended session: HTTP %d %s", path, rec.Code, rec.Body)
		}
	}
	// Without sign-in configured there are no /auth/ routes.
	plain, err := New(context.Background(), Backends{Intake: down, Routing: down, Meeting: down, Archive: down, InsecurePlaintext: true},
		http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Close)
	rec := httptest.NewRecorder()
	plain.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/auth/config", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("/auth/config without sign-in: HTTP %d", rec.Code)
	}
}
