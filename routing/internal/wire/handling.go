package wire

import (
	"github.com/xiaoyi-disputes/disputes/routing/internal/remedy"

	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// Reply converts a written reply; nil when none was given.
func Reply(r *tracker.Reply) *routingv1.Reply {
	if r == nil {
		return nil
	}
	out := &routingv1.Reply{Outcome: r.Outcome, Text: r.Text, ReplyTime: ts(r.Time), Actor: ActorProto(r.Actor),
		Issuer: routingv1.ReplyIssuer(r.Issuer), IssuerName: r.IssuerName, Delivery: Delivery(r.Delivery)}
	out.Remedies = Remedies(r.Remedies)
	return out
}

// Remedies converts remedies with their last dates.
func Remedies(rs []remedy.Deadline) []*routingv1.RemedyDeadline {
	var out []*routingv1.RemedyDeadline
	for _, d := range rs {
		out = append(out, &routingv1.RemedyDeadline{Remedy: d.Remedy, LastDate: d.LastDate, Basis: d.Basis,
			Authority: d.Authority, Period: d.Period})
	}
	return out
}

// Delivery converts the delivery of a reply; nil when none is recorded.
func Delivery(d *tracker.Delivery) *routingv1.Delivery {
	if d == nil {
		return nil
	}
	return &routingv1.Delivery{Method: routingv1.DeliveryMethod(d.Method), DeliveryDate: d.Date, Recipient: d.Recipient,
		Note: d.Note, Actor: ActorProto(d.Actor), RecordTime: ts(d.RecordTime)}
}

// FollowUp converts a follow-up.
func FollowUp(f tracker.FollowUp) *routingv1.FollowUp {
	return &routingv1.FollowUp{Satisfied: f.Satisfied, Note: f.Note, Actor: ActorProto(f.Actor), Time: ts(f.Time)}
}

// handled fills the handling record of t into out.
func handled(out *routingv1.Tracking, t *tracker.Tracker) {
	out.Reply = Reply(t.Reply)
	out.ObjectionRemedy = t.ObjectionRemedy
	out.RedoCount = t.RedoCount
	out.CloseCause = t.CloseCause
	for _, n := range t.Notes {
		out.Notes = append(out.Notes, &routingv1.ProgressNote{Text: n.Text, Actor: ActorProto(n.Actor), Time: ts(n.Time)})
	}
	for _, f := range t.FollowUps {
		out.FollowUps = append(out.FollowUps, FollowUp(f))
	}
}
