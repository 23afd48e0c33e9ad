// Package routingfeed applies routing's events to intake: the departments
// a dispute is routed, transferred, returned or sent back to become its
// holders (who may read it and see it in their lists), and a closed dispute
// leaves the open-dispute indexes that links and mass-dispute counts are
// drawn from. Each effect is applied once per event id.
package routingfeed

import (
	"context"
	"fmt"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
)

// Group is intake's consumer group on routing's streams.
const Group = "intake"

// Source is the service whose streams the feed reads.
const Source = "routing"

// Rosters gives the last valid roster of a region.
type Rosters interface {
	Get(region string) (*rosterv1.Roster, bool)
}

// Feed handles routing events.
type Feed struct {
	Store   *store.Store
	Rosters Rosters
}

// Handle applies one routing event; events that change no holder and close
// nothing are ignored.
func (f *Feed) Handle(ctx context.Context, ev *eventv1.Event) error {
	var (
		holders []string
		err     error
	)
	switch {
	case events.Is(ev, &routingv1.DisputeClosed{}):
		return f.closed(ctx, ev)
	case events.Is(ev, &routingv1.TrackingOpened{}):
		holders, err = f.opened(ev)
	case events.Is(ev, &routingv1.DisputeRouted{}):
		holders, err = f.routed(ctx, ev)
	case events.Is(ev, &routingv1.TransferReceived{}):
		holders, err = received(ev)
	case events.Is(ev, &routingv1.TransferReturned{}):
		holders, err = f.returned(ctx, ev)
	case events.Is(ev, &routingv1.DisputeRedone{}):
		holders, err = redone(ev)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	region, id, err := nameOf(ev)
	if err != nil {
		return err
	}
	if _, err := f.Store.AddHolders(ctx, region, id, ev.GetId(), holders); err != nil {
		return fmt.Errorf("%s of %s: record holders: %w", ev.GetType(), ev.GetDispute(), err)
	}
	return nil
}

func nameOf(ev *eventv1.Event) (region, id string, err error) {
	region, id, err = names.DisputeID(ev.GetDispute())
	if err != nil {
		return "", "", fmt.Errorf("%s event %s: dispute %q: %w", ev.GetType(), ev.GetId(), ev.GetDispute(), err)
	}
	return region, id, nil
}

func (f *Feed) closed(ctx context.Context, ev *eventv1.Event) error {
	region, id, err := nameOf(ev)
	if err != nil {
		return err
	}
	if _, err := f.Store.Close(ctx, region, id, ev.GetId()); err != nil {
		return fmt.Errorf("close %s: %w", ev.GetDispute(), err)
	}
	return nil
}

// opened: the tracking's holder (the registering department) and any past
// holders.
func (f *Feed) opened(ev *eventv1.Event) ([]string, error) {
	p, err := events.Payload[*routingv1.TrackingOpened](ev)
	if err != nil {
		return nil, err
	}
	t := p.GetTracking()
	return nonEmpty(append([]string{t.GetHolder()}, t.GetPastHolders()...)...), nil
}

// routed: TRANSFER to the target department, OFFICE to the office host
// unit (the slip's receiver when it names one), SELF to the registering
// department.
func (f *Feed) routed(ctx context.Context, ev *eventv1.Event) ([]string, error) {
	p, err := events.Payload[*routingv1.DisputeRouted](ev)
	if err != nil {
		return nil, err
	}
	switch p.GetKind() {
	case routingv1.RouteKind_ROUTE_KIND_TRANSFER:
		return nonEmpty(p.GetTargetDepartment(), p.GetSlip().GetReceivingDepartment()), nil
	case routingv1.RouteKind_ROUTE_KIND_OFFICE:
		if d := p.GetSlip().GetReceivingDepartment(); d != "" {
			return []string{d}, nil
		}
		host, err := f.officeHost(ev)
		if err != nil {
			return nil, err
		}
		return []string{host}, nil
	case routingv1.RouteKind_ROUTE_KIND_SELF:
		d, err := f.registering(ctx, ev)
		if err != nil {
			return nil, err
		}
		return []string{d}, nil
	}
	return nil, nil
}

func received(ev *eventv1.Event) ([]string, error) {
	p, err := events.Payload[*routingv1.TransferReceived](ev)
	if err != nil {
		return nil, err
	}
	return nonEmpty(p.GetSlip().GetReceivingDepartment()), nil
}

// returned: back to the registering department, or to the office host
// unit after the last return allowed.
func (f *Feed) returned(ctx context.Context, ev *eventv1.Event) ([]string, error) {
	p, err := events.Payload[*routingv1.TransferReturned](ev)
	if err != nil {
		return nil, err
	}
	if p.GetSentToOffice() {
		host, err := f.officeHost(ev)
		if err != nil {
			return nil, err
		}
		return []string{host}, nil
	}
	d, err := f.registering(ctx, ev)
	if err != nil {
		return nil, err
	}
	return []string{d}, nil
}

func redone(ev *eventv1.Event) ([]string, error) {
	p, err := events.Payload[*routingv1.DisputeRedone](ev)
	if err != nil {
		return nil, err
	}
	return nonEmpty(p.GetHolder()), nil
}

// officeHost returns the office host unit of the event's region; without a
// roster the event waits (is retried).
func (f *Feed) officeHost(ev *eventv1.Event) (string, error) {
	region, _, err := nameOf(ev)
	if err != nil {
		return "", err
	}
	r, ok := f.Rosters.Get(region)
	if !ok || roster.OfficeHost(r) == "" {
		return "", fmt.Errorf("%s of %s: %w %s", ev.GetType(), ev.GetDispute(), dispute.ErrNoRoster, region)
	}
	return roster.OfficeHost(r), nil
}

// registering returns the dispute's registering department.
func (f *Feed) registering(ctx context.Context, ev *eventv1.Event) (string, error) {
	region, id, err := nameOf(ev)
	if err != nil {
		return "", err
	}
	d, err := f.Store.Get(ctx, region, id)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ev.GetType(), err)
	}
	return d.GetRegisteringDepartment(), nil
}

func nonEmpty(ds ...string) []string {
	var out []string
	for _, d := range ds {
		if d != "" {
			out = append(out, d)
		}
	}
	return out
}
