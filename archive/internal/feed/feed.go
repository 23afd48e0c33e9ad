// Package feed files every event of intake, routing and meeting into the
// dossiers it concerns. What an event tells a dossier's summary is read
// from its payload; the lifecycle (state, who may read) only from the
// Lifecycle routing's events carry.
package feed

import (
	"slices"
	"time"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
)

// Group is the archive's consumer group name.
const Group = "archive"

// Sources are the services whose streams the archive reads.
var Sources = []string{"intake", "routing", "meeting"}

// Handler files every event it is given (the subscription's Default).
func Handler(st *store.Store) events.Handler { return st.Handler(Extract) }

// Extract returns the disputes an event concerns and what it tells their
// dossiers. A meeting convened about several disputes without one named on
// the envelope goes into each of them; a mass-dispute warning goes into
// the dossier of each dispute it adds to the warning, and an acknowledgement
// of one into each dispute the acknowledgement covers, besides the dispute
// on the envelope; an event about no dispute has no targets.
func Extract(ev *eventv1.Event) ([]string, dossier.Fact, error) {
	fact := dossier.Fact{Time: ev.GetTime().AsTime()}
	var targets []string
	if ev.GetDispute() != "" {
		targets = []string{ev.GetDispute()}
	}
	if lc := ev.GetLifecycle(); lc != nil {
		// Guest readers of the office path read the dispute (masked) and
		// its tracking for their stage, not the dossier with the claimant's
		// numbers: the dossier's readers are the departments that
		// registered, hold or held it.
		fact.Version, fact.State = lc.GetVersion(), lc.GetState()
		for _, r := range lc.GetReaders() {
			if !slices.Contains(lc.GetGuestReaders(), r) {
				fact.Readers = append(fact.Readers, r)
			}
		}
		fact.Number, fact.RegisteringDepartment = lc.GetNumber(), lc.GetRegisteringDepartment()
		fact.Holder = lc.GetHolder()
	}
	m, err := ev.GetPayload().UnmarshalNew()
	if err != nil {
		// An unknown payload type is still filed, it just tells nothing.
		return targets, fact, nil
	}
	switch p := m.(type) {
	case *intakev1.DisputeRegistered:
		d := p.GetDispute()
		fact.Number = d.GetNumber()
		fact.RegisteringDepartment = d.GetRegisteringDepartment()
		fact.Category = d.GetCategory()
		fact.Channel = d.GetChannel()
		fact.RegisterTime = tsOr(d.GetRegisterTime().AsTime(), d.GetRegisterTime() != nil, fact.Time)
		fact.Jurisdiction = d.GetJurisdiction()
		if len(targets) == 0 && d.GetName() != "" {
			targets = []string{d.GetName()}
		}
	case *routingv1.TrackingOpened:
		fact.Category = p.GetTracking().GetCategory()
	case *routingv1.ReplyRecorded:
		r := p.GetReply().GetReplyTime()
		fact.ReplyTime = tsOr(r.AsTime(), r != nil, fact.Time)
	case *routingv1.Overdue:
		fact.Overdue = true
		if p.GetStage() == routingv1.Stage_STAGE_HANDLING && p.GetDueTime() != nil {
			fact.HandlingDue = p.GetDueTime().AsTime()
		}
	case *routingv1.TransferReturned:
		fact.Returned = true
	case *routingv1.ExtensionDecided:
		fact.Extended = p.GetExtension().GetApproved()
	case *routingv1.FollowUpRecorded:
		fact.FollowUp, fact.Satisfied = true, p.GetFollowUp().GetSatisfied()
	case *meetingv1.MeetingConvened:
		if len(targets) == 0 {
			targets = p.GetMeeting().GetDisputes()
		}
	case *intakev1.MassDisputeWarning:
		targets = unite(targets, p.GetDisputes())
	case *meetingv1.MassWarningAcknowledged:
		targets = unite(targets, p.GetMassWarning().GetAcknowledgement().GetDisputes())
	}
	return targets, fact, nil
}

// unite returns a with the names of b it lacks appended.
func unite(a, b []string) []string {
	for _, n := range b {
		if !slices.Contains(a, n) {
			a = append(a, n)
		}
	}
	return a
}

func tsOr(t time.Time, ok bool, def time.Time) time.Time {
	if ok {
		return t
	}
	return def
}
