// Package meetingfeed applies the joint-meeting office's outcomes, published
// by the meeting service, to routing's trackers: triage moves a dispute at
// the office to joint handling or to the convenor's approval, the
// convenor's decision to the platform or back to the office, and the
// office's decision or the platform's outcome is the written reply. Each
// effect is idempotent on the event id.
package meetingfeed

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/legal"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
	"github.com/xiaoyi-disputes/disputes/routing/internal/wire"
)

// Service is the meeting service's stream name.
const Service = "meeting"

// Feed handles meeting events.
type Feed struct {
	Calendar tracker.Calendar
	Now      func() time.Time
	Log      *slog.Logger
	// Legal names the issuer and where to apply in each reply; nil leaves
	// the names empty.
	Legal *legal.Source
}

// errNotOpened makes an outcome wait (retry) until the dispute's
// registration is applied.
var errNotOpened = errors.New("tracker not opened yet")

// effect changes the tracker for one event and returns what routing
// publishes with the change.
type effect func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error)

// Routes returns routing's handlers of the office's events, writing
// through st. Routing publishes each change it applies as its own event
// (DisputeTriaged, ApprovalApplied, ReplyRecorded), so other services learn
// the lifecycle from routing alone.
func (f *Feed) Routes(st *store.Store) map[string]events.Handler {
	return map[string]events.Handler{
		events.TypeOf(&meetingv1.MatterTriaged{}):           st.Handler(f.triaged),
		events.TypeOf(&meetingv1.ApprovalDecided{}):         st.Handler(f.approvalDecided),
		events.TypeOf(&meetingv1.DecisionIssued{}):          st.Handler(f.decision),
		events.TypeOf(&meetingv1.PlatformOutcomeRecorded{}): st.Handler(f.platformOutcome),
		events.TypeOf(&meetingv1.MeetingConvened{}):         st.MultiHandler(f.convened),
		events.TypeOf(&meetingv1.OpinionSubmitted{}):        st.Handler(f.opinion),
		events.TypeOf(&meetingv1.ApprovalRequested{}):       st.Handler(f.approvalRequested),
		events.TypeOf(&meetingv1.MassWarningAcknowledged{}): st.MultiHandler(f.warningAcknowledged),
	}
}

// warningAcknowledged ends the reading of the departments a mass-dispute
// warning addressed on every dispute the acknowledgement covers: the warning
// is handled (WarningReadersRemoved).
func (f *Feed) warningAcknowledged(dl *events.Delivery) (map[string]store.ApplyFunc, error) {
	ev := dl.Event
	p, err := events.Payload[*meetingv1.MassWarningAcknowledged](ev)
	if err != nil {
		return nil, events.Permanent(err)
	}
	w := p.GetMassWarning()
	if w.GetState() != meetingv1.MassWarningState_MASS_WARNING_STATE_ACKNOWLEDGED {
		return nil, nil
	}
	disputes := w.GetAcknowledgement().GetDisputes()
	if len(disputes) == 0 {
		disputes = []string{or(ev.GetDispute(), w.GetDispute())}
	}
	out := make(map[string]store.ApplyFunc, len(disputes))
	for _, d := range disputes {
		_, fn, err := f.apply(ev, d, func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error) {
			removed := t.EndWarningReaders(w.GetAddressedTo())
			if len(removed) == 0 {
				return nil, nil
			}
			return f.publish(t, ev, "", &routingv1.WarningReadersRemoved{Departments: removed, SourceEventId: ev.GetId()})
		})
		if err != nil {
			return nil, err
		}
		out[d] = f.unchanged(fn)
	}
	return out, nil
}

// convened starts, on every dispute of the meeting's agenda, one opinion
// clock per invited unit and lets the units read it (OpinionsRequested).
// The opinions are due counted from the meeting (DESIGN section 3: "5
// working days from the meeting"): its start time when the office gives
// one, else the convening.
func (f *Feed) convened(dl *events.Delivery) (map[string]store.ApplyFunc, error) {
	ev := dl.Event
	p, err := events.Payload[*meetingv1.MeetingConvened](ev)
	if err != nil {
		return nil, events.Permanent(err)
	}
	mt := p.GetMeeting()
	held := func(convened time.Time) time.Time {
		if st := mt.GetStartTime(); st != nil {
			return st.AsTime()
		}
		return convened
	}
	out := map[string]store.ApplyFunc{}
	for _, d := range mt.GetDisputes() {
		_, fn, err := f.apply(ev, d, func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error) {
			if t.State == tracker.AtOffice {
				// A meeting on several disputes is filed under none, so it
				// may be read before a dispute's triage (filed under the
				// dispute) is applied: wait for it.
				return nil, events.NotYet(fmt.Errorf("%s: triage not applied yet", t.Name))
			}
			changed, err := t.Convene(mt.GetName(), mt.GetInvitedUnits(), f.Calendar, held(at))
			if err != nil || !changed {
				return nil, err
			}
			var due time.Time
			for _, u := range mt.GetInvitedUnits() {
				if d := t.OpinionDue(u, mt.GetName()); d.After(due) {
					due = d
				}
			}
			return f.publish(t, ev, mt.GetAgenda(), &routingv1.OpinionsRequested{
				Meeting: mt.GetName(), Units: mt.GetInvitedUnits(), DueTime: timestamppb.New(due), SourceEventId: ev.GetId(),
			})
		})
		if err != nil {
			return nil, err
		}
		out[d] = f.unchanged(fn)
	}
	return out, nil
}

// opinion stops the opinion clock of the unit that gave it (OpinionReceived).
func (f *Feed) opinion(dl *events.Delivery) (string, store.ApplyFunc, error) {
	ev := dl.Event
	p, err := events.Payload[*meetingv1.OpinionSubmitted](ev)
	if err != nil {
		return "", nil, events.Permanent(err)
	}
	op := p.GetOpinion()
	unit := or(op.GetUnit(), ev.GetActor().GetDepartment())
	name, fn, err := f.apply(ev, or(ev.GetDispute(), op.GetDispute()), func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error) {
		if op.GetSubmitTime() != nil {
			at = op.GetSubmitTime().AsTime()
		}
		inv, ok := t.ReceiveOpinion(unit, p.GetMeeting(), at)
		if !ok {
			return nil, nil
		}
		return f.publish(t, ev, "", &routingv1.OpinionReceived{Unit: unit, Meeting: inv.Meeting, Late: inv.Late, SourceEventId: ev.GetId()})
	})
	return name, f.unchanged(fn), err
}

// approvalRequested starts the convenor's approval clock (ApprovalPending).
func (f *Feed) approvalRequested(dl *events.Delivery) (string, store.ApplyFunc, error) {
	ev := dl.Event
	p, err := events.Payload[*meetingv1.ApprovalRequested](ev)
	if err != nil {
		return "", nil, events.Permanent(err)
	}
	ap := p.GetApproval()
	name, fn, err := f.apply(ev, or(ev.GetDispute(), ap.GetDispute()), func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error) {
		changed, err := t.RequestApproval(ap.GetName(), f.Calendar, at)
		if err != nil || !changed {
			return nil, err
		}
		k, _ := t.RunningClock()
		return f.publish(t, ev, ap.GetSummary(), &routingv1.ApprovalPending{Approval: ap.GetName(), DueTime: timestamppb.New(k.Due), SourceEventId: ev.GetId()})
	})
	return name, f.unchanged(fn), err
}

// unchanged makes an effect that publishes nothing write nothing: the event
// was applied already or does not concern the tracker.
func (f *Feed) unchanged(fn store.ApplyFunc) store.ApplyFunc {
	return func(cur *tracker.Tracker) (*tracker.Tracker, []*eventv1.Event, error) {
		next, out, err := fn(cur)
		if err != nil || len(out) == 0 {
			return nil, nil, err
		}
		return next, out, nil
	}
}

func (f *Feed) triaged(dl *events.Delivery) (string, store.ApplyFunc, error) {
	ev := dl.Event
	p, err := events.Payload[*meetingv1.MatterTriaged](ev)
	if err != nil {
		return "", nil, events.Permanent(err)
	}
	var major bool
	switch p.GetClass() {
	case meetingv1.MatterClass_MATTER_CLASS_GENERAL:
	case meetingv1.MatterClass_MATTER_CLASS_MAJOR:
		major = true
	default:
		return "", nil, events.Permanent(fmt.Errorf("event %s: matter class %v is neither GENERAL nor MAJOR", ev.GetId(), p.GetClass()))
	}
	return f.apply(ev, ev.GetDispute(), func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error) {
		if err := t.Triage(major, a, p.GetNote(), f.Calendar, at, ""); err != nil {
			return nil, err
		}
		return f.publish(t, ev, p.GetNote(), &routingv1.DisputeTriaged{Major: major, Note: p.GetNote(), SourceEventId: ev.GetId()})
	})
}

func (f *Feed) approvalDecided(dl *events.Delivery) (string, store.ApplyFunc, error) {
	ev := dl.Event
	p, err := events.Payload[*meetingv1.ApprovalDecided](ev)
	if err != nil {
		return "", nil, events.Permanent(err)
	}
	ap := p.GetApproval()
	if !ap.GetDecided() {
		return "", nil, nil
	}
	return f.apply(ev, or(ev.GetDispute(), ap.GetDispute()), func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error) {
		if err := t.DecideApproval(ap.GetApproved(), a, ap.GetComment(), f.Calendar, at, ""); err != nil {
			return nil, err
		}
		return f.publish(t, ev, ap.GetComment(), &routingv1.ApprovalApplied{Approved: ap.GetApproved(), Comment: ap.GetComment(), SourceEventId: ev.GetId()})
	})
}

func (f *Feed) decision(dl *events.Delivery) (string, store.ApplyFunc, error) {
	p, err := events.Payload[*meetingv1.DecisionIssued](dl.Event)
	if err != nil {
		return "", nil, events.Permanent(err)
	}
	return f.reply(dl.Event, false, tracker.ReplyInput{Outcome: p.GetOutcome(), Text: p.GetText(), Remedies: p.GetRemedies()})
}

func (f *Feed) platformOutcome(dl *events.Delivery) (string, store.ApplyFunc, error) {
	p, err := events.Payload[*meetingv1.PlatformOutcomeRecorded](dl.Event)
	if err != nil {
		return "", nil, events.Permanent(err)
	}
	return f.reply(dl.Event, true, tracker.ReplyInput{Outcome: p.GetOutcome(), Text: p.GetText(), Remedies: p.GetRemedies()})
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// publish builds routing's event of a change applied from the office's
// event ev and stamps the change's transition with its id.
func (f *Feed) publish(t *tracker.Tracker, ev *eventv1.Event, reason string, payload proto.Message) ([]*eventv1.Event, error) {
	out, err := events.New(store.Service, t.Region, t.Name, ev.GetActor(), reason, payload, f.Now())
	if err != nil {
		return nil, err
	}
	t.StampEvent(out.GetId())
	return []*eventv1.Event{out}, nil
}

// reply records the office's decision or the platform's outcome as the
// written reply and publishes ReplyRecorded with it.
func (f *Feed) reply(ev *eventv1.Event, platform bool, in tracker.ReplyInput) (string, store.ApplyFunc, error) {
	return f.apply(ev, ev.GetDispute(), func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error) {
		r, err := t.RecordOutcome(platform, a, in, f.Calendar, at, "")
		if err != nil {
			return nil, err
		}
		f.Legal.Fill(r, t.Region, t.Holder)
		return f.publish(t, ev, r.Outcome, &routingv1.ReplyRecorded{Reply: wire.Reply(r)})
	})
}

// apply runs fn on dispute name's tracker. The transition is dated when the
// office acted (the event's time). A dispute closed meanwhile (withdrawn)
// ignores the outcome; any other state that does not allow it is an error,
// retried a few times and then parked for someone to look at.
func (f *Feed) apply(ev *eventv1.Event, name string, fn effect) (string, store.ApplyFunc, error) {
	at := ev.GetTime().AsTime()
	if ev.GetTime() == nil {
		at = f.Now()
	}
	return name, func(cur *tracker.Tracker) (*tracker.Tracker, []*eventv1.Event, error) {
		if cur == nil {
			return nil, nil, events.NotYet(errNotOpened)
		}
		if cur.State == tracker.Closed || cur.State == tracker.Archived {
			return nil, nil, nil
		}
		out, err := fn(cur, wire.Actor(ev.GetActor()), at)
		if err != nil {
			return nil, nil, fmt.Errorf("%s on %s: %w", ev.GetType(), name, err)
		}
		return cur, out, nil
	}, nil
}
