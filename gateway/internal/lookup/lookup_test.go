package lookup

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// fakeIntake answers LookupDispute as intake would for one dispute; the
// unit under test is the page and its mapping of intake's answers.
type fakeIntake struct {
	intakev1.UnimplementedIntakeServiceServer
	mu      sync.Mutex
	limited bool
	seen    []metadata.MD
}

func (f *fakeIntake) LookupDispute(ctx context.Context, req *intakev1.LookupDisputeRequest) (*intakev1.LookupDisputeResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.seen = append(f.seen, md)
	limited := f.limited
	f.mu.Unlock()
	if limited {
		st, _ := status.New(codes.ResourceExhausted, "too many wrong lookup codes").WithDetails(
			&errdetails.RetryInfo{RetryDelay: durationpb.New(14*time.Minute + 30*time.Second)})
		return nil, st.Err()
	}
	if req.GetName() != "regions/141181/disputes/2026-17" || req.GetLookupCode() != "K7M2Q9WX" {
		return nil, status.Errorf(codes.NotFound, "no dispute %s with this lookup code", req.GetName())
	}
	ts := func(s string) *timestamppb.Timestamp { t, _ := time.Parse(time.RFC3339, s); return timestamppb.New(t) }
	return &intakev1.LookupDisputeResponse{
		State:        typesv1.DisputeState_DISPUTE_STATE_HANDLING,
		RegisterTime: ts("2026-03-01T02:20:00Z"), DueTime: ts("2026-04-30T15:59:59Z"),
		Stages: []*intakev1.StageDate{
			{State: typesv1.DisputeState_DISPUTE_STATE_REGISTERED, Time: ts("2026-03-01T02:20:00Z")},
			{State: typesv1.DisputeState_DISPUTE_STATE_HANDLING, Time: ts("2026-03-02T01:00:00Z")},
		},
	}, nil
}

func serve(t *testing.T, f *fakeIntake) http.Handler {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	intakev1.RegisterIntakeServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	mux := http.NewServeMux()
	New(intakev1.NewIntakeServiceClient(cc), slog.New(slog.NewTextHandler(io.Discard, nil))).Register(mux)
	return mux
}

func post(t *testing.T, h http.Handler, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/lookup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer staff-token")
	req.RemoteAddr = "203.0.113.7:51234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestLookupPage(t *testing.T) {
	f := &fakeIntake{}
	h := serve(t, f)

	req := httptest.NewRequest(http.MethodGet, "/lookup?region=141181", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `value="141181"`) || !strings.Contains(rec.Body.String(), "办理进度查询") {
		t.Fatalf("form: HTTP %d\n%s", rec.Code, rec.Body)
	}

	rec = post(t, h, url.Values{"region": {"141181"}, "number": {"2026年第17号"}, "code": {"K7M2Q9WX"}})
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("right code: HTTP %d\n%s", rec.Code, body)
	}
	for _, w := range []string{"编号：2026年第17号", "办理中", "2026年3月1日", "2026年4月30日前" /* 15:59:59 UTC is the last second of 30 Apr in China */, "已登记，待分类流转", "2026年3月2日"} {
		if !strings.Contains(body, w) {
			t.Errorf("answer lacks %q:\n%s", w, body)
		}
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("answer may be cached")
	}

	// The printed form of the number and the API form reach the same dispute; a wrong code gets nothing.
	wrong := post(t, h, url.Values{"region": {"141181"}, "number": {"2026-17"}, "code": {"WRONG234"}})
	missing := post(t, h, url.Values{"region": {"141181"}, "number": {"2026-99"}, "code": {"WRONG234"}})
	if wrong.Code != http.StatusNotFound || missing.Code != http.StatusNotFound {
		t.Fatalf("wrong code HTTP %d, missing number HTTP %d; want 404 both", wrong.Code, missing.Code)
	}
	if strings.Replace(missing.Body.String(), "2026-99", "2026-17", 1) != wrong.Body.String() {
		t.Error("a wrong code and a missing number get different pages")
	}
	if strings.Contains(wrong.Body.String(), "办理环节") {
		t.Error("a wrong code shows a result")
	}

	f.mu.Lock()
	f.limited = true
	f.mu.Unlock()
	rec = post(t, h, url.Values{"region": {"141181"}, "number": {"2026年第17号"}, "code": {"K7M2Q9WX"}})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "870" || !strings.Contains(rec.Body.String(), "15 分钟") {
		t.Fatalf("limited: HTTP %d, Retry-After %q\n%s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}

	rec = post(t, h, url.Values{"region": {"14118"}, "number": {"第17号"}, "code": {"x"}})
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("malformed: HTTP %d", rec.Code)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	for _, md := range f.seen {
		if len(md.Get("authorization")) != 0 {
			t.Error("the lookup forwarded an Authorization header")
		}
		if got := md.Get(ClientAddressHeader); len(got) != 1 || got[0] != "203.0.113.7" {
			t.Errorf("client address %v, want the browser's", got)
		}
	}
}
