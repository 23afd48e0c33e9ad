package grpcapi_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

var cst = time.FixedZone("CST", 8*3600)

const (
	stRegistered  = typesv1.DisputeState_DISPUTE_STATE_REGISTERED
	stTransferred = typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED
	stHandling    = typesv1.DisputeState_DISPUTE_STATE_HANDLING
	stAtOffice    = typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE
	stJoint       = typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING
	stApproval    = typesv1.DisputeState_DISPUTE_STATE_AWAITING_APPROVAL
	stPlatform    = typesv1.DisputeState_DISPUTE_STATE_AT_PLATFORM
	stReplied     = typesv1.DisputeState_DISPUTE_STATE_REPLIED
	stClosed      = typesv1.DisputeState_DISPUTE_STATE_CLOSED

	reconsideration = typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION
	litigation      = typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION
	review          = typesv1.Remedy_REMEDY_REVIEW_REQUEST
	mediation       = typesv1.Remedy_REMEDY_MEDIATION
	arbitration     = typesv1.Remedy_REMEDY_ARBITRATION
)

// registeredAt is a DisputeRegistered of dispute n by dept, registered at at.
func registeredAt(t *testing.T, n int, dept string, at time.Time) *eventv1.Event {
	t.Helper()
	name := fmt.Sprintf("regions/%s/disputes/2026-%d", region, n)
	actor := &typesv1.Actor{Region: region, Department: dept, StaffId: "clerk", Roles: []typesv1.Role{typesv1.Role_ROLE_CLERK}}
	ev, err := events.New("intake", region, name, actor, "", &intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{
		Name: name, Number: fmt.Sprintf("2026年第%d号", n), RegisteringDepartment: dept, FirstReceiver: "clerk",
		Category: typesv1.Category_CATEGORY_LATE_FEE, Channel: typesv1.Channel_CHANNEL_WINDOW,
		Complaint: "滞纳金计算有误", RegisterTime: timestamppb.New(at),
	}}, at)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// open registers dispute n by dept at at and waits until routing tracks it.
func (f *fixture) open(t *testing.T, n int, dept string, at time.Time) string {
	t.Helper()
	ev := registeredAt(t, n, dept, at)
	f.publish(t, ev)
	f.waitTracking(t, ev.GetDispute(), exists)
	return ev.GetDispute()
}

// publishMeeting writes a meeting event into the meeting stream the way the
// meeting service does.
func (f *fixture) publishMeeting(t *testing.T, ev *eventv1.Event) {
	t.Helper()
	vals, err := events.Values(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: events.Stream("meeting", region), Values: vals}).Err(); err != nil {
		t.Fatal(err)
	}
}

func meetingEvent(t *testing.T, name string, payload proto.Message, at time.Time) *eventv1.Event {
	t.Helper()
	actor := &typesv1.Actor{Region: region, Department: "tax", StaffId: "office_director", Roles: []typesv1.Role{typesv1.Role_ROLE_OFFICE}}
	ev, err := events.New("meeting", region, name, actor, "", payload, at)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func inState(s typesv1.DisputeState) func(*routingv1.Tracking) bool {
	return func(tr *routingv1.Tracking) bool { return tr.GetState() == s }
}

func remedyDates(r *routingv1.Reply) []string {
	var out []string
	for _, d := range r.GetRemedies() {
		out = append(out, strings.TrimPrefix(d.GetRemedy().String(), "REMEDY_")+" "+d.GetLastDate())
		if d.GetBasis() == "" {
			out = append(out, "no basis")
		}
	}
	return out
}

// TestReplyLifecycle drives a transferred dispute through receipt,
// handling, the written reply, a dissatisfied follow-up, the office's
// redo, a second reply and the objection that closes it; other
// departments can neither see nor act on it.
func TestReplyLifecycle(t *testing.T) {
	now := time.Date(2026, 8, 31, 10, 0, 0, 0, cst) // a Monday
	f := startAt(t, func() time.Time { return now })
	name := f.open(t, 41, "tax", now.Add(-time.Hour))

	if _, err := f.client.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name,
		Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: "hrss", Opinion: "属人社部门职责"}); err != nil {
		t.Fatal(err)
	}
	// A department with no part sees nothing and cannot receive.
	_, err := f.client.GetTracking(f.as(t, "finance"), &routingv1.GetTrackingRequest{Name: name})
	wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")
	_, err = f.client.ReceiveTransfer(f.as(t, "finance"), &routingv1.ReceiveTransferRequest{Name: name})
	wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")
	// Replying before receipt names the state.
	reply := &routingv1.RecordReplyRequest{Name: name, Outcome: "维持原核定", Text: "经核查, 滞纳金计算无误。",
		Remedies: []typesv1.Remedy{litigation, review, reconsideration}}
	_, err = f.client.RecordReply(f.as(t, "hrss"), reply)
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_TRANSFERRED")

	if _, err := f.client.ReceiveTransfer(f.as(t, "hrss"), &routingv1.ReceiveTransferRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	note, err := f.client.AddProgressNote(f.as(t, "hrss"), &routingv1.AddProgressNoteRequest{Name: name, Text: "已约谈缴费单位"})
	if err != nil {
		t.Fatal(err)
	}
	if n := note.GetTracking().GetNotes(); len(n) != 1 || n[0].GetText() != "已约谈缴费单位" || n[0].GetActor().GetDepartment() != "hrss" {
		t.Fatalf("notes = %v", n)
	}
	_, err = f.client.AddProgressNote(f.as(t, "tax"), &routingv1.AddProgressNoteRequest{Name: name, Text: "x"})
	wantCode(t, err, codes.PermissionDenied, "PERMISSION_DENIED", "hrss")

	// Only the holder replies: not the registering department nor the
	// office, who may read it; a stranger does not find it.
	for _, who := range []string{"tax", "office"} {
		_, err = f.client.RecordReply(f.as(t, who), reply)
		wantCode(t, err, codes.PermissionDenied, "PERMISSION_DENIED", "")
	}
	_, err = f.client.RecordReply(f.as(t, "finance"), reply)
	wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")
	stale := proto.Clone(reply).(*routingv1.RecordReplyRequest)
	stale.Etag = "1"
	_, err = f.client.RecordReply(f.as(t, "hrss"), stale)
	wantCode(t, err, codes.Aborted, "ETAG_MISMATCH", "")
	bad := proto.Clone(reply).(*routingv1.RecordReplyRequest)
	bad.Outcome = ""
	_, err = f.client.RecordReply(f.as(t, "hrss"), bad)
	wantCode(t, err, codes.InvalidArgument, "", "outcome")

	resp, err := f.client.RecordReply(f.as(t, "hrss"), reply)
	if err != nil {
		t.Fatal(err)
	}
	tr := resp.GetTracking()
	if tr.GetState() != stReplied || tr.GetReply().GetActor().GetDepartment() != "hrss" || !tr.GetReply().GetReplyTime().AsTime().Equal(now) {
		t.Fatalf("after reply: %v", tr)
	}
	// Reply 2026-08-31: litigation six months on is 2027-02-28, a Sunday, so
	// 2027-03-01; the review request 30 days on is 2026-09-30; reconsideration
	// 60 days on is 2026-10-30.
	want := []string{"ADMINISTRATIVE_LITIGATION 2027-03-01", "REVIEW_REQUEST 2026-09-30", "ADMINISTRATIVE_RECONSIDERATION 2026-10-30"}
	if got := remedyDates(tr.GetReply()); !slices.Equal(got, want) {
		t.Fatalf("remedies = %v, want %v", got, want)
	}
	for _, c := range tr.GetClocks() {
		if c.GetStopTime() == nil {
			t.Fatalf("clock %v still running after the reply", c)
		}
	}

	// Illegal now, each naming the state.
	_, err = f.client.RecordReply(f.as(t, "hrss"), reply)
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_REPLIED")
	_, err = f.client.AddProgressNote(f.as(t, "hrss"), &routingv1.AddProgressNoteRequest{Name: name, Text: "x"})
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_REPLIED")
	_, err = f.client.RouteDispute(f.as(t, "hrss"), &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE, Opinion: "x"})
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_REPLIED")

	// Redo needs the office role and a dissatisfied follow-up.
	redo := &routingv1.RedoDisputeRequest{Name: name, Reason: "缴费人不满意, 重新核查"}
	_, err = f.client.RedoDispute(f.as(t, "hrss"), redo)
	wantCode(t, err, codes.PermissionDenied, "", "")
	_, err = f.client.RedoDispute(f.as(t, "office"), redo)
	wantCode(t, err, codes.FailedPrecondition, "NO_DISSATISFIED_FOLLOW_UP", "")
	_, err = f.client.RecordFollowUp(f.as(t, "finance"), &routingv1.RecordFollowUpRequest{Name: name, Satisfied: false})
	wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")
	fu, err := f.client.RecordFollowUp(f.as(t, "office"), &routingv1.RecordFollowUpRequest{Name: name, Satisfied: false, Note: "认为滞纳金起算日有误"})
	if err != nil {
		t.Fatal(err)
	}
	if fus := fu.GetTracking().GetFollowUps(); len(fus) != 1 || fus[0].GetSatisfied() || fus[0].GetActor().GetStaffId() != "chen_jie" {
		t.Fatalf("follow-ups = %v", fus)
	}
	rd, err := f.client.RedoDispute(f.as(t, "office"), redo)
	if err != nil {
		t.Fatal(err)
	}
	tr = rd.GetTracking()
	last := tr.GetClocks()[len(tr.GetClocks())-1]
	if tr.GetState() != stHandling || tr.GetHolder() != "hrss" || tr.GetRedoCount() != 1 ||
		last.GetStage() != routingv1.Stage_STAGE_HANDLING || last.GetStopTime() != nil || !last.GetStartTime().AsTime().Equal(now) {
		t.Fatalf("after redo: %v", tr)
	}
	_, err = f.client.RecordFollowUp(f.as(t, "office"), &routingv1.RecordFollowUpRequest{Name: name, Satisfied: true})
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_HANDLING")

	// Second reply with the default remedies.
	resp, err = f.client.RecordReply(f.as(t, "hrss"), &routingv1.RecordReplyRequest{Name: name, Outcome: "调减滞纳金", Text: "重新核查后调减。"})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"ADMINISTRATIVE_RECONSIDERATION 2026-10-30", "ADMINISTRATIVE_LITIGATION 2027-03-01", "MEDIATION ", "ARBITRATION "}
	if got := remedyDates(resp.GetTracking().GetReply()); !slices.Equal(got, want) {
		t.Fatalf("default remedies = %v, want %v", got, want)
	}

	// The objection: not by a stranger; by the registering department.
	obj := &routingv1.RecordObjectionRequest{Name: name, Remedy: reconsideration, Note: "申请行政复议"}
	_, err = f.client.RecordObjection(f.as(t, "finance"), obj)
	wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")
	ob, err := f.client.RecordObjection(f.as(t, "tax"), obj)
	if err != nil {
		t.Fatal(err)
	}
	tr = ob.GetTracking()
	if tr.GetState() != stClosed || tr.GetCloseCause() != "objection" || tr.GetObjectionRemedy() != reconsideration {
		t.Fatalf("after objection: %v", tr)
	}
	_, err = f.client.CloseDispute(f.as(t, "hrss"), &routingv1.CloseDisputeRequest{Name: name})
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_CLOSED")
	_, err = f.client.RecordObjection(f.as(t, "tax"), obj)
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_CLOSED")

	wantEvents := []string{"TrackingOpened", "DisputeRouted", "TransferReceived", "ProgressNoteAdded", "ReplyRecorded",
		"FollowUpRecorded", "DisputeRedone", "ReplyRecorded", "ObjectionRecorded", "DisputeClosed"}
	if got := f.routingEvents(t, name); !slices.Equal(got, wantEvents) {
		t.Fatalf("routing events = %v, want %v", got, wantEvents)
	}
	// The objection and the closing it causes are published together with
	// one time; the archive orders by time and then id, so the ids ascend.
	msgs, err := f.rdb.XRange(context.Background(), events.Stream("routing", region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, m := range msgs {
		if ev, err := events.Decode(m); err == nil && ev.GetDispute() == name {
			ids[strings.TrimPrefix(ev.GetType(), "disputes.routing.v1.")] = ev.GetId()
		}
	}
	if ids["ObjectionRecorded"] >= ids["DisputeClosed"] {
		t.Errorf("ObjectionRecorded id %s does not sort before DisputeClosed id %s", ids["ObjectionRecorded"], ids["DisputeClosed"])
	}
	// Every transition carries its own event id; notes and follow-ups did
	// not overwrite them.
	seen := map[string]bool{}
	for _, h := range tr.GetHistory() {
		if h.GetEventId() == "" || seen[h.GetEventId()] {
			t.Fatalf("history event ids not distinct: %v", tr.GetHistory())
		}
		seen[h.GetEventId()] = true
	}
	if len(tr.GetHistory()) != 7 {
		t.Fatalf("history = %v", tr.GetHistory())
	}
}

func TestCloseByHolderAndEscalation(t *testing.T) {
	f := start(t)
	now := time.Now()
	a := f.open(t, 51, "tax", now)
	if _, err := f.client.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: a, Kind: routingv1.RouteKind_ROUTE_KIND_SELF, Opinion: "本单位职责"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.client.CloseDispute(f.as(t, "tax"), &routingv1.CloseDisputeRequest{Name: a})
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_HANDLING")
	if _, err := f.client.RecordReply(f.as(t, "tax"), &routingv1.RecordReplyRequest{Name: a, Outcome: "o", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.CloseDispute(f.as(t, "office"), &routingv1.CloseDisputeRequest{Name: a})
	wantCode(t, err, codes.PermissionDenied, "PERMISSION_DENIED", "")
	cl, err := f.client.CloseDispute(f.as(t, "tax"), &routingv1.CloseDisputeRequest{Name: a, Reason: "缴费人表示满意"})
	if err != nil {
		t.Fatal(err)
	}
	if tr := cl.GetTracking(); tr.GetState() != stClosed || tr.GetCloseCause() != "closed_by_holder" {
		t.Fatalf("after close: %v", tr)
	}

	// Escalation: the holder sends a dispute it handles to the office.
	b := f.open(t, 52, "hrss", now)
	if _, err := f.client.RouteDispute(f.as(t, "hrss"), &routingv1.RouteDisputeRequest{Name: b, Kind: routingv1.RouteKind_ROUTE_KIND_SELF, Opinion: "本单位职责"}); err != nil {
		t.Fatal(err)
	}
	esc, err := f.client.RouteDispute(f.as(t, "hrss"), &routingv1.RouteDisputeRequest{Name: b, Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE, Opinion: "需财政、税务共同办理", ReasonCode: "SEVERAL_DEPARTMENTS"})
	if err != nil {
		t.Fatal(err)
	}
	if tr := esc.GetTracking(); tr.GetState() != stAtOffice || tr.GetHolder() != "tax" {
		t.Fatalf("after escalation: %v", tr)
	}
	// At the office the office may add notes; the old holder may not.
	if _, err := f.client.AddProgressNote(f.as(t, "office"), &routingv1.AddProgressNoteRequest{Name: b, Text: "拟召开联席会议"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.AddProgressNote(f.as(t, "hrss"), &routingv1.AddProgressNoteRequest{Name: b, Text: "x"})
	wantCode(t, err, codes.PermissionDenied, "PERMISSION_DENIED", "")
}

// TestMeetingOutcomes publishes the meeting service's events and checks
// each moves the dispute once, however often it is delivered.
func TestMeetingOutcomes(t *testing.T) {
	f := start(t)
	now := time.Now()
	toOffice := func(n int) string {
		name := f.open(t, n, "tax", now)
		if _, err := f.client.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE, Opinion: "职责不清"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.client.ReceiveTransfer(f.as(t, "office_host"), &routingv1.ReceiveTransferRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
		return name
	}

	t.Run("major matter: declined, triaged again, approved, platform outcome", func(t *testing.T) {
		name := toOffice(61)
		other := toOffice(62)
		path := func() []string {
			var out []string
			for _, h := range f.waitTracking(t, name, exists).GetHistory() {
				out = append(out, strings.TrimPrefix(h.GetTo().String(), "DISPUTE_STATE_"))
			}
			return out
		}
		major := meetingEvent(t, name, &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_MAJOR, Note: "涉及多家企业"}, now)
		f.publishMeeting(t, major)
		f.waitTracking(t, name, inState(stApproval))
		// The approval clock starts with the office's request.
		f.publishMeeting(t, meetingEvent(t, name, &meetingv1.ApprovalRequested{Approval: &meetingv1.Approval{Name: "regions/141181/approvals/a1", Dispute: name}}, now))
		tr := f.waitTracking(t, name, func(tr *routingv1.Tracking) bool {
			c := tr.GetClocks()[len(tr.GetClocks())-1]
			return c.GetStage() == routingv1.Stage_STAGE_APPROVAL && c.GetStopTime() == nil
		})
		if c := tr.GetClocks()[len(tr.GetClocks())-1]; !c.GetStartTime().AsTime().Equal(now) {
			t.Fatalf("approval clock = %v", c)
		}
		declined := meetingEvent(t, name, &meetingv1.ApprovalDecided{Approval: &meetingv1.Approval{Dispute: name, Decided: true, Approved: false, Comment: "先由办公室协调"}}, now)
		f.publishMeeting(t, declined)
		f.waitTracking(t, name, inState(stAtOffice))
		// Both delivered again: the triage would be legal again from
		// AT_OFFICE, so only idempotency keeps it from applying twice.
		f.publishMeeting(t, major)
		f.publishMeeting(t, declined)
		// The stream is consumed in order: once this later event has moved
		// the other dispute, the redeliveries have been handled.
		f.publishMeeting(t, meetingEvent(t, other, &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}, now))
		f.waitTracking(t, other, inState(stJoint))
		if got, want := path(), []string{"REGISTERED", "AT_OFFICE", "AT_OFFICE", "AWAITING_APPROVAL", "AT_OFFICE"}; !slices.Equal(got, want) {
			t.Fatalf("history after redelivery = %v, want %v", got, want)
		}

		f.publishMeeting(t, meetingEvent(t, name, &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_MAJOR}, now))
		f.waitTracking(t, name, inState(stApproval))
		f.publishMeeting(t, meetingEvent(t, name, &meetingv1.ApprovalDecided{Approval: &meetingv1.Approval{Dispute: name, Decided: true, Approved: true}}, now))
		f.waitTracking(t, name, inState(stPlatform))
		outcome := meetingEvent(t, name, &meetingv1.PlatformOutcomeRecorded{Outcome: "调解成功", Text: "经平台调解, 双方达成一致。", Remedies: []typesv1.Remedy{review}}, now)
		f.publishMeeting(t, outcome)
		f.publishMeeting(t, outcome)
		tr = f.waitTracking(t, name, inState(stReplied))
		r := tr.GetReply()
		if r.GetOutcome() != "调解成功" || r.GetActor().GetStaffId() != "office_director" || len(r.GetRemedies()) != 1 ||
			r.GetRemedies()[0].GetLastDate() == "" || !r.GetReplyTime().AsTime().Equal(now) ||
			r.GetIssuer() != routingv1.ReplyIssuer_REPLY_ISSUER_PLATFORM {
			t.Fatalf("reply = %v", r)
		}
		f.publishMeeting(t, meetingEvent(t, other, &meetingv1.DecisionIssued{Outcome: "o", Text: "t"}, now))
		f.waitTracking(t, other, inState(stReplied))
		if got, want := path(), []string{"REGISTERED", "AT_OFFICE", "AT_OFFICE", "AWAITING_APPROVAL", "AT_OFFICE", "AWAITING_APPROVAL", "AT_PLATFORM", "REPLIED"}; !slices.Equal(got, want) {
			t.Fatalf("history = %v, want %v", got, want)
		}
		// Routing publishes every change it applies from the office as its
		// own event, each with the state after it and a rising version.
		want := []string{"TrackingOpened REGISTERED 1", "DisputeRouted AT_OFFICE 2", "TransferReceived AT_OFFICE 3", "DisputeTriaged AWAITING_APPROVAL 4",
			"ApprovalPending AWAITING_APPROVAL 5", "ApprovalApplied AT_OFFICE 6", "DisputeTriaged AWAITING_APPROVAL 7", "ApprovalApplied AT_PLATFORM 8", "ReplyRecorded REPLIED 9"}
		if got := f.routingLifecycles(t, name); !slices.Equal(got, want) {
			t.Fatalf("routing events = %v, want %v", got, want)
		}
	})

	t.Run("general matter: decision", func(t *testing.T) {
		name := toOffice(63)
		f.publishMeeting(t, meetingEvent(t, name, &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}, now))
		f.waitTracking(t, name, inState(stJoint))
		f.publishMeeting(t, meetingEvent(t, name, &meetingv1.DecisionIssued{Outcome: "由税务部门退还多收滞纳金", Text: "联席会议决定……"}, now))
		tr := f.waitTracking(t, name, inState(stReplied))
		if len(tr.GetReply().GetRemedies()) != 4 || tr.GetHistory()[len(tr.GetHistory())-1].GetActor().GetStaffId() != "office_director" {
			t.Fatalf("after decision: %v", tr)
		}
		// Issued by the joint-meeting office, not by its host unit.
		if tr.GetReply().GetIssuer() != routingv1.ReplyIssuer_REPLY_ISSUER_OFFICE {
			t.Fatalf("decision issued by %v, want the office", tr.GetReply().GetIssuer())
		}
		// The holder or office follows up as for any reply.
		if _, err := f.client.RecordFollowUp(f.as(t, "office"), &routingv1.RecordFollowUpRequest{Name: name, Satisfied: true}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestWorklists files 27 disputes in every state and pages through each of
// tax's buckets ten at a time.
func TestWorklists(t *testing.T) {
	now := time.Date(2026, 9, 1, 10, 0, 0, 0, cst) // a Tuesday
	f := startAt(t, func() time.Time { return now })
	day := 24 * time.Hour
	n := 95 // numbers cross from two digits to three: ordering must be numeric
	next := func() int { n++; return n }
	route := func(name, who string, kind routingv1.RouteKind, target string) {
		t.Helper()
		if _, err := f.client.RouteDispute(f.as(t, who), &routingv1.RouteDisputeRequest{Name: name, Kind: kind, TargetDepartment: target, Opinion: "op"}); err != nil {
			t.Fatal(err)
		}
	}
	reply := func(name, who string) {
		t.Helper()
		if _, err := f.client.RecordReply(f.as(t, who), &routingv1.RecordReplyRequest{Name: name, Outcome: "o", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	// Awaiting routing: registered 0 to 20 days ago, so some are overdue
	// (15 days) and some due within 3 working days.
	for _, ago := range []int{0, 1, 3, 20, 20, 6, 10, 12, 13, 14, 16} { // the two 20s are 2026-99 and 2026-100
		f.open(t, next(), "tax", now.Add(-time.Duration(ago)*day))
	}
	// Awaiting receipt at tax: transferred by hrss.
	for range 5 {
		name := f.open(t, next(), "hrss", now)
		route(name, "hrss", routingv1.RouteKind_ROUTE_KIND_TRANSFER, "tax")
	}
	// Handling by tax.
	for range 6 {
		name := f.open(t, next(), "tax", now)
		route(name, "tax", routingv1.RouteKind_ROUTE_KIND_SELF, "")
	}
	// Replied: open, no running clock.
	for range 2 {
		name := f.open(t, next(), "tax", now)
		route(name, "tax", routingv1.RouteKind_ROUTE_KIND_SELF, "")
		reply(name, "tax")
	}
	// Closed: in no worklist.
	for range 2 {
		name := f.open(t, next(), "tax", now)
		route(name, "tax", routingv1.RouteKind_ROUTE_KIND_SELF, "")
		reply(name, "tax")
		if _, err := f.client.CloseDispute(f.as(t, "tax"), &routingv1.CloseDisputeRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	// Held by hrss: not tax's.
	f.open(t, next(), "hrss", now)
	// Transferred away by tax: hrss's now.
	route(f.open(t, next(), "tax", now), "tax", routingv1.RouteKind_ROUTE_KIND_TRANSFER, "hrss")

	// What each bucket must hold, worked out from the trackers themselves.
	type item struct {
		name  string
		num   int
		due   time.Time
		state typesv1.DisputeState
	}
	var all []item
	for i := 96; i <= n; i++ {
		name := fmt.Sprintf("regions/%s/disputes/2026-%d", region, i)
		tr := f.waitTracking(t, name, exists)
		if tr.GetHolder() != "tax" || tr.GetState() == stClosed {
			continue
		}
		it := item{name: name, num: i, state: tr.GetState()}
		for _, c := range tr.GetClocks() {
			if c.GetStopTime() == nil {
				it.due = c.GetDueTime().AsTime()
			}
		}
		all = append(all, it)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		switch {
		case a.due.IsZero() != b.due.IsZero():
			return b.due.IsZero()
		case !a.due.Equal(b.due):
			return a.due.Before(b.due)
		}
		return a.num < b.num
	})
	soon := weekdays.AddWorkingDays(now, 3)
	want := map[routingv1.Bucket][]string{}
	for _, it := range all {
		want[routingv1.Bucket_BUCKET_UNSPECIFIED] = append(want[routingv1.Bucket_BUCKET_UNSPECIFIED], it.name)
		switch it.state {
		case stRegistered:
			want[routingv1.Bucket_BUCKET_AWAITING_ROUTING] = append(want[routingv1.Bucket_BUCKET_AWAITING_ROUTING], it.name)
		case stTransferred:
			want[routingv1.Bucket_BUCKET_AWAITING_RECEIPT] = append(want[routingv1.Bucket_BUCKET_AWAITING_RECEIPT], it.name)
		case stHandling:
			want[routingv1.Bucket_BUCKET_HANDLING] = append(want[routingv1.Bucket_BUCKET_HANDLING], it.name)
		}
		switch {
		case it.due.IsZero():
		case it.due.Before(now):
			want[routingv1.Bucket_BUCKET_OVERDUE] = append(want[routingv1.Bucket_BUCKET_OVERDUE], it.name)
		case !it.due.After(soon):
			want[routingv1.Bucket_BUCKET_DUE_SOON] = append(want[routingv1.Bucket_BUCKET_DUE_SOON], it.name)
		}
	}
	wantCounts := map[routingv1.Bucket]int32{}
	for b, names := range want {
		wantCounts[b] = int32(len(names))
	}
	// The fixture must exercise every bucket, and more than one page of some.
	if len(all) != 24 || wantCounts[routingv1.Bucket_BUCKET_OVERDUE] != 3 || wantCounts[routingv1.Bucket_BUCKET_DUE_SOON] < 2 ||
		wantCounts[routingv1.Bucket_BUCKET_AWAITING_RECEIPT] != 5 || wantCounts[routingv1.Bucket_BUCKET_HANDLING] != 6 {
		t.Fatalf("fixture: %d items, counts %v", len(all), wantCounts)
	}

	parent := "regions/" + region + "/departments/tax"
	for b := range routingv1.Bucket_name {
		bucket := routingv1.Bucket(b)
		t.Run(bucket.String(), func(t *testing.T) {
			var got []string
			token := ""
			for page := 0; ; page++ {
				if page > 5 {
					t.Fatal("too many pages")
				}
				resp, err := f.client.ListWorklist(f.as(t, "tax"), &routingv1.ListWorklistRequest{Parent: parent, Bucket: bucket, PageSize: 10, PageToken: token})
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.GetItems()) > 10 {
					t.Fatalf("page of %d items", len(resp.GetItems()))
				}
				counts := map[routingv1.Bucket]int32{}
				for _, c := range resp.GetCounts() {
					counts[c.GetBucket()] = c.GetCount()
				}
				for cb := range routingv1.Bucket_name {
					if counts[routingv1.Bucket(cb)] != wantCounts[routingv1.Bucket(cb)] {
						t.Fatalf("page %d counts = %v, want %v", page, counts, wantCounts)
					}
				}
				for _, it := range resp.GetItems() {
					got = append(got, it.GetDispute())
					if it.GetNumber() == "" || it.GetState() == typesv1.DisputeState_DISPUTE_STATE_UNSPECIFIED {
						t.Fatalf("item %v", it)
					}
				}
				token = resp.GetNextPageToken()
				if token == "" {
					break
				}
			}
			if !slices.Equal(got, want[bucket]) {
				t.Fatalf("listed\n%v\nwant\n%v", got, want[bucket])
			}
		})
	}

	t.Run("due-soon window and item fields", func(t *testing.T) {
		resp, err := f.client.ListWorklist(f.as(t, "office"), &routingv1.ListWorklistRequest{Parent: parent, Bucket: routingv1.Bucket_BUCKET_DUE_SOON, DueWithinDays: 60, PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range resp.GetItems() {
			if it.GetDueTime() == nil || it.GetStage() == routingv1.Stage_STAGE_UNSPECIFIED || it.GetRemainingWorkingDays() < 0 {
				t.Fatalf("item %v", it)
			}
			if i > 0 && it.GetDueTime().AsTime().Before(resp.GetItems()[i-1].GetDueTime().AsTime()) {
				t.Fatalf("items out of order at %d", i)
			}
		}
		if got := len(resp.GetItems()); got <= int(wantCounts[routingv1.Bucket_BUCKET_DUE_SOON]) {
			t.Fatalf("60 working days list %d, not more than 3 days' %d", got, wantCounts[routingv1.Bucket_BUCKET_DUE_SOON])
		}
	})

	t.Run("refusals", func(t *testing.T) {
		first, err := f.client.ListWorklist(f.as(t, "tax"), &routingv1.ListWorklistRequest{Parent: parent, PageSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			who   string
			req   *routingv1.ListWorklistRequest
			code  codes.Code
			inMsg string
		}{
			{"another department's list", "hrss", &routingv1.ListWorklistRequest{Parent: parent}, codes.PermissionDenied, ""},
			{"another region", "other_region", &routingv1.ListWorklistRequest{Parent: parent}, codes.PermissionDenied, ""},
			{"garbage token", "tax", &routingv1.ListWorklistRequest{Parent: parent, PageToken: "not-a-token"}, codes.InvalidArgument, "page_token"},
			{"token of another bucket", "tax", &routingv1.ListWorklistRequest{Parent: parent, Bucket: routingv1.Bucket_BUCKET_HANDLING, PageToken: first.GetNextPageToken()}, codes.InvalidArgument, "page_token"},
			{"token of another department", "office", &routingv1.ListWorklistRequest{Parent: "regions/" + region + "/departments/hrss", PageToken: first.GetNextPageToken()}, codes.InvalidArgument, "page_token"},
			{"bad parent", "tax", &routingv1.ListWorklistRequest{Parent: "regions/141181/units/tax"}, codes.InvalidArgument, "parent"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.client.ListWorklist(f.as(t, tt.who), tt.req)
				wantCode(t, err, tt.code, "", tt.inMsg)
			})
		}
		// The office sees hrss's list: the dispute tax transferred away and hrss's own.
		resp, err := f.client.ListWorklist(f.as(t, "office"), &routingv1.ListWorklistRequest{Parent: "regions/" + region + "/departments/hrss"})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetItems()) != 2 {
			t.Fatalf("hrss worklist = %v", resp.GetItems())
		}
	})
}
