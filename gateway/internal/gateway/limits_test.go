package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

const registerPath = "/v1/regions/141181/disputes"

// newGateway returns a gateway whose backends are all at addr (or nowhere).
func newGateway(t testing.TB, intake string) *Gateway {
	t.Helper()
	down := closedAddr(t)
	if intake == "" {
		intake = down
	}
	g, err := New(context.Background(), Backends{Intake: intake, Routing: down, Meeting: down, Archive: down, InsecurePlaintext: true},
		http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// endless is a JSON body that never ends: an opening brace and a string
// that goes on for n bytes, so a decoder keeps reading it.
func endless(n int64) io.Reader {
	return io.MultiReader(strings.NewReader(`{"requestId":"`), io.LimitReader(repeatReader('a'), n))
}

type repeatReader byte

func (b repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func reason(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Details []struct {
			Type   string `json:"@type"`
			Reason string `json:"reason"`
		} `json:"details"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %.200s", err, body)
	}
	for _, d := range e.Details {
		if strings.HasSuffix(d.Type, "google.rpc.ErrorInfo") {
			return d.Reason
		}
	}
	return ""
}

func TestBodyLimit(t *testing.T) {
	g := newGateway(t, "")
	tests := []struct {
		name      string
		body      io.Reader
		length    int64 // -1: chunked
		want      int
		wantTooLg bool
	}{
		{"announced too large", endless(2 << 20), 2<<20 + 14, http.StatusRequestEntityTooLarge, true},
		{"chunked too large", endless(2 << 20), -1, http.StatusRequestEntityTooLarge, true},
		{"exactly at the limit is read", endless(MaxBodyBytes - 100), -1, http.StatusBadRequest, false},
		{"small", strings.NewReader(`{"requestId":"x"}`), -1, http.StatusServiceUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, registerPath, tt.body)
			req.ContentLength = tt.length
			rec := httptest.NewRecorder()
			g.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("HTTP %d, want %d: %.300s", rec.Code, tt.want, rec.Body)
			}
			if got := reason(t, rec.Body.Bytes()); (got == ReasonRequestTooLarge) != tt.wantTooLg {
				t.Errorf("reason %q, want REQUEST_TOO_LARGE: %v", got, tt.wantTooLg)
			}
			if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v, want Cache-Control: no-store and X-Content-Type-Options: nosniff", rec.Header())
			}
		})
	}
}

// TestHugeBodyBoundedMemory streams 200 MB without a token to the
// registration endpoint over a real connection, with and without a
// Content-Length, and checks the answer is 413 and the heap stays small.
func TestHugeBodyBoundedMemory(t *testing.T) {
	g := newGateway(t, "")
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	const size = 200 << 20
	for _, chunked := range []bool{false, true} {
		name := map[bool]string{false: "content-length", true: "chunked"}[chunked]
		t.Run(name, func(t *testing.T) {
			runtime.GC()
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				var m runtime.MemStats
				for {
					runtime.ReadMemStats(&m)
					if m.HeapAlloc > peak.Load() {
						peak.Store(m.HeapAlloc)
					}
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
				}
			}()
			sent := &countingReader{r: endless(size)}
			req, err := http.NewRequest(http.MethodPost, srv.URL+registerPath, sent)
			if err != nil {
				t.Fatal(err)
			}
			if !chunked {
				req.ContentLength = size + 14
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			close(stop)
			<-sampled
			if err != nil {
				t.Fatalf("request: %v (sent %d bytes)", err, sent.n.Load())
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || reason(t, body) != ReasonRequestTooLarge {
				t.Fatalf("HTTP %d %s, want 413 REQUEST_TOO_LARGE", resp.StatusCode, body)
			}
			if p := peak.Load(); p > 100<<20 {
				t.Fatalf("heap peaked at %d MB, want under 100 MB", p>>20)
			}
			t.Logf("heap peak %d MB, %d MB of the body sent", peak.Load()>>20, sent.n.Load()>>20)
		})
	}
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// deadlineIntake records the time left to the deadline of each GetDispute.
type deadlineIntake struct {
	intakev1.UnimplementedIntakeServiceServer
	left chan time.Duration
}

func (d *deadlineIntake) GetDispute(ctx context.Context, _ *intakev1.GetDisputeRequest) (*intakev1.GetDisputeResponse, error) {
	left := time.Duration(-1)
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	d.left <- left
	return &intakev1.GetDisputeResponse{}, nil
}

func TestCallDeadlineIsCapped(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fake := &deadlineIntake{left: make(chan time.Duration, 1)}
	gs := grpc.NewServer()
	intakev1.RegisterIntakeServiceServer(gs, fake)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	g := newGateway(t, lis.Addr().String())

	tests := []struct {
		name, timeout string
		max           time.Duration
	}{
		{"none sent", "", MaxCallTimeout},
		{"an hour asked", "1H", MaxCallTimeout},
		{"shorter kept", "2S", 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, registerPath+"/2026-1", nil)
			req.Header.Set("Authorization", "Bearer x")
			if tt.timeout != "" {
				req.Header.Set("Grpc-Timeout", tt.timeout)
			}
			rec := httptest.NewRecorder()
			g.Handler().ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
			}
			left := <-fake.left
			if left <= 0 || left > tt.max {
				t.Fatalf("backend saw %v left, want a deadline within %v", left, tt.max)
			}
			if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v, want no-store and nosniff", rec.Header())
			}
		})
	}
}

func TestProbesAndMetricsOnlyOnAdmin(t *testing.T) {
	g := newGateway(t, "")
	for _, path := range []string{"/metrics", "/readyz", "/healthz"} {
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("public %s: HTTP %d, want 404", path, rec.Code)
		}
	}
	tests := []struct {
		path     string
		want     int
		wantBody string
	}{
		{"/metrics", http.StatusOK, "go_goroutines"},
		{"/healthz", http.StatusOK, "ok"},
		{"/readyz", http.StatusServiceUnavailable, "not_ready"}, // the backends are down
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		g.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.wantBody) {
			t.Errorf("admin %s: HTTP %d %.100s, want %d with %q", tt.path, rec.Code, rec.Body, tt.want, tt.wantBody)
		}
	}
}

// A personal number is refused in a URL (proxies and access logs keep
// URLs), naming the parameter, before any backend is called; the same
// filter in the body of :search goes through to intake.
func TestPersonalNumbersNotInURLs(t *testing.T) {
	g := newGateway(t, "")
	for _, q := range []string{"claimantPhone=13812345678", "claimant_id_number=110105199003070012", "pageSize=5&claimantCreditCode=91350100M000100Y43"} {
		req := httptest.NewRequest(http.MethodGet, "/v1/regions/141181/disputes?"+q, nil)
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || reason(t, rec.Body.Bytes()) != apierr.ReasonInvalidArgument ||
			!strings.Contains(rec.Body.String(), "disputes:search") {
			t.Fatalf("GET ?%s: HTTP %d %.300s, want 400 naming the :search call", q, rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "13812345678") {
			t.Fatalf("the refusal echoes the number: %s", rec.Body)
		}
	}
	// Without personal numbers the list is served (here: the backend is
	// down), and :search takes them in its body.
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/v1/regions/141181/disputes?pageSize=5", nil),
		httptest.NewRequest(http.MethodPost, "/v1/regions/141181/disputes:search", strings.NewReader(`{"claimantPhone":"13812345678"}`)),
	} {
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s: HTTP %d %.300s, want it passed on to intake (503: intake is down)", req.Method, req.URL, rec.Code, rec.Body)
		}
	}
}

// FuzzRegistrationBody: whatever body a client posts, the gateway answers
// with a client error or the backend's (intake is down here: 503), never
// a panic or a 500 of its own.
func FuzzRegistrationBody(f *testing.F) {
	f.Add([]byte(`{"requestId":"x","dispute":{"claimant":{"kind":"CLAIMANT_KIND_INDIVIDUAL"}}}`))
	f.Add([]byte(`{"dispute":{"claimant":{"kind":7}}}`))
	f.Add([]byte(`{"requestId":`))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(`[]`))
	g := newGateway(f, "")
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, registerPath, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("body %q: HTTP %d %.300s", body, rec.Code, rec.Body)
		}
	})
}
