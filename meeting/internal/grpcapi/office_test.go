package grpcapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// startOffice runs the meeting service with its consumer of routing's and
// intake's streams, as Setup wires it.
func startOffice(t *testing.T) *fixture {
	t.Helper()
	return startOfficeOn(t, false)
}

// startOfficeOn is startOffice on a Redis Cluster when cluster is true.
func startOfficeOn(t *testing.T, cluster bool) *fixture {
	t.Helper()
	f := startOn(t, cluster)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := &events.Subscription{
		Redis: f.rdb, Group: "meeting", Name: "test", Block: 50 * time.Millisecond, ClaimIdle: time.Second,
		Sources: []string{"routing", "intake"}, Regions: func() []string { return []string{region} },
		Routes:  map[string]events.Handler{events.TypeOf(&intakev1.MassDisputeWarning{}): store.New(f.rdb).MassWarningHandler()},
		Default: store.New(f.rdb).LifecycleHandler(), Log: log,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// publish appends a routing event on dispute to routing's stream the way
// routing does, with routing's account of the dispute in state s at the
// dispute's next version, and returns it.
func (f *fixture) publish(t *testing.T, dispute string, payload proto.Message, s typesv1.DisputeState) *eventv1.Event {
	t.Helper()
	actor := &typesv1.Actor{Region: region, Department: "tax", StaffId: "wang", Roles: []typesv1.Role{typesv1.Role_ROLE_CLERK}}
	ev, err := events.New("routing", region, dispute, actor, "", payload, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if f.versions == nil {
		f.versions = map[string]int64{}
	}
	f.versions[dispute]++
	ev.Lifecycle = &eventv1.Lifecycle{State: s, Version: f.versions[dispute], RegisteringDepartment: "tax",
		Number: fmt.Sprintf("2026年第%s号", dispute[strings.LastIndexByte(dispute, '-')+1:])}
	f.republish(t, ev)
	return ev
}

// republish appends ev again, as a redelivery would present it.
func (f *fixture) republish(t *testing.T, ev *eventv1.Event) {
	t.Helper()
	_, err := f.rdb.TxPipelined(testCtx(t), func(pipe redis.Pipeliner) error {
		return events.Append(testCtx(t), pipe, events.Stream("routing", region), ev)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// toOffice registers dispute n with routing's events and routes it to the
// office; it returns the dispute's name once the office knows it is there.
func (f *fixture) toOffice(t *testing.T, n int) (string, *eventv1.Event) {
	t.Helper()
	name := fmt.Sprintf("regions/%s/disputes/2026-%d", region, n)
	f.publish(t, name, &routingv1.TrackingOpened{Tracking: &routingv1.Tracking{
		Name: name, Number: fmt.Sprintf("2026年第%d号", n), State: typesv1.DisputeState_DISPUTE_STATE_REGISTERED, RegisteringDepartment: "tax"}},
		typesv1.DisputeState_DISPUTE_STATE_REGISTERED)
	routed := f.publish(t, name, &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE,
		Opinion: "需多部门共同办理", State: typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE}, typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE)
	f.waitState(t, name, typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE)
	return name, routed
}

// waitState waits until the office's view of name is in state s.
func (f *fixture) waitState(t *testing.T, name string, s typesv1.DisputeState) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got typesv1.DisputeState
		err := store.New(f.rdb).Update(testCtx(t), region, func(r *store.Reader) (*store.Writes, error) {
			m, err := r.Matter(name)
			if m != nil {
				got = m.State
			}
			return nil, err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got == s {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v in the office's view, want %v", name, got, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// meetingEvents returns the office's events in the meeting stream, in order.
func (f *fixture) meetingEvents(t *testing.T) []*eventv1.Event {
	t.Helper()
	msgs, err := f.rdb.XRange(testCtx(t), store.Stream(region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []*eventv1.Event
	for _, m := range msgs {
		ev, err := events.Decode(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func types(evs []*eventv1.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, strings.TrimPrefix(ev.GetType(), "disputes.meeting.v1."))
	}
	return out
}

// refused asserts err has code and a message containing each of texts.
func refused(t *testing.T, what string, err error, code codes.Code, texts ...string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Errorf("%s: %v, want %v", what, err, code)
		return
	}
	for _, s := range texts {
		if !strings.Contains(status.Convert(err).Message(), s) {
			t.Errorf("%s: message %q does not name %q", what, status.Convert(err).Message(), s)
		}
	}
}

func TestGeneralMatterJointHandling(t *testing.T) {
	t.Run("single", func(t *testing.T) { generalMatter(t, startOffice(t)) })
	t.Run("cluster", func(t *testing.T) { generalMatter(t, startOfficeOn(t, true)) })
}

func generalMatter(t *testing.T, f *fixture) {
	name, _ := f.toOffice(t, 11)
	office := f.as(t, region, "tax", authn.RoleOffice, authn.RoleHandler)
	hrss := f.as(t, region, "hrss", authn.RoleHandler)
	finance := f.as(t, region, "finance", authn.RoleHandler)

	_, err := f.meeting.TriageMatter(f.as(t, region, "tax", authn.RoleClerk), &meetingv1.TriageMatterRequest{Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL})
	refused(t, "triage by a clerk", err, codes.PermissionDenied)
	_, err = f.meeting.TriageMatter(f.as(t, "140100", "tax", authn.RoleOffice), &meetingv1.TriageMatterRequest{Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL})
	refused(t, "triage by another region's office", err, codes.PermissionDenied)
	_, err = f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: name})
	if got := status.Code(err); got != codes.InvalidArgument || !strings.Contains(fmt.Sprint(fields(err)), "class") {
		t.Errorf("triage without a class: %v (fields %v), want INVALID_ARGUMENT naming class", err, fields(err))
	}
	_, err = f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: "regions/" + region + "/disputes/2026-999", Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL})
	if status.Code(err) != codes.NotFound || apierr.Reason(err) != "DISPUTE_NOT_FOUND" {
		t.Errorf("triage of an unknown dispute: %v, want NOT_FOUND DISPUTE_NOT_FOUND", err)
	}

	tr, err := f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL, Note: "涉及税务、人社两部门"})
	if err != nil {
		t.Fatal(err)
	}
	if tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING {
		t.Errorf("after triage: %v", tr)
	}
	_, err = f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_MAJOR})
	refused(t, "second triage", err, codes.FailedPrecondition, "DISPUTE_STATE_JOINT_HANDLING")

	convene := func(reqID string, units ...string) (*meetingv1.ConveneMeetingResponse, error) {
		return f.meeting.ConveneMeeting(office, &meetingv1.ConveneMeetingRequest{
			Parent: "regions/" + region, RequestId: reqID,
			Meeting: &meetingv1.Meeting{Disputes: []string{name}, InvitedUnits: units, Place: "市税务局三楼会议室", Agenda: "缴费基数争议联办"},
		})
	}
	for _, tc := range []struct {
		units []string
		field string
	}{
		{[]string{"tax", "market"}, "meeting.invited_units[1]"},
		{[]string{"tax", "tax"}, "meeting.invited_units[1]"},
	} {
		_, err := convene("bad", tc.units...)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(fmt.Sprint(fields(err)), tc.field) {
			t.Errorf("convene %v: %v (fields %v), want INVALID_ARGUMENT naming %s", tc.units, err, fields(err), tc.field)
		}
	}
	cm, err := convene("meet-1", "tax", "hrss")
	if err != nil {
		t.Fatal(err)
	}
	mt := cm.GetMeeting()
	if !strings.HasPrefix(mt.GetName(), "regions/"+region+"/meetings/") {
		t.Errorf("meeting name %q", mt.GetName())
	}
	again, err := convene("meet-1", "tax", "hrss")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(mt, again.GetMeeting(), protocmp.Transform()); diff != "" {
		t.Errorf("convene retried with the same request_id (-first +retry):\n%s", diff)
	}

	opinion := func(ctx context.Context, dispute, text string) error {
		_, err := f.meeting.SubmitOpinion(ctx, &meetingv1.SubmitOpinionRequest{Parent: mt.GetName(),
			Opinion: &meetingv1.Opinion{Dispute: dispute, Text: text}})
		return err
	}
	uninvited := opinion(finance, name, "x")
	refused(t, "opinion of a unit not invited", uninvited, codes.NotFound)
	refused(t, "opinion by a clerk", opinion(f.as(t, region, "hrss", authn.RoleClerk), name, "x"), codes.PermissionDenied)
	err = opinion(hrss, "regions/"+region+"/disputes/2026-12", "x")
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(fmt.Sprint(fields(err)), "opinion.dispute") {
		t.Errorf("opinion on a dispute not on the agenda: %v, want INVALID_ARGUMENT naming opinion.dispute", err)
	}
	_, err = f.meeting.SubmitOpinion(hrss, &meetingv1.SubmitOpinionRequest{Parent: "regions/" + region + "/meetings/NOPE",
		Opinion: &meetingv1.Opinion{Dispute: name, Text: "x"}})
	refused(t, "opinion to an unknown meeting", err, codes.NotFound)
	// A unit not invited learns nothing more than of a meeting that does
	// not exist: the answers differ only in the name asked for.
	unknown := status.Convert(err).Proto()
	unknown.Message = strings.ReplaceAll(unknown.Message, "regions/"+region+"/meetings/NOPE", "<name>")
	hidden := status.Convert(uninvited).Proto()
	hidden.Message = strings.ReplaceAll(hidden.Message, mt.GetName(), "<name>")
	if d := cmp.Diff(unknown, hidden, protocmp.Transform()); d != "" {
		t.Errorf("not invited vs unknown meeting (-unknown +not invited):\n%s", d)
	}

	if err := opinion(office, name, "税务部门意见：按申报基数核定无误"); err != nil {
		t.Fatal(err)
	}
	decide := &meetingv1.IssueDecisionRequest{Name: name, Outcome: "维持原核定", Text: "经联席会议研究，维持原核定。",
		Remedies: []typesv1.Remedy{typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION}}
	_, err = f.meeting.IssueDecision(office, decide)
	refused(t, "decision while hrss's opinion is missing", err, codes.FailedPrecondition, "hrss")
	if apierr.Reason(err) != "OPINIONS_MISSING" {
		t.Errorf("reason %q, want OPINIONS_MISSING", apierr.Reason(err))
	}
	if err := opinion(hrss, name, "人社部门意见：初稿"); err != nil {
		t.Fatal(err)
	}
	if err := opinion(hrss, name, "人社部门意见：工资口径无异议"); err != nil {
		t.Fatal(err)
	}
	_, err = f.meeting.IssueDecision(hrss, decide)
	refused(t, "decision by a handler", err, codes.PermissionDenied)
	dr, err := f.meeting.IssueDecision(office, decide)
	if err != nil {
		t.Fatal(err)
	}
	if dr.GetState() != typesv1.DisputeState_DISPUTE_STATE_REPLIED {
		t.Errorf("after the decision: %v", dr)
	}
	_, err = f.meeting.IssueDecision(office, decide)
	refused(t, "second decision", err, codes.FailedPrecondition, "DISPUTE_STATE_REPLIED")
	refused(t, "opinion after the decision", opinion(hrss, name, "补充"), codes.FailedPrecondition, "DISPUTE_STATE_REPLIED")

	evs := f.meetingEvents(t)
	want := []string{"MatterTriaged", "MeetingConvened", "OpinionSubmitted", "OpinionSubmitted", "OpinionSubmitted", "DecisionIssued"}
	if diff := cmp.Diff(want, types(evs)); diff != "" {
		t.Fatalf("meeting events (-want +got):\n%s", diff)
	}
	for _, ev := range evs {
		if ev.GetDispute() != name || ev.GetRegion() != region {
			t.Errorf("%s filed under %q in %q", ev.GetType(), ev.GetDispute(), ev.GetRegion())
		}
	}
	if a := evs[3].GetActor(); a.GetDepartment() != "hrss" {
		t.Errorf("opinion's actor %v", a)
	}
	op, err := events.Payload[*meetingv1.OpinionSubmitted](evs[4])
	if err != nil {
		t.Fatal(err)
	}
	if op.GetMeeting() != mt.GetName() || op.GetOpinion().GetUnit() != "hrss" || op.GetOpinion().GetText() != "人社部门意见：工资口径无异议" {
		t.Errorf("OpinionSubmitted %v", op)
	}
	dec, err := events.Payload[*meetingv1.DecisionIssued](evs[5])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&meetingv1.DecisionIssued{Outcome: decide.Outcome, Text: decide.Text, Remedies: decide.Remedies}, dec, protocmp.Transform()); diff != "" {
		t.Errorf("DecisionIssued (-want +got):\n%s", diff)
	}
}

func TestMeetingOnSeveralDisputes(t *testing.T) {
	f := startOffice(t)
	office := f.as(t, region, "tax", authn.RoleOffice)
	a, _ := f.toOffice(t, 21)
	b, _ := f.toOffice(t, 22)
	req := &meetingv1.ConveneMeetingRequest{Parent: "regions/" + region, RequestId: "m-2",
		Meeting: &meetingv1.Meeting{Disputes: []string{a, b}, InvitedUnits: []string{"tax", "hrss", "finance"}}}
	_, err := f.meeting.ConveneMeeting(office, req)
	refused(t, "meeting on untriaged disputes", err, codes.FailedPrecondition, "DISPUTE_STATE_AT_OFFICE")
	for _, n := range []string{a, b} {
		if _, err := f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: n, Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.meeting.ConveneMeeting(office, req); err != nil {
		t.Fatal(err)
	}
	evs := f.meetingEvents(t)
	last := evs[len(evs)-1]
	if last.GetType() != "disputes.meeting.v1.MeetingConvened" || last.GetDispute() != "" {
		t.Errorf("meeting on two disputes published as %s under %q, want MeetingConvened under no dispute", last.GetType(), last.GetDispute())
	}
}

func TestMajorMatterToPlatform(t *testing.T) {
	f := startOffice(t)
	name, _ := f.toOffice(t, 31)
	office := f.as(t, region, "tax", authn.RoleOffice)
	convenor := f.as(t, region, "gov_office", authn.RoleConvenor)
	plc := f.as(t, region, "plc", authn.RolePlatform)

	triage := func() {
		t.Helper()
		tr, err := f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_MAJOR})
		if err != nil {
			t.Fatal(err)
		}
		if tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_AWAITING_APPROVAL {
			t.Errorf("after major triage: %v", tr)
		}
	}
	request := func() (*meetingv1.Approval, error) {
		resp, err := f.meeting.RequestApproval(office, &meetingv1.RequestApprovalRequest{
			Parent: "regions/" + region, Dispute: name, Summary: "涉及群体性欠费，拟纳入一站式平台"})
		return resp.GetApproval(), err
	}
	outcome := &meetingv1.RecordPlatformOutcomeRequest{Name: name, Outcome: "调解成功", Text: "经一站式平台调解，双方达成一致。"}

	_, err := request()
	refused(t, "approval before triage", err, codes.FailedPrecondition, "DISPUTE_STATE_AT_OFFICE")
	triage()
	_, err = f.meeting.ConveneMeeting(office, &meetingv1.ConveneMeetingRequest{Parent: "regions/" + region, RequestId: "m-3",
		Meeting: &meetingv1.Meeting{Disputes: []string{name}, InvitedUnits: []string{"tax", "hrss"}}})
	refused(t, "meeting on a major matter", err, codes.FailedPrecondition, "DISPUTE_STATE_AWAITING_APPROVAL")
	_, err = f.meeting.RecordPlatformOutcome(plc, outcome)
	refused(t, "platform outcome before approval", err, codes.FailedPrecondition, "DISPUTE_STATE_AWAITING_APPROVAL")

	first, err := request()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.GetName(), "regions/"+region+"/approvals/") || first.GetDecided() || first.GetDispute() != name {
		t.Errorf("approval %v", first)
	}
	_, err = request()
	refused(t, "second pending request", err, codes.FailedPrecondition, first.GetName()[strings.LastIndex(first.GetName(), "/")+1:])

	decide := func(ctx context.Context, name string, approve bool) (*meetingv1.Approval, error) {
		resp, err := f.meeting.DecideApproval(ctx, &meetingv1.DecideApprovalRequest{Name: name, Approve: approve, Comment: "意见"})
		return resp.GetApproval(), err
	}
	_, err = decide(office, first.GetName(), true)
	refused(t, "office deciding", err, codes.PermissionDenied)
	_, err = decide(f.as(t, region, "tax", authn.RoleClerk), first.GetName(), true)
	refused(t, "clerk deciding", err, codes.PermissionDenied)
	_, err = decide(f.as(t, "140100", "gov_office", authn.RoleConvenor), first.GetName(), true)
	refused(t, "another region's convenor", err, codes.PermissionDenied)

	declined, err := decide(convenor, first.GetName(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !declined.GetDecided() || declined.GetApproved() || declined.GetDecideTime() == nil {
		t.Errorf("declined approval %v", declined)
	}
	_, err = decide(convenor, first.GetName(), true)
	refused(t, "deciding twice", err, codes.FailedPrecondition, "already declined")
	_, err = f.meeting.RecordPlatformOutcome(plc, outcome)
	refused(t, "platform outcome after a decline", err, codes.FailedPrecondition, "DISPUTE_STATE_AT_OFFICE")

	// Declined, the dispute is back at the office and may be triaged again.
	triage()
	second, err := request()
	if err != nil {
		t.Fatal(err)
	}
	approved, err := decide(convenor, second.GetName(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !approved.GetDecided() || !approved.GetApproved() {
		t.Errorf("approved approval %v", approved)
	}
	_, err = f.meeting.RecordPlatformOutcome(office, outcome)
	refused(t, "outcome recorded by the office", err, codes.PermissionDenied)
	po, err := f.meeting.RecordPlatformOutcome(plc, outcome)
	if err != nil {
		t.Fatal(err)
	}
	if po.GetState() != typesv1.DisputeState_DISPUTE_STATE_REPLIED {
		t.Errorf("after the platform's outcome: %v", po)
	}

	evs := f.meetingEvents(t)
	want := []string{"MatterTriaged", "ApprovalRequested", "ApprovalDecided", "MatterTriaged", "ApprovalRequested", "ApprovalDecided", "PlatformOutcomeRecorded"}
	if diff := cmp.Diff(want, types(evs)); diff != "" {
		t.Fatalf("meeting events (-want +got):\n%s", diff)
	}
	ad, err := events.Payload[*meetingv1.ApprovalDecided](evs[5])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(approved, ad.GetApproval(), protocmp.Transform()); diff != "" {
		t.Errorf("ApprovalDecided (-response +event):\n%s", diff)
	}
	if evs[5].GetDispute() != name || evs[5].GetActor().GetDepartment() != "gov_office" {
		t.Errorf("ApprovalDecided envelope %v", evs[5])
	}
}

func TestRoutingEventsAppliedOnce(t *testing.T) {
	f := startOffice(t)
	office := f.as(t, region, "tax", authn.RoleOffice)
	name, routed := f.toOffice(t, 41)
	if _, err := f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}); err != nil {
		t.Fatal(err)
	}
	// The routing event that put the dispute at the office, delivered
	// again, does not undo the triage. Entries are handled in order, so once
	// the next event's effect shows, the redelivery was handled.
	f.republish(t, routed)
	f.publish(t, "regions/"+region+"/disputes/2026-40", &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_SELF,
		State: typesv1.DisputeState_DISPUTE_STATE_HANDLING}, typesv1.DisputeState_DISPUTE_STATE_HANDLING)
	f.waitState(t, "regions/"+region+"/disputes/2026-40", typesv1.DisputeState_DISPUTE_STATE_HANDLING)
	_, err := f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_MAJOR})
	refused(t, "triage after the redelivered routing", err, codes.FailedPrecondition, "DISPUTE_STATE_JOINT_HANDLING")

	f.publish(t, name, &routingv1.DisputeClosed{Cause: "withdrawn"}, typesv1.DisputeState_DISPUTE_STATE_CLOSED)
	f.waitState(t, name, typesv1.DisputeState_DISPUTE_STATE_CLOSED)
	_, err = f.meeting.ConveneMeeting(office, &meetingv1.ConveneMeetingRequest{Parent: "regions/" + region, RequestId: "m-4",
		Meeting: &meetingv1.Meeting{Disputes: []string{name}, InvitedUnits: []string{"tax", "hrss"}}})
	refused(t, "meeting on a withdrawn dispute", err, codes.FailedPrecondition, "DISPUTE_STATE_CLOSED")

	// A dispute returned a second time reaches the office too.
	other := "regions/" + region + "/disputes/2026-42"
	f.publish(t, other, &routingv1.TransferReturned{ReturnCount: 1}, typesv1.DisputeState_DISPUTE_STATE_REGISTERED)
	f.waitState(t, other, typesv1.DisputeState_DISPUTE_STATE_REGISTERED)
	f.publish(t, other, &routingv1.TransferReturned{ReturnCount: 2, SentToOffice: true}, typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE)
	f.waitState(t, other, typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE)
	if _, err := f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: other, Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.meetingEvents(t)); n != 2 {
		t.Errorf("%d meeting events, want 2 (two triages)", n)
	}
}

// TestBackendErrors checks the fallback of the error table over the real
// server: a bad dispute name names its field, a stopped Redis is
// UNAVAILABLE with reason BACKEND_UNAVAILABLE and a fixed message.
func TestBackendErrors(t *testing.T) {
	f := start(t)
	office := f.as(t, region, "tax", authn.RoleOffice, authn.RoleHandler)
	name := "regions/" + region + "/disputes/2026-7"

	_, err := f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: "regions/" + region + "/disputes/2026-07", Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL})
	if status.Code(err) != codes.InvalidArgument || len(apierr.FieldViolations(err)) != 1 || apierr.FieldViolations(err)[0].Field != "name" {
		t.Fatalf("TriageMatter on 2026-07 = %v, want INVALID_ARGUMENT on name", err)
	}

	f.redis.Kill()
	_, err = f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL})
	f.redis.Restart(t)
	if status.Code(err) != codes.Unavailable || apierr.Reason(err) != apierr.ReasonBackendUnavailable ||
		status.Convert(err).Message() != apierr.MsgBackendUnavailable {
		t.Fatalf("TriageMatter with Redis down = %v, want UNAVAILABLE %s %q", err, apierr.ReasonBackendUnavailable, apierr.MsgBackendUnavailable)
	}
}

// An office action right after routing sent the dispute to the office
// succeeds without the client retrying: the office waits for its view of
// routing's events to catch up.
func TestTriageRightAfterRoutingToTheOffice(t *testing.T) {
	f := startOffice(t)
	office := f.as(t, region, "tax", authn.RoleOffice)
	for n := 1; n <= 10; n++ {
		name := fmt.Sprintf("regions/%s/disputes/2026-%d", region, 800+n)
		f.publish(t, name, &routingv1.TrackingOpened{}, typesv1.DisputeState_DISPUTE_STATE_REGISTERED)
		f.publish(t, name, &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE}, typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE)
		if _, err := f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}); err != nil {
			t.Fatalf("triage of %s right after its routing: %v", name, err)
		}
	}
	// Still refused when the view is up to date and the dispute is not at the office.
	_, err := f.meeting.TriageMatter(office, &meetingv1.TriageMatterRequest{Name: "regions/" + region + "/disputes/2026-801", Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL})
	refused(t, "triage twice", err, codes.FailedPrecondition, "DISPUTE_STATE_JOINT_HANDLING")
}
