// Package routingfeed keeps the joint-meeting office's view of disputes
// from routing's events: which disputes are at the office (routed there,
// escalated, or returned a second time), where the others are, their form
// number and registering department, and which are closed. Each event is
// applied once however often it is delivered.
package routingfeed

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// Source is the service whose streams the feed reads.
const Source = "routing"

// Group is the consumer group of the meeting service on routing's streams.
const Group = "meeting"

// Streams returns routing's streams of regions.
func Streams(regions []string) []string {
	out := make([]string, 0, len(regions))
	for _, r := range regions {
		out = append(out, events.Stream(Source, r))
	}
	return out
}

// Feed applies routing's events to the office's view.
type Feed struct {
	Store *store.Store
	Log   *slog.Logger
}

// Handle applies one routing event; events that do not change where a
// dispute is are ignored.
func (f *Feed) Handle(ctx context.Context, ev *eventv1.Event) error {
	fn, err := effect(ev)
	if err != nil || fn == nil {
		return err
	}
	name, err := names.CheckDispute(ev.GetDispute())
	if err != nil {
		return fmt.Errorf("event %s (%s): %w", ev.GetId(), ev.GetType(), err)
	}
	applied, err := f.Store.Observe(ctx, ev.GetRegion(), name, ev.GetId(), fn)
	if err != nil {
		return err
	}
	if applied && f.Log != nil {
		f.Log.DebugContext(ctx, "routing event applied", "type", ev.GetType(), "dispute", name, "event_id", ev.GetId())
	}
	return nil
}

// effect returns how ev changes the office's view, nil when it does not.
func effect(ev *eventv1.Event) (func(m *office.Matter), error) {
	observe := func(s typesv1.DisputeState) func(*office.Matter) {
		return func(m *office.Matter) { m.Observe(s) }
	}
	switch {
	case events.Is(ev, &routingv1.TrackingOpened{}):
		p, err := events.Payload[*routingv1.TrackingOpened](ev)
		if err != nil {
			return nil, err
		}
		tr := p.GetTracking()
		return func(m *office.Matter) {
			m.Number, m.RegisteringDepartment = tr.GetNumber(), tr.GetRegisteringDepartment()
			if m.State == typesv1.DisputeState_DISPUTE_STATE_UNSPECIFIED {
				m.Observe(tr.GetState())
			}
		}, nil
	case events.Is(ev, &routingv1.DisputeRouted{}):
		p, err := events.Payload[*routingv1.DisputeRouted](ev)
		if err != nil {
			return nil, err
		}
		s := p.GetState()
		if s == typesv1.DisputeState_DISPUTE_STATE_UNSPECIFIED {
			switch p.GetKind() {
			case routingv1.RouteKind_ROUTE_KIND_OFFICE:
				s = typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE
			case routingv1.RouteKind_ROUTE_KIND_TRANSFER:
				s = typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED
			default:
				s = typesv1.DisputeState_DISPUTE_STATE_HANDLING
			}
		}
		return observe(s), nil
	case events.Is(ev, &routingv1.TransferReceived{}):
		return observe(typesv1.DisputeState_DISPUTE_STATE_HANDLING), nil
	case events.Is(ev, &routingv1.TransferReturned{}):
		p, err := events.Payload[*routingv1.TransferReturned](ev)
		if err != nil {
			return nil, err
		}
		if p.GetSentToOffice() {
			return observe(typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE), nil
		}
		return observe(typesv1.DisputeState_DISPUTE_STATE_REGISTERED), nil
	case events.Is(ev, &routingv1.ReplyRecorded{}):
		return observe(typesv1.DisputeState_DISPUTE_STATE_REPLIED), nil
	case events.Is(ev, &routingv1.DisputeRedone{}):
		return observe(typesv1.DisputeState_DISPUTE_STATE_HANDLING), nil
	case events.Is(ev, &routingv1.DisputeClosed{}), events.Is(ev, &routingv1.ObjectionRecorded{}):
		return observe(typesv1.DisputeState_DISPUTE_STATE_CLOSED), nil
	}
	return nil, nil
}
