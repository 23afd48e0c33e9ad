package grpcapi

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

const employerCredit = "91350100M000100Y43"

func disputeName(n int) string { return fmt.Sprintf("regions/%s/disputes/2026-%d", region, n) }

// employerWarning publishes intake's same-employer MassDisputeWarning as
// intake does: registration n adds the disputes adds to warning (its own
// id when warning is "").
func (f *fixture) employerWarning(t *testing.T, n int, warning string, at time.Time, adds ...int) *eventv1.Event {
	t.Helper()
	p := &intakev1.MassDisputeWarning{Trigger: "same_employer", PeopleInvolved: 1, OpenDisputesSameEmployer: int32(len(adds)),
		AddressedTo: []string{"petition", "tax"}, WarningId: warning, EmployerName: "孝义市示例煤业有限公司",
		EmployerCreditCode: employerCredit}
	for _, a := range adds {
		p.Disputes = append(p.Disputes, disputeName(a))
	}
	actor := &typesv1.Actor{Region: region, Department: "tax", StaffId: "zhang", Roles: []typesv1.Role{typesv1.Role_ROLE_CLERK}}
	ev, err := events.New("intake", region, disputeName(n), actor, "", p, at)
	if err != nil {
		t.Fatal(err)
	}
	if warning == "" {
		// The raising event names itself, as intake's script does.
		p.WarningId = ev.GetId()
		if ev, err = events.New("intake", region, disputeName(n), actor, "", p, at); err != nil {
			t.Fatal(err)
		}
		ev.Id = p.GetWarningId()
	}
	if _, err := f.rdb.TxPipelined(testCtx(t), func(pipe redis.Pipeliner) error {
		return events.Append(testCtx(t), pipe, events.Stream("intake", region), ev)
	}); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestMassWarningPerEmployer: five registrations against one employer
// (the raise naming three, then two additions, published out of time
// order) are one warning on the petition bureau's list, naming five
// disputes, with the first and last time. Acknowledging covers the five; a
// sixth dispute puts it back on the pending list as new since the
// acknowledgement, and acknowledging again covers six.
func TestMassWarningPerEmployer(t *testing.T) {
	f := startOffice(t)
	petition := f.as(t, region, "petition", authn.RoleHandler)
	office := f.as(t, region, "tax", authn.RoleOffice)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	raise := f.employerWarning(t, 3, "", t0, 1, 2, 3)
	id := raise.GetId()
	f.employerWarning(t, 5, id, t0.Add(2*time.Minute), 5)
	f.employerWarning(t, 4, id, t0.Add(time.Minute), 4)
	name := "regions/" + region + "/massWarnings/" + id

	pending := meetingv1.MassWarningState_MASS_WARNING_STATE_PENDING
	acked := meetingv1.MassWarningState_MASS_WARNING_STATE_ACKNOWLEDGED
	list := func(ctx context.Context, state meetingv1.MassWarningState) []*meetingv1.MassWarning {
		t.Helper()
		resp, err := f.meeting.ListMassWarnings(ctx, &meetingv1.ListMassWarningsRequest{Parent: "regions/" + region, State: state})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetMassWarnings()
	}
	await := func(what string, ok func([]*meetingv1.MassWarning) bool) []*meetingv1.MassWarning {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			ws := list(petition, pending)
			if ok(ws) {
				return ws
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: pending %v", what, ws)
			}
		}
	}
	ws := await("one warning naming five", func(ws []*meetingv1.MassWarning) bool {
		return len(ws) == 1 && ws[0].GetDisputeCount() == 5
	})
	five := []string{disputeName(1), disputeName(2), disputeName(3), disputeName(4), disputeName(5)}
	want := &meetingv1.MassWarning{Name: name, Dispute: disputeName(3), Trigger: "same_employer", PeopleInvolved: 1,
		OpenDisputesSameEmployer: 1, AddressedTo: []string{"petition", "tax"}, AcknowledgingUnits: []string{"petition"},
		RaiseTime: timestamppb.New(t0), LastRaiseTime: timestamppb.New(t0.Add(2 * time.Minute)), State: pending,
		Disputes: five, DisputeCount: 5, EmployerName: "孝义市示例煤业有限公司", EmployerCreditCode: "9135**********0Y43"}
	if d := cmp.Diff(want, ws[0], protocmp.Transform()); d != "" {
		t.Errorf("listed (-want +got):\n%s", d)
	}
	got, err := f.meeting.GetMassWarning(petition, &meetingv1.GetMassWarningRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	want.EmployerCreditCode = employerCredit
	if d := cmp.Diff(want, got.GetMassWarning(), protocmp.Transform()); d != "" {
		t.Errorf("read whole (-want +got):\n%s", d)
	}

	ack := func(reqID string) (*meetingv1.MassWarning, error) {
		resp, err := f.meeting.AcknowledgeMassWarning(petition, &meetingv1.AcknowledgeMassWarningRequest{
			Name: name, RequestId: reqID, Note: "已安排专人提前介入"})
		return resp.GetMassWarning(), err
	}
	first, err := ack("p-1")
	if err != nil {
		t.Fatal(err)
	}
	if first.GetState() != acked || !cmp.Equal(five, first.GetAcknowledgement().GetDisputes()) {
		t.Errorf("acknowledged: %v", first)
	}
	_, err = ack("p-2")
	refused(t, "acknowledging again with nothing added", err, codes.FailedPrecondition, "already acknowledged")
	if got := list(petition, pending); len(got) != 0 {
		t.Errorf("pending after the acknowledgement: %v", got)
	}

	// A sixth registration against the employer joins the warning.
	f.employerWarning(t, 6, id, t0.Add(3*time.Minute), 6)
	ws = await("the warning pending again with the sixth", func(ws []*meetingv1.MassWarning) bool {
		return len(ws) == 1 && ws[0].GetDisputeCount() == 6
	})
	if d := cmp.Diff([]string{disputeName(6)}, ws[0].GetDisputesSinceAcknowledgement()); d != "" {
		t.Errorf("new since the acknowledgement (-want +got):\n%s", d)
	}
	if ws[0].GetAcknowledgement().GetStaff() != "wang" || len(ws[0].GetAcknowledgement().GetDisputes()) != 5 {
		t.Errorf("the first acknowledgement is not shown with the five it covered: %v", ws[0].GetAcknowledgement())
	}
	if again, err := ack("p-1"); err != nil || again.GetState() != pending {
		t.Errorf("retry of the first acknowledgement: %v, %v; want the warning as it stands, pending", again, err)
	}
	second, err := ack("p-3")
	if err != nil {
		t.Fatal(err)
	}
	if second.GetState() != acked || len(second.GetAcknowledgement().GetDisputes()) != 6 ||
		len(second.GetEarlierAcknowledgements()) != 1 || len(second.GetDisputesSinceAcknowledgement()) != 0 {
		t.Errorf("acknowledged again: %v", second)
	}
	if got := list(office, acked); len(got) != 1 || got[0].GetName() != name {
		t.Errorf("the office's acknowledged list: %v", got)
	}

	// Each acknowledgement is published once, naming what it covers, under
	// the raising registration.
	evs := f.meetingEvents(t)
	if d := cmp.Diff([]string{"MassWarningAcknowledged", "MassWarningAcknowledged"}, types(evs)); d != "" {
		t.Fatalf("events (-want +got):\n%s", d)
	}
	for i, n := range []int{5, 6} {
		pl, err := events.Payload[*meetingv1.MassWarningAcknowledged](evs[i])
		if err != nil {
			t.Fatal(err)
		}
		if evs[i].GetDispute() != disputeName(3) || len(pl.GetMassWarning().GetAcknowledgement().GetDisputes()) != n {
			t.Errorf("acknowledgement %d under %s covers %v, want %d disputes", i+1, evs[i].GetDispute(),
				pl.GetMassWarning().GetAcknowledgement().GetDisputes(), n)
		}
	}
}
