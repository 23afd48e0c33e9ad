package service_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

func (p *platform) meetingEvent(t *testing.T, name string, payload proto.Message, at time.Time) {
	t.Helper()
	actor := &typesv1.Actor{Region: region, Department: "tax", StaffId: "office_director", Roles: []typesv1.Role{typesv1.Role_ROLE_OFFICE}}
	ev, err := events.New("meeting", region, name, actor, "", payload, at)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := events.Values(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: events.Stream("meeting", region), Values: vals}).Err(); err != nil {
		t.Fatal(err)
	}
}

// noticesOf returns the department of each DeadlineWarning or Overdue of
// stage for name, in stream order.
func (p *platform) noticesOf(t *testing.T, name, typ string, stage routingv1.Stage) []string {
	t.Helper()
	msgs, err := p.rdb.XRange(context.Background(), events.Stream("routing", region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		ev, err := events.Decode(m)
		if err != nil || ev.GetDispute() != name || ev.GetType() != "disputes.routing.v1."+typ {
			continue
		}
		switch typ {
		case "Overdue":
			o, err := events.Payload[*routingv1.Overdue](ev)
			if err == nil && o.GetStage() == stage {
				out = append(out, o.GetDepartment())
			}
		case "DeadlineWarning":
			w, err := events.Payload[*routingv1.DeadlineWarning](ev)
			if err == nil && w.GetStage() == stage {
				out = append(out, w.GetDepartment())
			}
		}
	}
	return out
}

// TestOfficeClocksWarnTheirUnit runs the deadline scanner over the office
// path on the 2026 calendar from etcd: the office's triage clock from its
// receipt, and one opinion clock per invited unit from the convening, each
// warning and Overdue raised once and addressed to the unit that owes it;
// a unit that gave its opinion in time is never Overdue.
func TestOfficeClocksWarnTheirUnit(t *testing.T) {
	p := newPlatform(t, cst(2026, 9, 14, 10, 0)) // a Monday
	r := p.start(t, "a")
	name := p.register(t, 41)
	p.tracking(t, r, name)
	if _, err := r.client.RouteDispute(p.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE, Opinion: "职责不清"}); err != nil {
		t.Fatal(err)
	}
	resp, err := r.client.ReceiveTransfer(p.as(t, "host"), &routingv1.ReceiveTransferRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	// 5 working days from Monday 14 September on the 2026 calendar: Tue 15
	// to Fri 18, and Sunday 20 September, a make-up working day (调休上班).
	var triage *routingv1.Clock
	for _, c := range resp.GetTracking().GetClocks() {
		if c.GetStage() == routingv1.Stage_STAGE_TRIAGE {
			triage = c
		}
	}
	if triage.GetStage() != routingv1.Stage_STAGE_TRIAGE || triage.GetDepartment() != "tax" ||
		!triage.GetDueTime().AsTime().Equal(cst(2026, 9, 20, 23, 59).Add(59*time.Second)) {
		t.Fatalf("triage clock %v", triage)
	}
	p.clock.Set(cst(2026, 9, 18, 8, 0))
	waitFor(t, "triage warning", func() bool {
		return slices.Equal(p.noticesOf(t, name, "DeadlineWarning", routingv1.Stage_STAGE_TRIAGE), []string{"tax"})
	})

	convened := cst(2026, 9, 18, 9, 0)
	p.meetingEvent(t, name, &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}, convened)
	p.meetingEvent(t, "", &meetingv1.MeetingConvened{Meeting: &meetingv1.Meeting{
		Name: "regions/141181/meetings/m1", Disputes: []string{name}, InvitedUnits: []string{"finance", "justice"}}}, convened)
	waitFor(t, "opinion clocks", func() bool { return len(p.tracking(t, r, name).GetInvitations()) == 2 })
	p.meetingEvent(t, name, &meetingv1.OpinionSubmitted{Meeting: "regions/141181/meetings/m1",
		Opinion: &meetingv1.Opinion{Dispute: name, Unit: "justice", Text: "意见", SubmitTime: timestamppb.New(convened.Add(time.Hour))}}, convened.Add(time.Hour))
	// 5 working days from Friday 18 September: Sun 20 (make-up), Mon 21 to
	// Thu 24; due at the end of Thursday 24 (中秋节 begins on the 25th),
	// warned on the working day before, then Overdue.
	p.clock.Set(cst(2026, 9, 23, 8, 0))
	waitFor(t, "finance's opinion warning", func() bool {
		return slices.Equal(p.noticesOf(t, name, "DeadlineWarning", routingv1.Stage_STAGE_OPINION), []string{"finance"})
	})
	p.clock.Set(cst(2026, 9, 25, 0, 0).Add(time.Second))
	waitFor(t, "finance's opinion Overdue", func() bool {
		return slices.Equal(p.noticesOf(t, name, "Overdue", routingv1.Stage_STAGE_OPINION), []string{"finance"})
	})
	time.Sleep(300 * time.Millisecond) // more scans: still once, and none for justice
	if got := p.noticesOf(t, name, "Overdue", routingv1.Stage_STAGE_OPINION); !slices.Equal(got, []string{"finance"}) {
		t.Fatalf("opinion Overdue to %v", got)
	}
	if got := p.noticesOf(t, name, "DeadlineWarning", routingv1.Stage_STAGE_OPINION); !slices.Equal(got, []string{"finance"}) {
		t.Fatalf("opinion warnings to %v, want finance's alone", got)
	}
}
