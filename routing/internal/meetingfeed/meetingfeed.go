// Package meetingfeed applies the joint-meeting office's outcomes, published
// by the meeting service, to routing's trackers: triage moves a dispute at
// the office to joint handling or to the convenor's approval, the
// convenor's decision to the platform or back to the office, and the
// office's decision or the platform's outcome is the written reply. Each
// effect is idempotent on the event id.
package meetingfeed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
	"github.com/xiaoyi-disputes/disputes/routing/internal/wire"
)

// Service is the meeting service's stream name.
const Service = "meeting"

// Feed handles meeting events.
type Feed struct {
	Store    *store.Store
	Calendar tracker.Calendar
	Now      func() time.Time
	Log      *slog.Logger
}

// errNotOpened makes an outcome wait (retry) until the dispute's
// registration is applied.
var errNotOpened = errors.New("tracker not opened yet")

// effect changes the tracker for one event and returns what routing
// publishes with the change.
type effect func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error)

// Streams returns the meeting streams of regions.
func Streams(regions []string) []string {
	out := make([]string, 0, len(regions))
	for _, r := range regions {
		out = append(out, events.Stream(Service, r))
	}
	return out
}

// Handles reports whether ev is a meeting event, for a consumer that reads
// meeting streams with others.
func Handles(ev *eventv1.Event) bool {
	return strings.HasPrefix(ev.GetType(), string(meetingv1.File_disputes_meeting_v1_meeting_proto.Package())+".")
}

// Handle applies one meeting event; events that do not move a dispute are ignored.
func (f *Feed) Handle(ctx context.Context, ev *eventv1.Event) error {
	switch {
	case events.Is(ev, &meetingv1.MatterTriaged{}):
		p, err := events.Payload[*meetingv1.MatterTriaged](ev)
		if err != nil {
			return err
		}
		var major bool
		switch p.GetClass() {
		case meetingv1.MatterClass_MATTER_CLASS_GENERAL:
		case meetingv1.MatterClass_MATTER_CLASS_MAJOR:
			major = true
		default:
			return fmt.Errorf("event %s: matter class %v is neither GENERAL nor MAJOR", ev.GetId(), p.GetClass())
		}
		return f.apply(ctx, ev, ev.GetDispute(), func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error) {
			return nil, t.Triage(major, a, p.GetNote(), f.Calendar, at, ev.GetId())
		})
	case events.Is(ev, &meetingv1.ApprovalDecided{}):
		p, err := events.Payload[*meetingv1.ApprovalDecided](ev)
		if err != nil {
			return err
		}
		ap := p.GetApproval()
		if !ap.GetDecided() {
			return nil
		}
		return f.apply(ctx, ev, or(ev.GetDispute(), ap.GetDispute()), func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error) {
			return nil, t.DecideApproval(ap.GetApproved(), a, ap.GetComment(), at, ev.GetId())
		})
	case events.Is(ev, &meetingv1.DecisionIssued{}):
		p, err := events.Payload[*meetingv1.DecisionIssued](ev)
		if err != nil {
			return err
		}
		return f.reply(ctx, ev, false, tracker.ReplyInput{Outcome: p.GetOutcome(), Text: p.GetText(), Remedies: p.GetRemedies()})
	case events.Is(ev, &meetingv1.PlatformOutcomeRecorded{}):
		p, err := events.Payload[*meetingv1.PlatformOutcomeRecorded](ev)
		if err != nil {
			return err
		}
		return f.reply(ctx, ev, true, tracker.ReplyInput{Outcome: p.GetOutcome(), Text: p.GetText(), Remedies: p.GetRemedies()})
	}
	return nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// reply records the office's decision or the platform's outcome as the
// written reply and publishes ReplyRecorded with it.
func (f *Feed) reply(ctx context.Context, ev *eventv1.Event, platform bool, in tracker.ReplyInput) error {
	return f.apply(ctx, ev, ev.GetDispute(), func(t *tracker.Tracker, a tracker.Actor, at time.Time) ([]*eventv1.Event, error) {
		r, err := t.RecordOutcome(platform, a, in, f.Calendar, at, ev.GetId())
		if err != nil {
			return nil, err
		}
		out, err := events.New(store.Service, t.Region, t.Name, ev.GetActor(), r.Outcome, &routingv1.ReplyRecorded{Reply: wire.Reply(r)}, f.Now())
		if err != nil {
			return nil, err
		}
		return []*eventv1.Event{out}, nil
	})
}

// apply runs fn on dispute name's tracker once per event id. The
// transition is dated when the office acted (the event's time). A dispute
// closed meanwhile (withdrawn) ignores the outcome; any other state that
// does not allow it is an error, so the entry is retried and then parked
// for someone to look at.
func (f *Feed) apply(ctx context.Context, ev *eventv1.Event, name string, fn effect) error {
	at := ev.GetTime().AsTime()
	if ev.GetTime() == nil {
		at = f.Now()
	}
	applied, err := f.Store.ApplyEvent(ctx, ev, name, func(cur *tracker.Tracker) (*tracker.Tracker, []*eventv1.Event, error) {
		if cur == nil {
			return nil, nil, errNotOpened
		}
		if cur.State == tracker.Closed || cur.State == tracker.Archived {
			return nil, nil, nil
		}
		out, err := fn(cur, wire.Actor(ev.GetActor()), at)
		if err != nil {
			return nil, nil, err
		}
		return cur, out, nil
	})
	if err != nil {
		return fmt.Errorf("%s on %s: %w", ev.GetType(), name, err)
	}
	if applied && f.Log != nil {
		f.Log.InfoContext(ctx, "meeting outcome applied", "type", ev.GetType(), "dispute", name, "event_id", ev.GetId())
	}
	return nil
}
