package wire

import (
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// Reply converts a written reply; nil when none was given.
func Reply(r *tracker.Reply) *routingv1.Reply {
	if r == nil {
		return nil
	}
	out := &routingv1.Reply{Outcome: r.Outcome, Text: r.Text, ReplyTime: ts(r.Time), Actor: ActorProto(r.Actor)}
	for _, d := range r.Remedies {
		out.Remedies = append(out.Remedies, &routingv1.RemedyDeadline{Remedy: d.Remedy, LastDate: d.LastDate, Basis: d.Basis})
	}
	return out
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
