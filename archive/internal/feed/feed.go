// Package feed files every event of intake, routing and meeting into the
// dossiers it concerns.
package feed

import (
	"context"
	"fmt"
	"time"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealing"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// Group is the archive's consumer group name.
const Group = "archive"

// Sources are the services whose streams the archive reads.
var Sources = []string{"intake", "routing", "meeting"}

// Streams returns the streams of every source in regions.
func Streams(regions []string) []string {
	var out []string
	for _, r := range regions {
		for _, s := range Sources {
			out = append(out, events.Stream(s, r))
		}
	}
	return out
}

// Feed records events in dossiers.
type Feed struct {
	Store *store.Store
	// Sealer, when set, keeps events out of sealed dossiers: they are
	// filed as late events instead.
	Sealer *sealing.Sealer
}

// Handle files one event.
func (f *Feed) Handle(ctx context.Context, ev *eventv1.Event) error {
	targets, fact, err := Extract(ev)
	if err != nil {
		return err
	}
	file := func(open, late []string) error {
		if _, err := f.Store.Append(ctx, ev, open, late, fact); err != nil {
			return fmt.Errorf("file event %s (%s): %w", ev.GetId(), ev.GetType(), err)
		}
		return nil
	}
	if f.Sealer == nil {
		return file(targets, nil)
	}
	return f.Sealer.File(ev, targets, file)
}

// Extract returns the disputes an event concerns and what it tells their
// dossiers. A meeting convened about several disputes without one named on
// the envelope goes into each of them; an event about no dispute has no
// targets.
func Extract(ev *eventv1.Event) ([]string, dossier.Fact, error) {
	fact := dossier.Fact{Time: ev.GetTime().AsTime()}
	var targets []string
	if ev.GetDispute() != "" {
		targets = []string{ev.GetDispute()}
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
		fact.State = typesv1.DisputeState_DISPUTE_STATE_REGISTERED
		if len(targets) == 0 && d.GetName() != "" {
			targets = []string{d.GetName()}
		}
	case *routingv1.TrackingOpened:
		t := p.GetTracking()
		fact.Number = t.GetNumber()
		fact.State = t.GetState()
		fact.Departments = []string{t.GetHolder(), t.GetRegisteringDepartment()}
	case *routingv1.DisputeRouted:
		fact.State = p.GetState()
		fact.Departments = []string{p.GetTargetDepartment(), p.GetSlip().GetReceivingDepartment(), ev.GetActor().GetDepartment()}
	case *routingv1.TransferReceived:
		fact.State = typesv1.DisputeState_DISPUTE_STATE_HANDLING
		fact.Departments = []string{p.GetSlip().GetReceivingDepartment()}
	case *routingv1.TransferReturned:
		fact.State = typesv1.DisputeState_DISPUTE_STATE_REGISTERED
		if p.GetSentToOffice() {
			fact.State = typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE
		}
	case *routingv1.ReplyRecorded:
		fact.State = typesv1.DisputeState_DISPUTE_STATE_REPLIED
	case *routingv1.DisputeRedone:
		fact.State = typesv1.DisputeState_DISPUTE_STATE_HANDLING
		fact.Departments = []string{p.GetHolder()}
	case *routingv1.DisputeClosed:
		fact.State = typesv1.DisputeState_DISPUTE_STATE_CLOSED
	case *meetingv1.MatterTriaged:
		switch p.GetClass() {
		case meetingv1.MatterClass_MATTER_CLASS_GENERAL:
			fact.State = typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING
		case meetingv1.MatterClass_MATTER_CLASS_MAJOR:
			fact.State = typesv1.DisputeState_DISPUTE_STATE_AWAITING_APPROVAL
		}
	case *meetingv1.MeetingConvened:
		fact.Departments = p.GetMeeting().GetInvitedUnits()
		if len(targets) == 0 {
			targets = p.GetMeeting().GetDisputes()
		}
	case *meetingv1.OpinionSubmitted:
		fact.Departments = []string{p.GetOpinion().GetUnit()}
	case *meetingv1.ApprovalDecided:
		if a := p.GetApproval(); a.GetDecided() {
			fact.State = typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE
			if a.GetApproved() {
				fact.State = typesv1.DisputeState_DISPUTE_STATE_AT_PLATFORM
			}
		}
	}
	return targets, fact, nil
}

func tsOr(t time.Time, ok bool, def time.Time) time.Time {
	if ok {
		return t
	}
	return def
}
