package wire

import (
	"time"

	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// Clock converts a clock as seen at now; r counts its working days left.
func Clock(c tracker.Clock, r *tracker.Rules, now time.Time) *routingv1.Clock {
	out := &routingv1.Clock{
		Stage: routingv1.Stage(c.Stage), StartTime: ts(c.Start), DueTime: ts(c.Due), StopTime: ts(c.Stop),
		RemainingWorkingDays: c.RemainingDays(r, now),
		ExtensionDays:        int32(c.ExtensionDays),
		Warned:               c.Warned, Overdue: c.Overdue,
		Department: c.Department,
	}
	if c.ExtensionApprover != nil {
		out.ExtensionApprover = ActorProto(*c.ExtensionApprover)
	}
	for _, p := range c.Pauses {
		out.Pauses = append(out.Pauses, &routingv1.Pause{
			StartTime: ts(p.Start), EndTime: ts(p.End), Reason: p.Reason, Actor: ActorProto(p.Actor),
		})
	}
	return out
}

// Extension converts the extension request; nil when none was made.
func Extension(e *tracker.Extension) *routingv1.Extension {
	if e == nil {
		return nil
	}
	out := &routingv1.Extension{
		Days: int32(e.Days), Reason: e.Reason, RequestedBy: ActorProto(e.RequestedBy), RequestTime: ts(e.RequestTime),
		Decided: e.Decided, Approved: e.Approved, DecideTime: ts(e.DecideTime), Comment: e.Comment,
	}
	if e.DecidedBy != nil {
		out.DecidedBy = ActorProto(*e.DecidedBy)
	}
	return out
}
