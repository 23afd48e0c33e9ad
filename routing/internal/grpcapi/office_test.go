package grpcapi_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// movableClock is the service's clock, moved by the test.
type movableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movableClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *movableClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// worklist lists one view of a department as who, every page.
func (f *fixture) worklist(t *testing.T, who, dept string, view routingv1.WorklistView) []*routingv1.WorklistItem {
	t.Helper()
	var out []*routingv1.WorklistItem
	token := ""
	for {
		resp, err := f.client.ListWorklist(f.as(t, who), &routingv1.ListWorklistRequest{
			Parent: "regions/" + region + "/departments/" + dept, View: view, PageSize: 1, PageToken: token,
		})
		if err != nil {
			t.Fatalf("worklist %s %v: %v", dept, view, err)
		}
		out = append(out, resp.GetItems()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}

func item(items []*routingv1.WorklistItem, name string) *routingv1.WorklistItem {
	for _, it := range items {
		if it.GetDispute() == name {
			return it
		}
	}
	return nil
}

func (f *fixture) reads(t *testing.T, who, name string) bool {
	t.Helper()
	_, err := f.client.GetTracking(f.as(t, who), &routingv1.GetTrackingRequest{Name: name})
	if err != nil && !strings.Contains(err.Error(), "NotFound") {
		wantCode(t, err, codes.NotFound, "", "")
	}
	return err == nil
}

func opinionEvent(t *testing.T, name, meeting, unit string, at time.Time) *eventv1.Event {
	t.Helper()
	ev := meetingEvent(t, name, &meetingv1.OpinionSubmitted{Meeting: meeting, Opinion: &meetingv1.Opinion{
		Dispute: name, Unit: unit, Text: "书面意见", SubmitTime: timestamppb.New(at),
	}}, at)
	ev.Actor.Department = unit
	return ev
}

// TestOfficePathGeneral: route to the office → its slip → the office signs
// → triage → a meeting with three units, each reading the dispute and owing
// its opinion on a clock of its own, one late and Overdue on its worklist →
// decision, after which the units read it no more.
func TestOfficePathGeneral(t *testing.T) {
	clk := &movableClock{t: time.Date(2026, 9, 1, 10, 0, 0, 0, cst)} // a Tuesday
	f := startAt(t, clk.now)
	name := f.open(t, 301, "hrss", clk.now())

	routed, err := f.client.RouteDispute(f.as(t, "hrss"), &routingv1.RouteDisputeRequest{
		Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE, Opinion: "需税务、财政共同办理 联系电话13912345678", ReasonCode: "SEVERAL_DEPARTMENTS",
	})
	if err != nil {
		t.Fatal(err)
	}
	slip := routed.GetSlip()
	if slip.GetReceivingDepartment() != "tax" || slip.GetNumber() != "2026年第1号" || slip.GetRegisteringDepartment() != "hrss" || slip.GetReceiver() != "" {
		t.Fatalf("office slip = %v", slip)
	}
	if tr := routed.GetTracking(); tr.GetState() != stAtOffice || !tr.GetOfficeReceiptPending() {
		t.Fatalf("after routing: %v", tr)
	}
	if it := item(f.worklist(t, "office_host", "tax", routingv1.WorklistView_WORKLIST_VIEW_OFFICE_AWAITING_RECEIPT), name); it == nil ||
		it.GetStage() != routingv1.Stage_STAGE_TRANSFER_RECEIPT || it.GetDueTime() == nil {
		t.Fatalf("awaiting receipt: %v", it)
	}
	// 首问到底: hrss sees what it passed on, with the office's due date.
	if it := item(f.worklist(t, "hrss", "hrss", routingv1.WorklistView_WORKLIST_VIEW_REGISTERED), name); it == nil || it.GetHolder() != "tax" || it.GetState() != stAtOffice || it.GetDueTime() == nil {
		t.Fatalf("我登记的: %v", it)
	}

	// Only the office role of the host unit signs.
	_, err = f.client.ReceiveTransfer(f.as(t, "tax"), &routingv1.ReceiveTransferRequest{Name: name})
	wantCode(t, err, codes.PermissionDenied, "", "")
	_, err = f.client.ReceiveTransfer(f.as(t, "office"), &routingv1.ReceiveTransferRequest{Name: name})
	wantCode(t, err, codes.PermissionDenied, "", "")
	rec, err := f.client.ReceiveTransfer(f.as(t, "office_host"), &routingv1.ReceiveTransferRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	tr := rec.GetTracking()
	if s := tr.GetTransferSlips()[0]; s.GetReceiver() != "liu_min" || tr.GetOfficeReceiptPending() || tr.GetState() != stAtOffice {
		t.Fatalf("after receipt: %v", tr)
	}
	triage := item(f.worklist(t, "office_host", "tax", routingv1.WorklistView_WORKLIST_VIEW_OFFICE_AWAITING_TRIAGE), name)
	if triage == nil || triage.GetStage() != routingv1.Stage_STAGE_TRIAGE ||
		!triage.GetDueTime().AsTime().Equal(time.Date(2026, 9, 8, 23, 59, 59, 0, cst)) {
		t.Fatalf("awaiting triage: %v", triage)
	}
	if it := item(f.worklist(t, "office_host", "tax", routingv1.WorklistView_WORKLIST_VIEW_OFFICE_AWAITING_RECEIPT), name); it != nil {
		t.Fatalf("still awaiting receipt: %v", it)
	}

	f.publishMeeting(t, meetingEvent(t, name, &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}, clk.now()))
	f.waitTracking(t, name, inState(stJoint))
	if it := item(f.worklist(t, "office_host", "tax", routingv1.WorklistView_WORKLIST_VIEW_OFFICE_JOINT_HANDLING), name); it == nil || it.GetStage() != routingv1.Stage_STAGE_REPLY {
		t.Fatalf("in joint handling: %v", it)
	}
	units := []string{"finance", "justice", "petition"}
	for _, u := range units {
		if f.reads(t, u, name) {
			t.Fatalf("%s reads the dispute before it is invited", u)
		}
	}
	meeting := "regions/141181/meetings/m1"
	f.publishMeeting(t, meetingEvent(t, "", &meetingv1.MeetingConvened{Meeting: &meetingv1.Meeting{
		Name: meeting, Disputes: []string{name}, InvitedUnits: units, Agenda: "研究第301号",
	}}, clk.now()))
	f.waitTracking(t, name, func(tr *routingv1.Tracking) bool { return len(tr.GetInvitations()) == 3 })
	opinionDue := time.Date(2026, 9, 8, 23, 59, 59, 0, cst)
	for _, u := range units {
		got, err := f.client.GetTracking(f.as(t, u), &routingv1.GetTrackingRequest{Name: name})
		if err != nil {
			t.Fatalf("%s cannot read the dispute it was invited on: %v", u, err)
		}
		// Personal numbers masked for a unit that does not hold it.
		if h := got.GetTracking().GetHistory()[1].GetReason(); strings.Contains(h, "13912345678") {
			t.Fatalf("%s sees the phone number: %q", u, h)
		}
		it := item(f.worklist(t, u, u, routingv1.WorklistView_WORKLIST_VIEW_OPINIONS_OWED), name)
		if it == nil || it.GetStage() != routingv1.Stage_STAGE_OPINION || !it.GetDueTime().AsTime().Equal(opinionDue) || it.GetOverdue() {
			t.Fatalf("%s opinions owed: %v", u, it)
		}
	}
	if got, _ := f.client.GetTracking(f.as(t, "hrss"), &routingv1.GetTrackingRequest{Name: name}); !strings.Contains(got.GetTracking().GetHistory()[1].GetReason(), "13912345678") {
		t.Fatal("the registering unit sees the phone number masked")
	}

	// Two on time; then the day after the due date, finance's is overdue.
	f.publishMeeting(t, opinionEvent(t, name, meeting, "justice", clk.now().Add(time.Hour)))
	f.publishMeeting(t, opinionEvent(t, name, meeting, "petition", clk.now().Add(2*time.Hour)))
	f.waitTracking(t, name, func(tr *routingv1.Tracking) bool {
		n := 0
		for _, i := range tr.GetInvitations() {
			if i.GetSubmitTime() != nil {
				n++
			}
		}
		return n == 2
	})
	clk.set(time.Date(2026, 9, 9, 10, 0, 0, 0, cst))
	overdue := item(f.worklist(t, "finance", "finance", routingv1.WorklistView_WORKLIST_VIEW_OPINIONS_OVERDUE), name)
	if overdue == nil || !overdue.GetOverdue() || overdue.GetRemainingWorkingDays() >= 0 {
		t.Fatalf("finance overdue: %v", overdue)
	}
	if it := item(f.worklist(t, "justice", "justice", routingv1.WorklistView_WORKLIST_VIEW_OPINIONS_OWED), name); it != nil {
		t.Fatalf("justice still owes: %v", it)
	}
	f.publishMeeting(t, opinionEvent(t, name, meeting, "finance", clk.now()))
	tr = f.waitTracking(t, name, func(tr *routingv1.Tracking) bool {
		return !slices.ContainsFunc(tr.GetInvitations(), func(i *routingv1.Invitation) bool { return i.GetSubmitTime() == nil })
	})
	for _, i := range tr.GetInvitations() {
		if i.GetLate() != (i.GetUnit() == "finance") {
			t.Fatalf("invitation %v", i)
		}
	}
	for _, c := range tr.GetClocks() {
		if c.GetStage() == routingv1.Stage_STAGE_OPINION && (c.GetStopTime() == nil || (c.GetDepartment() == "finance") != c.GetStopTime().AsTime().After(opinionDue)) {
			t.Fatalf("opinion clock %v", c)
		}
	}
	if it := item(f.worklist(t, "finance", "finance", routingv1.WorklistView_WORKLIST_VIEW_OPINIONS_OWED), name); it != nil {
		t.Fatalf("finance still owes: %v", it)
	}
	if it := item(f.worklist(t, "office_host", "tax", routingv1.WorklistView_WORKLIST_VIEW_OFFICE_AWAITING_DECISION), name); it == nil {
		t.Fatal("not awaiting the office's decision")
	}

	f.publishMeeting(t, meetingEvent(t, name, &meetingv1.DecisionIssued{Outcome: "由税务部门办理", Text: "联席会议决定……"}, clk.now()))
	f.waitTracking(t, name, inState(stReplied))
	for _, u := range units {
		if f.reads(t, u, name) {
			t.Fatalf("%s still reads the decided dispute", u)
		}
	}
	if !f.reads(t, "hrss", name) {
		t.Fatal("the registering unit lost sight of its dispute")
	}
	// Routing's events say who reads, and who reads as a guest only.
	lc := f.lastLifecycle(t, name, "OpinionsRequested")
	if !slices.Equal(lc.GetGuestReaders(), units) || !slices.Contains(lc.GetReaders(), "finance") {
		t.Fatalf("lifecycle of OpinionsRequested: %v", lc)
	}
}

// lastLifecycle is the Lifecycle of the last routing event of type typ
// about name.
func (f *fixture) lastLifecycle(t *testing.T, name, typ string) *eventv1.Lifecycle {
	t.Helper()
	msgs, err := f.rdb.XRange(t.Context(), events.Stream("routing", region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out *eventv1.Lifecycle
	for _, m := range msgs {
		ev, err := events.Decode(m)
		if err == nil && ev.GetDispute() == name && ev.GetType() == "disputes.routing.v1."+typ {
			out = ev.GetLifecycle()
		}
	}
	if out == nil {
		t.Fatalf("no %s event of %s", typ, name)
	}
	return out
}

// TestOfficePathMajor: the approval clock runs from the request and shows
// on the convenor's worklist; approved, the platform reads the matter and
// has it on its worklist until its outcome.
func TestOfficePathMajor(t *testing.T) {
	clk := &movableClock{t: time.Date(2026, 9, 1, 10, 0, 0, 0, cst)}
	f := startAt(t, clk.now)
	name := f.open(t, 302, "tax", clk.now())
	if _, err := f.client.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE, Opinion: "重大疑难"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.ReceiveTransfer(f.as(t, "office_host"), &routingv1.ReceiveTransferRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	f.publishMeeting(t, meetingEvent(t, name, &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_MAJOR}, clk.now()))
	f.waitTracking(t, name, inState(stApproval))
	if it := item(f.worklist(t, "convenor", "gov_office", routingv1.WorklistView_WORKLIST_VIEW_APPROVALS_PENDING), name); it != nil {
		t.Fatalf("pending before the request: %v", it)
	}
	requested := time.Date(2026, 9, 3, 9, 0, 0, 0, cst) // Thursday
	f.publishMeeting(t, meetingEvent(t, name, &meetingv1.ApprovalRequested{Approval: &meetingv1.Approval{Name: "regions/141181/approvals/a1", Dispute: name, Summary: "报请召集人同意"}}, requested))
	f.waitTracking(t, name, func(tr *routingv1.Tracking) bool {
		c := tr.GetClocks()[len(tr.GetClocks())-1]
		return c.GetStage() == routingv1.Stage_STAGE_APPROVAL
	})
	it := item(f.worklist(t, "convenor", "gov_office", routingv1.WorklistView_WORKLIST_VIEW_APPROVALS_PENDING), name)
	// 3 working days from Thursday: Tuesday 8 September.
	if it == nil || it.GetStage() != routingv1.Stage_STAGE_APPROVAL || !it.GetDueTime().AsTime().Equal(time.Date(2026, 9, 8, 23, 59, 59, 0, cst)) {
		t.Fatalf("convenor's pending approvals: %v", it)
	}
	_, err := f.client.ListWorklist(f.as(t, "hrss"), &routingv1.ListWorklistRequest{Parent: "regions/141181/departments/hrss", View: routingv1.WorklistView_WORKLIST_VIEW_APPROVALS_PENDING})
	wantCode(t, err, codes.PermissionDenied, "", "")
	if f.reads(t, "plc", name) {
		t.Fatal("the platform reads the matter before approval")
	}
	f.publishMeeting(t, meetingEvent(t, name, &meetingv1.ApprovalDecided{Approval: &meetingv1.Approval{Name: "regions/141181/approvals/a1", Dispute: name, Decided: true, Approved: true}}, requested.Add(time.Hour)))
	f.waitTracking(t, name, inState(stPlatform))
	if !f.reads(t, "plc", name) {
		t.Fatal("the platform cannot read the matter at the platform")
	}
	if it := item(f.worklist(t, "plc", "plc", routingv1.WorklistView_WORKLIST_VIEW_PLATFORM), name); it == nil || it.GetStage() != routingv1.Stage_STAGE_PLATFORM {
		t.Fatalf("platform worklist: %v", it)
	}
	if it := item(f.worklist(t, "convenor", "gov_office", routingv1.WorklistView_WORKLIST_VIEW_APPROVALS_PENDING), name); it != nil {
		t.Fatalf("still pending after the decision: %v", it)
	}
	f.publishMeeting(t, meetingEvent(t, name, &meetingv1.PlatformOutcomeRecorded{Outcome: "调解成功", Text: "达成一致"}, requested.Add(2*time.Hour)))
	f.waitTracking(t, name, inState(stReplied))
	if f.reads(t, "plc", name) {
		t.Fatal("the platform still reads the matter after its outcome")
	}
	if it := item(f.worklist(t, "plc", "plc", routingv1.WorklistView_WORKLIST_VIEW_PLATFORM), name); it != nil {
		t.Fatalf("platform worklist after the outcome: %v", it)
	}
}

// TestMassWarningReader: the petition bureau reads a dispute a mass-dispute
// warning addressed to it until the warning is acknowledged (handled) or the
// dispute closes.
func TestMassWarningReader(t *testing.T) {
	f := start(t)
	actor := &typesv1.Actor{Region: region, Department: "tax", StaffId: "li_na", Roles: []typesv1.Role{typesv1.Role_ROLE_CLERK}}
	warned := func(n int) string {
		t.Helper()
		name := f.open(t, n, "hrss", time.Now())
		if f.reads(t, "petition", name) {
			t.Fatal("petition reads before the warning")
		}
		ev, err := events.New("intake", region, name, actor, "", &intakev1.MassDisputeWarning{Trigger: "same_employer", OpenDisputesSameEmployer: 5, AddressedTo: []string{"petition", "tax"}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		f.publish(t, ev)
		f.waitTracking(t, name, func(tr *routingv1.Tracking) bool { return slices.Contains(tr.GetReaders(), "petition") })
		if !f.reads(t, "petition", name) {
			t.Fatal("petition cannot read the warned dispute")
		}
		// The office's host unit, also addressed, reads through the office.
		if lc := f.lastLifecycle(t, name, "WarningReadersAdded"); !slices.Equal(lc.GetGuestReaders(), []string{"petition"}) {
			t.Fatalf("lifecycle %v", lc)
		}
		if f.reads(t, "tax", name) {
			t.Fatal("a tax clerk reads the warned dispute")
		}
		return name
	}

	acked := warned(304)
	f.publishMeeting(t, meetingEvent(t, acked, &meetingv1.MassWarningAcknowledged{MassWarning: &meetingv1.MassWarning{
		Name: "regions/141181/massWarnings/w1", Dispute: acked, AddressedTo: []string{"petition"},
		AcknowledgingUnits: []string{"petition"}, State: meetingv1.MassWarningState_MASS_WARNING_STATE_ACKNOWLEDGED,
	}}, time.Now()))
	f.waitTracking(t, acked, func(tr *routingv1.Tracking) bool { return !slices.Contains(tr.GetReaders(), "petition") })
	if f.reads(t, "petition", acked) {
		t.Fatal("petition still reads after its acknowledgement")
	}
	if lc := f.lastLifecycle(t, acked, "WarningReadersRemoved"); len(lc.GetGuestReaders()) != 0 {
		t.Fatalf("lifecycle %v", lc)
	}

	name := warned(303)
	wd, err := events.New("intake", region, name, actor, "撤回", &intakev1.DisputeWithdrawn{Reason: "撤回"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.publish(t, wd)
	f.waitTracking(t, name, inState(stClosed))
	if f.reads(t, "petition", name) {
		t.Fatal("petition still reads the closed dispute")
	}
}

// TestOfficeMeetingOnTwoDisputesAndBadViews: a meeting filed under no one
// dispute moves every dispute on its agenda; a view that does not exist,
// or a page token of another view, is INVALID_ARGUMENT naming the field.
func TestOfficeMeetingOnTwoDisputesAndBadViews(t *testing.T) {
	f := start(t)
	now := time.Now()
	var both []string
	for _, n := range []int{311, 312} {
		name := f.open(t, n, "tax", now)
		if _, err := f.client.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE, Opinion: "多部门"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.client.ReceiveTransfer(f.as(t, "office_host"), &routingv1.ReceiveTransferRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
		both = append(both, name)
	}
	// The meeting comes before the second triage in the stream: it waits.
	f.publishMeeting(t, meetingEvent(t, both[0], &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}, now))
	f.publishMeeting(t, meetingEvent(t, "", &meetingv1.MeetingConvened{Meeting: &meetingv1.Meeting{
		Name: "regions/141181/meetings/m2", Disputes: both, InvitedUnits: []string{"finance", "justice"}}}, now))
	f.publishMeeting(t, meetingEvent(t, both[1], &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}, now))
	for _, name := range both {
		f.waitTracking(t, name, func(tr *routingv1.Tracking) bool { return len(tr.GetInvitations()) == 2 })
	}
	owed := f.worklist(t, "justice", "justice", routingv1.WorklistView_WORKLIST_VIEW_OPINIONS_OWED)
	if item(owed, both[0]) == nil || item(owed, both[1]) == nil {
		t.Fatalf("justice owes %v", owed)
	}

	parent := "regions/141181/departments/justice"
	_, err := f.client.ListWorklist(f.as(t, "justice"), &routingv1.ListWorklistRequest{Parent: parent, View: 99})
	wantCode(t, err, codes.InvalidArgument, "", "view")
	page, err := f.client.ListWorklist(f.as(t, "justice"), &routingv1.ListWorklistRequest{Parent: parent, View: routingv1.WorklistView_WORKLIST_VIEW_OPINIONS_OWED, PageSize: 1})
	if err != nil || page.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", page, err)
	}
	_, err = f.client.ListWorklist(f.as(t, "justice"), &routingv1.ListWorklistRequest{Parent: parent, View: routingv1.WorklistView_WORKLIST_VIEW_OPINIONS_OVERDUE, PageToken: page.GetNextPageToken()})
	wantCode(t, err, codes.InvalidArgument, "", "page_token")
}
