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
		if err := t.DecideApproval(ap.GetApproved(), a, ap.GetComment(), at, ""); err != nil {
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
