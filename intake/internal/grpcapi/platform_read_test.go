package grpcapi_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/intake/internal/grpcapi"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// TestPlatformReadsTheMatterAtThePlatform: the mediation platform's staff
// (role platform) read a matter while routing lets their unit read it (at
// the platform), with the claimant's numbers masked, and nothing before or
// after; a matter never sent there is not found.
func TestPlatformReadsTheMatterAtThePlatform(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	tax := e.as(conn, region, "tax", "clerk1", "clerk")
	plc := e.as(conn, region, "plc", "hao", "platform")
	n := tax.register(t, validForm()).GetDispute().GetName()
	other := tax.register(t, validForm()).GetDispute().GetName()

	_, err := plc.GetDispute(plc.ctx(t), &intakev1.GetDisputeRequest{Name: n})
	wantCode(t, err, codes.NotFound, grpcapi.ReasonDisputeNotFound)

	e.routingEvent(t, n, &routingv1.ApprovalApplied{Approved: true},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_AT_PLATFORM, Holder: "tax",
			Readers: []string{"tax", "plc"}, GuestReaders: []string{"plc"}, Version: 6})
	got := plc.get(t, n).GetClaimant()
	if got.GetPhone() == phone || got.GetIdNumber() == idNumber || got.GetPhone() == "" {
		t.Fatalf("the platform sees %q %q, want them masked", got.GetPhone(), got.GetIdNumber())
	}
	_, err = plc.GetDispute(plc.ctx(t), &intakev1.GetDisputeRequest{Name: other})
	wantCode(t, err, codes.NotFound, grpcapi.ReasonDisputeNotFound)

	e.routingEvent(t, n, &routingv1.ReplyRecorded{},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_REPLIED, Holder: "tax", Readers: []string{"tax"}, Version: 7})
	_, err = plc.GetDispute(plc.ctx(t), &intakev1.GetDisputeRequest{Name: n})
	wantCode(t, err, codes.NotFound, grpcapi.ReasonDisputeNotFound)
}
