package grpcapi_test

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// Two routing replicas on one Redis: each starts a change from the tracker
// as it last wrote it, and neither answers on a copy the other has made
// stale (docs/ARCHITECTURE.md, "Routing's writes").
func TestReplicasJudgeChangesOnTheStoredTracker(t *testing.T) {
	f := start(t)
	a, b := f.client, f.replica(t)
	ev := registered(t, 41, "tax")
	f.publish(t, ev)
	name := ev.GetDispute()
	f.waitTracking(t, name, exists)

	// a transfers to hrss; b takes the return.
	_, err := a.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name,
		Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: "hrss", Opinion: "属人社部门职责", ReasonCode: "OTHER_DUTY"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReturnTransfer(f.as(t, "hrss"), &routingv1.ReturnTransferRequest{Name: name, Reason: "不属本部门职责"}); err != nil {
		t.Fatal(err)
	}

	// On a's copy the dispute is still transferred to hrss, where tax may
	// not route it: the refusal is not trusted and the route is judged on
	// the tracker as stored, back with tax.
	self, err := a.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name,
		Kind: routingv1.RouteKind_ROUTE_KIND_SELF, Opinion: "属本部门职责"})
	if err != nil {
		t.Fatalf("route on a copy made stale by the other replica: %v", err)
	}
	if tr := self.GetTracking(); tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_HANDLING || tr.GetHolder() != "tax" {
		t.Fatalf("after the route: %v", tr)
	}

	// On a's copy (before the return) hrss could receive; as stored it has
	// no part any more: nothing is written and the answer is the stored
	// tracker's.
	_, err = a.ReceiveTransfer(f.as(t, "hrss"), &routingv1.ReceiveTransferRequest{Name: name})
	wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")

	// b's copy is from before a's route: routing it to tax again would pass
	// there and is refused on the tracker as stored.
	_, err = b.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name,
		Kind: routingv1.RouteKind_ROUTE_KIND_SELF, Opinion: "属本部门职责"})
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_HANDLING")
	want := []string{"TrackingOpened", "DisputeRouted", "TransferReturned", "DisputeRouted"}
	if got := f.routingEvents(t, name); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("routing events = %v, want %v", got, want)
	}

	// a moved the dispute last: its next change is one round trip, the
	// script's run (whose own GET Redis counts), with no read before it.
	before := testenv.CommandCalls(t, f.rdb.(*redis.Client))
	if _, err := a.AddProgressNote(f.as(t, "tax"), &routingv1.AddProgressNoteRequest{Name: name, Text: "已调取缴费记录"}); err != nil {
		t.Fatal(err)
	}
	after := testenv.CommandCalls(t, f.rdb.(*redis.Client))
	if d := after["get"] - before["get"]; d != 1 {
		t.Errorf("GET ran %d times for a change on the replica that wrote the tracker last, want 1 (the script's)", d)
	}
	if d := after["evalsha"] - before["evalsha"]; d != 1 {
		t.Errorf("EVALSHA ran %d times, want 1", d)
	}
}
