// Package wire converts between routing's domain types and its protobuf
// messages, for the gRPC API and the events routing publishes.
package wire

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/mask"

	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Actor converts an event or token actor into the domain's.
func Actor(a *typesv1.Actor) tracker.Actor {
	out := tracker.Actor{Region: a.GetRegion(), Department: a.GetDepartment(), Staff: a.GetStaffId()}
	for _, r := range a.GetRoles() {
		out.Roles = append(out.Roles, strings.ToLower(strings.TrimPrefix(r.String(), "ROLE_")))
	}
	return out
}

// ActorProto converts a domain actor into its message.
func ActorProto(a tracker.Actor) *typesv1.Actor {
	out := &typesv1.Actor{Region: a.Region, Department: a.Department, StaffId: a.Staff}
	for _, r := range a.Roles {
		if v, ok := typesv1.Role_value["ROLE_"+strings.ToUpper(r)]; ok {
			out.Roles = append(out.Roles, typesv1.Role(v))
		}
	}
	return out
}

// Slip converts a transfer slip.
func Slip(s *tracker.Slip) *routingv1.TransferSlip {
	if s == nil {
		return nil
	}
	return &routingv1.TransferSlip{
		Name: s.Name, Number: s.Number, Dispute: s.Dispute,
		RegisteringDepartment: s.RegisteringDepartment, RegisteringStaff: s.RegisteringStaff,
		Opinion: s.Opinion, ReceivingDepartment: s.ReceivingDepartment, Receiver: s.Receiver,
		ReceiveTime: ts(s.ReceiveTime), CreateTime: ts(s.CreateTime), ReturnReason: s.ReturnReason,
	}
}

// Tracking converts a tracker as seen at now; the rules of its region in
// cal count the working days left on each clock.
func Tracking(t *tracker.Tracker, cal tracker.Calendar, now time.Time) *routingv1.Tracking {
	out := &routingv1.Tracking{
		Name: t.Name, Number: t.Number, State: t.State, Holder: t.Holder,
		RegisteringDepartment: t.RegisteringDepartment, FirstReceiver: t.FirstReceiver,
		Category: t.Category, ReturnCount: t.ReturnCount, PastHolders: append([]string(nil), t.PastHolders...),
		Etag: t.Etag(), RouteReasonCode: t.RouteReasonCode,
		Readers: t.Readers(), OfficeReceiptPending: t.OfficeReceiptPending,
	}
	for _, i := range t.Invitations {
		out.Invitations = append(out.Invitations, &routingv1.Invitation{
			Unit: i.Unit, Meeting: i.Meeting, SubmitTime: ts(i.Submitted), Late: i.Late,
		})
	}
	rules := cal.Rules(t.Region)
	for _, c := range t.Clocks {
		out.Clocks = append(out.Clocks, Clock(c, rules, now))
	}
	out.Extension = Extension(t.Extension)
	handled(out, t)
	for _, h := range t.History {
		out.History = append(out.History, &routingv1.Transition{
			From: h.From, To: h.To, Actor: ActorProto(h.Actor), Time: ts(h.Time), Reason: h.Reason, EventId: h.EventID,
		})
	}
	for i := range t.Slips {
		out.TransferSlips = append(out.TransferSlips, Slip(&t.Slips[i]))
	}
	return out
}

// MaskText masks the personal numbers (phone, ID, credit codes) in the free
// text of a tracking, for a reader that does not hold the dispute.
func MaskText(t *routingv1.Tracking) {
	for _, h := range t.GetHistory() {
		h.Reason = mask.String(h.GetReason())
	}
	for _, s := range t.GetTransferSlips() {
		s.Opinion, s.ReturnReason = mask.String(s.GetOpinion()), mask.String(s.GetReturnReason())
	}
	for _, n := range t.GetNotes() {
		n.Text = mask.String(n.GetText())
	}
	for _, f := range t.GetFollowUps() {
		f.Note = mask.String(f.GetNote())
	}
	if r := t.GetReply(); r != nil {
		r.Outcome, r.Text = mask.String(r.GetOutcome()), mask.String(r.GetText())
	}
	if e := t.GetExtension(); e != nil {
		e.Reason, e.Comment = mask.String(e.GetReason()), mask.String(e.GetComment())
	}
	for _, k := range t.GetClocks() {
		for _, p := range k.GetPauses() {
			p.Reason = mask.String(p.GetReason())
		}
	}
}
