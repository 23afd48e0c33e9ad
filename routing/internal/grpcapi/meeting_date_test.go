package grpcapi_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
)

// TestOpinionsDueFromTheMeeting: the invited units' opinions are due five
// working days from the meeting (DESIGN section 3), not from when the office
// recorded it: a meeting held the week before is overdue at once, one
// held later in the week is due five working days after it, and a meeting
// with no time is counted from its convening.
func TestOpinionsDueFromTheMeeting(t *testing.T) {
	clk := &movableClock{t: time.Date(2026, 9, 1, 10, 0, 0, 0, cst)} // a Tuesday
	f := startAt(t, clk.now)
	for _, tc := range []struct {
		n       int
		start   time.Time // zero: none given
		due     time.Time
		overdue bool
	}{
		{321, time.Date(2026, 8, 24, 9, 0, 0, 0, cst), time.Date(2026, 8, 31, 23, 59, 59, 0, cst), true},
		{322, time.Date(2026, 9, 3, 9, 0, 0, 0, cst), time.Date(2026, 9, 10, 23, 59, 59, 0, cst), false},
		{323, time.Time{}, time.Date(2026, 9, 8, 23, 59, 59, 0, cst), false},
	} {
		name := f.open(t, tc.n, "hrss", clk.now())
		if _, err := f.client.RouteDispute(f.as(t, "hrss"), &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE, Opinion: "多部门"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.client.ReceiveTransfer(f.as(t, "office_host"), &routingv1.ReceiveTransferRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
		f.publishMeeting(t, meetingEvent(t, name, &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}, clk.now()))
		f.waitTracking(t, name, inState(stJoint))
		mt := &meetingv1.Meeting{Name: "regions/141181/meetings/d" + name[len(name)-3:], Disputes: []string{name}, InvitedUnits: []string{"finance", "justice"}}
		if !tc.start.IsZero() {
			mt.StartTime = timestamppb.New(tc.start)
		}
		f.publishMeeting(t, meetingEvent(t, name, &meetingv1.MeetingConvened{Meeting: mt}, clk.now()))
		f.waitTracking(t, name, func(tr *routingv1.Tracking) bool { return len(tr.GetInvitations()) == 2 })
		for _, u := range []string{"finance", "justice"} {
			it := item(f.worklist(t, u, u, routingv1.WorklistView_WORKLIST_VIEW_OPINIONS_OWED), name)
			if it == nil || !it.GetDueTime().AsTime().Equal(tc.due) || it.GetOverdue() != tc.overdue {
				t.Errorf("%s: %s owes %v, want due %v (overdue %v)", name, u, it, tc.due, tc.overdue)
			}
			if late := item(f.worklist(t, u, u, routingv1.WorklistView_WORKLIST_VIEW_OPINIONS_OVERDUE), name); (late != nil) != tc.overdue {
				t.Errorf("%s: %s overdue list holds %v, want overdue %v", name, u, late, tc.overdue)
			}
		}
	}
}
