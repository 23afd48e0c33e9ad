package grpcapi_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/intake/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

func TestWithdrawDispute(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	clerk := e.as(conn, region, "tax", "clerk1", "clerk")
	register := func(id string) string {
		resp, err := clerk.RegisterDispute(clerk.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: id, Dispute: validForm()})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetDispute().GetName()
	}
	first, second := register("r1"), register("r2")
	stream := events.Stream(store.Service, region)

	for _, tc := range []struct {
		name   string
		c      caller
		target string
		code   codes.Code
		reason string
	}{
		{"another department's handler", e.as(conn, region, "hrss", "h2", "handler"), first, codes.NotFound, grpcapi.ReasonDisputeNotFound},
		{"convenor may not", e.as(conn, region, "gov_office", "c1", "convenor"), first, codes.PermissionDenied, ""},
		{"another region's office", e.as(conn, "141182", "tax", "o2", "office"), first, codes.PermissionDenied, dispute.ReasonRegionMismatch},
		{"missing", clerk, name(e, 99), codes.NotFound, grpcapi.ReasonDisputeNotFound},
		{"registering handler", e.as(conn, region, "tax", "h1", "handler"), first, codes.OK, ""},
		{"again", clerk, first, codes.FailedPrecondition, grpcapi.ReasonAlreadyWithdrawn},
		{"office", e.as(conn, region, "hrss", "o1", "office"), second, codes.OK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.rdb.XLen(t.Context(), stream).Result()
			resp, err := tc.c.WithdrawDispute(tc.c.ctx(t), &intakev1.WithdrawDisputeRequest{Name: tc.target, Reason: "已与单位协商解决"})
			after, _ := e.rdb.XLen(t.Context(), stream).Result()
			if tc.code != codes.OK {
				wantCode(t, err, tc.code, tc.reason)
				if after != before {
					t.Errorf("a refused withdrawal published %d events", after-before)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := resp.GetDispute()
			if !d.GetWithdrawTime().AsTime().Equal(e.clock.Now()) || d.GetWithdrawReason() != "已与单位协商解决" {
				t.Errorf("withdrawn dispute = %v", d)
			}
			msgs, err := e.rdb.XRevRangeN(t.Context(), stream, "+", "-", 1).Result()
			if err != nil || after != before+1 {
				t.Fatalf("stream grew by %d (err %v), want 1", after-before, err)
			}
			ev, err := events.Decode(msgs[0])
			if err != nil {
				t.Fatal(err)
			}
			p, err := events.Payload[*intakev1.DisputeWithdrawn](ev)
			if err != nil {
				t.Fatal(err)
			}
			if ev.GetDispute() != tc.target || p.GetReason() != "已与单位协商解决" || ev.GetReason() != "已与单位协商解决" {
				t.Errorf("event = %v", ev)
			}
			// The stored dispute shows the withdrawal.
			got, err := clerk.GetDispute(clerk.ctx(t), &intakev1.GetDisputeRequest{Name: tc.target})
			if err != nil {
				t.Fatal(err)
			}
			if got.GetDispute().GetWithdrawTime() == nil {
				t.Error("GetDispute shows no withdrawal")
			}
		})
	}
}
