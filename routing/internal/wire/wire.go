// Package wire converts between routing's domain types and its protobuf
// messages, for the gRPC API and the events routing publishes.
package wire

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

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
