package grpcapi_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// TestBadNames checks that names are refused by the one parser of
// platform/names, on the request field that held them.
func TestBadNames(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	clerk := e.as(conn, region, "tax", "clerk1", "clerk")
	for _, name := range []string{
		"regions/141181/disputes/2026-017",
		"regions/141181/disputes/2026-0",
		"regions/1411811/disputes/2026-1",
		"regions/141181/disputes/2026-1/",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := clerk.GetDispute(clerk.ctx(t), &intakev1.GetDisputeRequest{Name: name})
			wantCode(t, err, codes.InvalidArgument, apierr.ReasonInvalidArgument)
			if vs := apierr.FieldViolations(err); len(vs) != 1 || vs[0].Field != "name" {
				t.Errorf("violations = %v, want one on name", vs)
			}
		})
	}
	t.Run("parent", func(t *testing.T) {
		_, err := clerk.ListDisputes(clerk.ctx(t), &intakev1.ListDisputesRequest{Parent: "regions/1411811"})
		wantCode(t, err, codes.InvalidArgument, apierr.ReasonInvalidArgument)
		if vs := apierr.FieldViolations(err); len(vs) != 1 || vs[0].Field != "parent" {
			t.Errorf("violations = %v, want one on parent", vs)
		}
	})
}

// TestRedisDown checks that a stopped Redis is UNAVAILABLE with reason
// BACKEND_UNAVAILABLE and a fixed message: the caller never sees the
// backend's error, which goes to the call's log line instead.
func TestRedisDown(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	clerk := e.as(conn, region, "tax", "clerk1", "clerk")
	name := "regions/" + region + "/disputes/2026-1"
	_, err := clerk.GetDispute(clerk.ctx(t), &intakev1.GetDisputeRequest{Name: name})
	wantCode(t, err, codes.NotFound, "")

	e.redis.Kill()
	_, err = clerk.GetDispute(clerk.ctx(t), &intakev1.GetDisputeRequest{Name: name})
	e.redis.Restart(t) // so the instance stops cleanly
	wantCode(t, err, codes.Unavailable, apierr.ReasonBackendUnavailable)
	if diff := cmp.Diff(apierr.MsgBackendUnavailable, status.Convert(err).Message()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.logs.String(), `"cause":`) {
		t.Errorf("the backend error was not logged:\n%s", e.logs.String())
	}
}

// TestUnexpectedErrorHidden checks that a failure nobody planned for (here
// a key of the wrong type) is INTERNAL with a fixed message.
func TestUnexpectedErrorHidden(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	clerk := e.as(conn, region, "tax", "clerk1", "clerk")
	if err := e.rdb.LPush(t.Context(), store.DisputeKey(region, "2026-5"), "x").Err(); err != nil {
		t.Fatal(err)
	}
	_, err := clerk.GetDispute(clerk.ctx(t), &intakev1.GetDisputeRequest{Name: "regions/" + region + "/disputes/2026-5"})
	wantCode(t, err, codes.Internal, apierr.ReasonInternal)
	if msg := status.Convert(err).Message(); msg != apierr.MsgInternal {
		t.Errorf("message = %q, want %q", msg, apierr.MsgInternal)
	}
	if !strings.Contains(e.logs.String(), "WRONGTYPE") {
		t.Errorf("the internal error was not logged:\n%s", e.logs.String())
	}
}
