package grpcapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/intake/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// streamEvents returns the events of intake's stream of the region whose
// payload is of m's type, oldest first.
func streamEvents(t *testing.T, e *env, m proto.Message) []*eventv1.Event {
	t.Helper()
	msgs, err := e.rdb.XRange(t.Context(), events.Stream(store.Service, region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []*eventv1.Event
	for _, msg := range msgs {
		ev, err := events.Decode(msg)
		if err != nil {
			t.Fatal(err)
		}
		if events.Is(ev, m) {
			out = append(out, ev)
		}
	}
	return out
}

func countEvents(t *testing.T, e *env, m proto.Message) int { return len(streamEvents(t, e, m)) }

// routingEvent publishes a routing event about dispute on routing's stream,
// carrying routing's account lc of the dispute as routing does, and waits
// until intake has applied it (acknowledged it).
func (e *env) routingEvent(t *testing.T, disputeName string, payload proto.Message, lc *eventv1.Lifecycle) {
	t.Helper()
	ev, err := events.New("routing", region, disputeName, &typesv1.Actor{Region: region, Department: "tax", StaffId: "h1"},
		"", payload, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev.Lifecycle = lc
	vals, err := events.Values(ev)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: events.Stream("routing", region), Values: vals}).Err(); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := events.WaitConsumed(wait, e.rdb, events.Stream("routing", region), store.Service, 0); err != nil {
		t.Fatalf("intake did not apply routing's %s of %s: %v", ev.GetType(), disputeName, err)
	}
}

// register registers d through c with a fresh request id.
func (c caller) register(t *testing.T, d *intakev1.Dispute) *intakev1.RegisterDisputeResponse {
	t.Helper()
	resp, err := c.RegisterDispute(c.ctx(t), &intakev1.RegisterDisputeRequest{
		Parent: parent, RequestId: events.NewID(time.Now()), Dispute: d,
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (c caller) get(t *testing.T, name string) *intakev1.Dispute {
	t.Helper()
	resp, err := c.GetDispute(c.ctx(t), &intakev1.GetDisputeRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetDispute()
}

func TestProposedDepartmentFromRules(t *testing.T) {
	e := newEnv(t)
	clerk := e.as(e.start(), region, "tax", "clerk1", "clerk")
	cli := e.etcd.Client(t)

	// No rules document: the roster's default categories decide.
	if got := clerk.register(t, validForm()).GetDispute().GetProposedDepartment(); got != "tax" {
		t.Fatalf("without rules, proposed = %q, want tax (roster default of CONTRIBUTION_AMOUNT)", got)
	}

	// A rule put in etcd takes over while the instance runs.
	rules := &configv1.IntakeRules{CategoryDepartments: []*configv1.CategoryRule{
		{Category: typesv1.Category_CATEGORY_CONTRIBUTION_AMOUNT, Department: "hrss"},
		{Category: typesv1.Category_CATEGORY_OTHER, Department: "justice"},
	}}
	if err := regionconfig.Put(t.Context(), cli, regionconfig.IntakeRulesSpec, region, "", rules); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		if got := clerk.register(t, validForm()).GetDispute().GetProposedDepartment(); got == "hrss" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rule CONTRIBUTION_AMOUNT -> hrss did not apply within 5 s")
		}
	}

	other := validForm()
	other.Category = typesv1.Category_CATEGORY_OTHER
	withoutRule := validForm()
	withoutRule.Category = typesv1.Category_CATEGORY_BENEFITS
	override := validForm()
	override.ProposedDepartment = "petition"
	for _, tc := range []struct {
		name string
		form *intakev1.Dispute
		want string
	}{
		{"rule", validForm(), "hrss"},
		{"rule for OTHER", other, "justice"},
		{"no rule: roster default categories", withoutRule, "hrss"},
		{"the clerk's choice wins", override, "petition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clerk.register(t, tc.form).GetDispute().GetProposedDepartment(); got != tc.want {
				t.Errorf("proposed = %q, want %q", got, tc.want)
			}
		})
	}

	// Removing the document brings back the defaults.
	if _, err := cli.Delete(t.Context(), regionconfig.IntakeRulesSpec.Key(region, "")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		if got := clerk.register(t, other).GetDispute().GetProposedDepartment(); got == "tax" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("OTHER did not fall back to the office host within 5 s of the rules' removal")
		}
	}
}

func TestDuplicateLinks(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	tax := e.as(conn, region, "tax", "clerk1", "clerk")
	hrss := e.as(conn, region, "hrss", "clerk2", "clerk")
	office := e.as(conn, region, "tax", "o1", "office")

	first := tax.register(t, validForm())
	if len(first.GetLinkedDisputes()) != 0 || first.GetDispute().GetLinkedDisputes() != nil {
		t.Fatalf("first registration linked to %v", first.GetLinkedDisputes())
	}
	n1 := first.GetDispute().GetName()

	// The same phone through another channel and department, without the
	// ID number this time.
	byPhone := validForm()
	byPhone.Channel, byPhone.RegisteringDepartment, byPhone.Claimant.IdNumber = typesv1.Channel_CHANNEL_PHONE, "hrss", ""
	second := hrss.register(t, byPhone)
	n2 := second.GetDispute().GetName()
	// hrss may not read tax's n1: its links leave it out, the office's and
	// the event's do not.
	if got := second.GetLinkedDisputes(); got != nil {
		t.Errorf("response linked_disputes = %v, want none hrss may read", got)
	}
	if got := second.GetDispute().GetLinkedDisputes(); got != nil {
		t.Errorf("response dispute's linked_disputes = %v, want none hrss may read", got)
	}
	if got := hrss.get(t, n2).GetLinkedDisputes(); got != nil {
		t.Errorf("hrss's GetDispute links = %v, want none hrss may read", got)
	}
	if d := cmp.Diff([]string{n1}, office.get(t, n2).GetLinkedDisputes()); d != "" {
		t.Errorf("the new dispute's links as the office sees them (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{n2}, office.get(t, n1).GetLinkedDisputes()); d != "" {
		t.Errorf("the earlier dispute's links as the office sees them (-want +got):\n%s", d)
	}
	if got := tax.get(t, n1).GetLinkedDisputes(); got != nil {
		t.Errorf("tax's GetDispute links = %v, want none tax may read", got)
	}
	lresp, err := hrss.ListDisputes(hrss.ctx(t), &intakev1.ListDisputesRequest{Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range lresp.GetDisputes() {
		if d.GetLinkedDisputes() != nil {
			t.Errorf("hrss's list shows %s linked to %v", d.GetName(), d.GetLinkedDisputes())
		}
	}
	// Once hrss holds n1 it sees the link.
	e.routingEvent(t, n1, &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: "hrss"},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED, Holder: "hrss", Readers: []string{"tax", "hrss"}, Version: 2})
	if d := cmp.Diff([]string{n1}, hrss.get(t, n2).GetLinkedDisputes()); d != "" {
		t.Errorf("hrss holding n1: the new dispute's links (-want +got):\n%s", d)
	}
	linked := streamEvents(t, e, &intakev1.DisputesLinked{})
	if len(linked) != 1 {
		t.Fatalf("%d DisputesLinked events, want 1", len(linked))
	}
	p, err := events.Payload[*intakev1.DisputesLinked](linked[0])
	if err != nil {
		t.Fatal(err)
	}
	if linked[0].GetDispute() != n2 || !cmp.Equal(p.GetLinkedDisputes(), []string{n1}) ||
		linked[0].GetActor().GetDepartment() != "hrss" || linked[0].GetSource() != "intake" {
		t.Errorf("DisputesLinked = %v", linked[0])
	}

	// Another category is another matter.
	lateFee := validForm()
	lateFee.Category = typesv1.Category_CATEGORY_LATE_FEE
	if got := tax.register(t, lateFee).GetLinkedDisputes(); got != nil {
		t.Errorf("another category linked to %v", got)
	}

	// Closed by routing: no longer linked.
	e.routingEvent(t, n1, &routingv1.DisputeClosed{Cause: "closed_by_holder"},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_CLOSED, Readers: []string{"tax"}, Version: 5})
	third := tax.register(t, validForm())
	n3 := third.GetDispute().GetName()
	if got := third.GetLinkedDisputes(); got != nil {
		t.Errorf("tax's registration shows links %v to hrss's dispute", got)
	}
	if d := cmp.Diff([]string{n2}, office.get(t, n3).GetLinkedDisputes()); d != "" {
		t.Errorf("after n1 closed, linked (-want +got):\n%s", d)
	}

	// Withdrawn: no longer linked either.
	if _, err := hrss.WithdrawDispute(hrss.ctx(t), &intakev1.WithdrawDisputeRequest{Name: n2, Reason: "已协商解决"}); err != nil {
		t.Fatal(err)
	}
	// By the ID number alone, with another phone.
	byID := validForm()
	byID.Claimant.Phone = "13900000000"
	fourth := tax.register(t, byID)
	if d := cmp.Diff([]string{n3}, fourth.GetLinkedDisputes()); d != "" {
		t.Errorf("after n2 withdrawn, linked by ID number (-want +got):\n%s", d)
	}
	// Links are history: the closed and withdrawn disputes keep theirs.
	if d := cmp.Diff([]string{n2}, office.get(t, n1).GetLinkedDisputes()); d != "" {
		t.Errorf("closed dispute's links (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{n1, n3}, office.get(t, n2).GetLinkedDisputes()); d != "" {
		t.Errorf("withdrawn dispute's links (-want +got):\n%s", d)
	}

	// A replayed registration reports its links again.
	again, err := hrss.RegisterDispute(hrss.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "same", Dispute: byPhone})
	if err != nil {
		t.Fatal(err)
	}
	replay, err := hrss.RegisterDispute(hrss.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "same", Dispute: byPhone})
	if err != nil {
		t.Fatal(err)
	}
	if !replay.GetReplayed() || !cmp.Equal(again.GetLinkedDisputes(), replay.GetLinkedDisputes()) {
		t.Errorf("replay linked %v, first time %v", replay.GetLinkedDisputes(), again.GetLinkedDisputes())
	}
	if len(office.get(t, again.GetDispute().GetName()).GetLinkedDisputes()) == 0 {
		t.Error("the replayed registration has no links")
	}
}

func TestMassDisputeWarningPeople(t *testing.T) {
	e := newEnv(t)
	clerk := e.as(e.start(), region, "hrss", "clerk2", "clerk")
	few := validForm()
	few.RegisteringDepartment, few.PeopleInvolved = "hrss", 4
	if resp := clerk.register(t, few); resp.GetMassDisputeWarning() || resp.GetDispute().GetMassDispute() {
		t.Errorf("4 people raised a warning")
	}

	many := validForm()
	many.RegisteringDepartment, many.PeopleInvolved = "hrss", 8
	resp := clerk.register(t, many)
	n := resp.GetDispute().GetName()
	if !resp.GetMassDisputeWarning() || !resp.GetDispute().GetMassDispute() {
		t.Errorf("8 people: warning %v, marked %v; want both", resp.GetMassDisputeWarning(), resp.GetDispute().GetMassDispute())
	}
	if !clerk.get(t, n).GetMassDispute() {
		t.Error("stored dispute is not marked as a mass dispute")
	}
	warnings := streamEvents(t, e, &intakev1.MassDisputeWarning{})
	if len(warnings) != 1 {
		t.Fatalf("%d MassDisputeWarning events, want 1", len(warnings))
	}
	w, err := events.Payload[*intakev1.MassDisputeWarning](warnings[0])
	if err != nil {
		t.Fatal(err)
	}
	// A warning of the dispute's own: its id is the event's, it names the
	// dispute alone.
	want := &intakev1.MassDisputeWarning{Trigger: "people_involved", PeopleInvolved: 8, AddressedTo: []string{"petition", "tax"},
		WarningId: warnings[0].GetId(), Disputes: []string{n}, WarningDisputes: 1}
	if d := cmp.Diff(want, w, protocmp.Transform()); d != "" {
		t.Errorf("warning (-want +got):\n%s", d)
	}
	if warnings[0].GetDispute() != n || warnings[0].GetRegion() != region {
		t.Errorf("warning envelope = %v", warnings[0])
	}

	// The threshold is the region's: raised to 10 in etcd, 8 people no
	// longer warn.
	if err := regionconfig.Put(t.Context(), e.etcd.Client(t), regionconfig.IntakeRulesSpec, region, "",
		&configv1.IntakeRules{MassPeopleThreshold: 10, MassWarningDepartments: []string{"petition", "plc"}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); clerk.register(t, many).GetMassDisputeWarning(); {
		if time.Now().After(deadline) {
			t.Fatal("threshold 10 did not apply within 5 s")
		}
	}
	ten := validForm()
	ten.RegisteringDepartment, ten.PeopleInvolved = "hrss", 10
	clerk.register(t, ten)
	warnings = streamEvents(t, e, &intakev1.MassDisputeWarning{})
	last, err := events.Payload[*intakev1.MassDisputeWarning](warnings[len(warnings)-1])
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"petition", "plc", "tax"}, last.GetAddressedTo()); d != "" {
		t.Errorf("addressed to (-want +got):\n%s", d)
	}
}

func TestMassDisputeWarningSameEmployer(t *testing.T) {
	e := newEnv(t)
	clerk := e.as(e.start(), region, "tax", "clerk1", "clerk")
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, dispute.Shanghai) // all in one numbering year
	// against returns a dispute of claimant i against the employer.
	against := func(i int, employerCredit, employerName string) *intakev1.Dispute {
		d := validForm()
		d.Claimant.Phone, d.Claimant.IdNumber = fmt.Sprintf("1390000%04d", i), ""
		d.EmployerCreditCode, d.EmployerName = employerCredit, employerName
		return d
	}
	day := 24 * time.Hour
	var warningIDs []string
	for _, tc := range []struct {
		name      string
		at        time.Duration
		form      *intakev1.Dispute
		warn      bool
		wantCount int32
		// The disputes the warning lists (by number), and the employer's
		// name as the raising form gives it.
		disputes []int
		employer string
	}{
		{"first", 0, against(1, creditCode, ""), false, 0, nil, ""},
		{"another employer", day, against(2, "", "某煤业公司"), false, 0, nil, ""},
		{"second", 10 * day, against(3, creditCode, "某公司"), false, 0, nil, ""},
		{"third within 30 days", 20 * day, against(4, creditCode, ""), true, 3, []int{1, 3, 4}, ""},
		// The window is the last 30 days: the first (day 0) and the
		// second (day 10) are out of it, the third (day 20) in: 2 < 3,
		// which ends the warning's episode.
		{"fourth, 45 days on", 45 * day, against(5, creditCode, ""), false, 0, nil, ""},
		{"employer by name", 46 * day, against(6, "", "某煤业公司"), false, 0, nil, ""},
		{"the employer as claimant", 47 * day, &intakev1.Dispute{
			Claimant: &intakev1.Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER, Name: "某公司",
				Phone: "0358-7654321", CreditCode: creditCode},
			Complaint: "滞纳金加收有误", Category: typesv1.Category_CATEGORY_LATE_FEE,
			Channel: typesv1.Channel_CHANNEL_WINDOW, RegisteringDepartment: "tax", PeopleInvolved: 1,
		}, true, 3, []int{4, 5, 7}, "某公司"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := countEvents(t, e, &intakev1.MassDisputeWarning{})
			e.clock.Set(start.Add(tc.at))
			resp := clerk.register(t, tc.form)
			if resp.GetMassDisputeWarning() != tc.warn || resp.GetDispute().GetMassDispute() != tc.warn {
				t.Fatalf("warning %v, marked %v; want %v", resp.GetMassDisputeWarning(), resp.GetDispute().GetMassDispute(), tc.warn)
			}
			warnings := streamEvents(t, e, &intakev1.MassDisputeWarning{})
			if !tc.warn {
				if len(warnings) != before {
					t.Errorf("%d warnings raised", len(warnings)-before)
				}
				return
			}
			if len(warnings) != before+1 {
				t.Fatalf("%d warnings raised, want 1", len(warnings)-before)
			}
			w, err := events.Payload[*intakev1.MassDisputeWarning](warnings[len(warnings)-1])
			if err != nil {
				t.Fatal(err)
			}
			last := warnings[len(warnings)-1]
			want := &intakev1.MassDisputeWarning{Trigger: "same_employer", PeopleInvolved: 1,
				OpenDisputesSameEmployer: tc.wantCount, AddressedTo: []string{"petition", "tax"},
				WarningId: last.GetId(), WarningDisputes: int32(len(tc.disputes)),
				EmployerName: tc.employer, EmployerCreditCode: creditCode}
			for _, n := range tc.disputes {
				want.Disputes = append(want.Disputes, name(e, n))
			}
			warningIDs = append(warningIDs, w.GetWarningId())
			if d := cmp.Diff(want, w, protocmp.Transform()); d != "" {
				t.Errorf("warning (-want +got):\n%s", d)
			}
		})
	}
	if len(warningIDs) == 2 && warningIDs[0] == warningIDs[1] {
		t.Errorf("the warning after the episode ended has the first one's id %s", warningIDs[0])
	}
	// Only the dispute that raised the warning is marked.
	for i, want := range []bool{false, false, false, true} {
		if got := clerk.get(t, name(e, i+1)).GetMassDispute(); got != want {
			t.Errorf("%s marked %v, want %v", name(e, i+1), got, want)
		}
	}
}

func TestHoldersFromRouting(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	tax := e.as(conn, region, "tax", "clerk1", "clerk")
	hrss := e.as(conn, region, "hrss", "h2", "handler")
	justice := e.as(conn, region, "justice", "h3", "handler")
	n := tax.register(t, validForm()).GetDispute().GetName()
	other := validForm()
	other.Claimant.Phone, other.Claimant.IdNumber = "13900000001", ""
	tax.register(t, other) // not routed anywhere

	list := func(t *testing.T, c caller, req *intakev1.ListDisputesRequest) []*intakev1.Dispute {
		t.Helper()
		req.Parent = parent
		resp, err := c.ListDisputes(c.ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetDisputes()
	}
	_, err := hrss.GetDispute(hrss.ctx(t), &intakev1.GetDisputeRequest{Name: n})
	wantCode(t, err, codes.NotFound, grpcapi.ReasonDisputeNotFound)
	if got := list(t, hrss, &intakev1.ListDisputesRequest{}); len(got) != 0 {
		t.Fatalf("hrss lists %d disputes before any routing", len(got))
	}

	e.routingEvent(t, n, &routingv1.TrackingOpened{Tracking: &routingv1.Tracking{Name: n, Holder: "tax", RegisteringDepartment: "tax"}},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_REGISTERED, Holder: "tax", Readers: []string{"tax"}, Version: 1})
	e.routingEvent(t, n, &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: "hrss"},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED, Holder: "hrss", Readers: []string{"tax", "hrss"}, Version: 2})

	got := hrss.get(t, n)
	if d := cmp.Diff([]string{"hrss", "tax"}, got.GetHolders()); d != "" {
		t.Errorf("holders (-want +got):\n%s", d)
	}
	if got.GetClaimant().GetPhone() != phone || got.GetLookupCode() == "" {
		t.Errorf("a holder's GetDispute: phone %q, lookup code %q; want both in full", got.GetClaimant().GetPhone(), got.GetLookupCode())
	}
	listed := list(t, hrss, &intakev1.ListDisputesRequest{})
	if len(listed) != 1 || listed[0].GetName() != n {
		t.Fatalf("hrss lists %d disputes, want only %s", len(listed), n)
	}
	if c := listed[0].GetClaimant(); c.GetPhone() != "138****5678" || c.GetIdNumber() != "110105********002X" || listed[0].GetLookupCode() != "" {
		t.Errorf("listed claimant %v, lookup code %q; want masked numbers and no code", c, listed[0].GetLookupCode())
	}
	// Filtering on its own registrations leaves out what it only holds.
	if got := list(t, hrss, &intakev1.ListDisputesRequest{RegisteringDepartment: "hrss"}); len(got) != 0 {
		t.Errorf("hrss's own registrations: %d, want 0", len(got))
	}
	_, err = justice.GetDispute(justice.ctx(t), &intakev1.GetDisputeRequest{Name: n})
	wantCode(t, err, codes.NotFound, grpcapi.ReasonDisputeNotFound)

	// Returned to the office after the second return, then sent to justice
	// for redo: both are holders; hrss stays one (it held it).
	e.routingEvent(t, n, &routingv1.TransferReturned{ReturnCount: 2, SentToOffice: true},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE, Holder: "tax", Readers: []string{"tax", "hrss"}, Version: 3})
	e.routingEvent(t, n, &routingv1.DisputeRedone{Reason: "答复不完整", Holder: "justice"},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_HANDLING, Holder: "justice", Readers: []string{"tax", "justice", "hrss"}, Version: 4})
	if d := cmp.Diff([]string{"hrss", "justice", "tax"}, justice.get(t, n).GetHolders()); d != "" {
		t.Errorf("holders (-want +got):\n%s", d)
	}
	// A late redelivery of an older account (a lower version) takes nothing
	// away: intake keeps the newest.
	e.routingEvent(t, n, &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_SELF, TargetDepartment: "finance"},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_HANDLING, Holder: "finance", Readers: []string{"tax", "finance"}, Version: 2})
	if d := cmp.Diff([]string{"hrss", "justice", "tax"}, justice.get(t, n).GetHolders()); d != "" {
		t.Errorf("holders after an older account (-want +got):\n%s", d)
	}
	if len(list(t, justice, &intakev1.ListDisputesRequest{})) != 1 || len(list(t, hrss, &intakev1.ListDisputesRequest{})) != 1 {
		t.Error("justice and hrss should each list the dispute")
	}
	// The registering department still lists both of its registrations.
	if got := list(t, tax, &intakev1.ListDisputesRequest{}); len(got) != 2 {
		t.Errorf("tax lists %d, want 2", len(got))
	}
}

// TestGuestReadersSeeNumbersMasked: a unit routing lets read a dispute as a
// guest of the office path (an invited unit) reads it with the claimant's
// numbers masked; once routing takes it off, it reads nothing.
func TestGuestReadersSeeNumbersMasked(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	tax := e.as(conn, region, "tax", "clerk1", "clerk")
	finance := e.as(conn, region, "finance", "h4", "handler")
	n := tax.register(t, validForm()).GetDispute().GetName()
	e.routingEvent(t, n, &routingv1.OpinionsRequested{Units: []string{"finance"}},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING, Holder: "tax",
			Readers: []string{"tax", "finance"}, GuestReaders: []string{"finance"}, Version: 4})
	got := finance.get(t, n).GetClaimant()
	if got.GetPhone() == phone || got.GetIdNumber() == idNumber || got.GetPhone() == "" {
		t.Fatalf("the invited unit sees %q %q, want them masked", got.GetPhone(), got.GetIdNumber())
	}
	if got := tax.get(t, n).GetClaimant(); got.GetPhone() != phone || got.GetIdNumber() != idNumber {
		t.Fatalf("the registering unit sees %q %q masked", got.GetPhone(), got.GetIdNumber())
	}
	e.routingEvent(t, n, &routingv1.ReplyRecorded{},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_REPLIED, Holder: "tax", Readers: []string{"tax"}, Version: 5})
	_, err := finance.GetDispute(finance.ctx(t), &intakev1.GetDisputeRequest{Name: n})
	wantCode(t, err, codes.NotFound, grpcapi.ReasonDisputeNotFound)
}
