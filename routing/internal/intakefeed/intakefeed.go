// Package intakefeed applies intake's events to routing's trackers: a
// registration opens a tracker, a withdrawal closes it. Each effect is
// idempotent on the event id.
package intakefeed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
	"github.com/xiaoyi-disputes/disputes/routing/internal/wire"
)

// Group is routing's consumer group name.
const Group = "routing"

// Feed handles intake events.
type Feed struct {
	Store    *store.Store
	Calendar tracker.Calendar
	Now      func() time.Time
	Log      *slog.Logger
}

// Handle applies one intake event; events routing does not track are ignored.
func (f *Feed) Handle(ctx context.Context, ev *eventv1.Event) error {
	switch {
	case events.Is(ev, &intakev1.DisputeRegistered{}):
		return f.registered(ctx, ev)
	case events.Is(ev, &intakev1.DisputeWithdrawn{}):
		return f.withdrawn(ctx, ev)
	}
	return nil
}

func disputeName(ev *eventv1.Event, payloadName string) string {
	if ev.GetDispute() != "" {
		return ev.GetDispute()
	}
	return payloadName
}

func (f *Feed) registered(ctx context.Context, ev *eventv1.Event) error {
	p, err := events.Payload[*intakev1.DisputeRegistered](ev)
	if err != nil {
		return err
	}
	d := p.GetDispute()
	name := disputeName(ev, d.GetName())
	registerTime := d.GetRegisterTime().AsTime()
	if d.GetRegisterTime() == nil {
		registerTime = ev.GetTime().AsTime()
	}
	now := f.Now()
	_, err = f.Store.ApplyEvent(ctx, ev, name, func(cur *tracker.Tracker) (*tracker.Tracker, []*eventv1.Event, error) {
		if cur != nil {
			// Registered once: a second registration event for the same
			// name changes nothing.
			return nil, nil, nil
		}
		t, err := tracker.Open(tracker.Registration{
			Name: name, RegisteringDepartment: d.GetRegisteringDepartment(), FirstReceiver: d.GetFirstReceiver(),
			Category: d.GetCategory(), RegisterTime: registerTime, Actor: wire.Actor(ev.GetActor()), EventID: ev.GetId(),
		}, f.Calendar)
		if err != nil {
			return nil, nil, err
		}
		out, err := events.New(store.Service, t.Region, name, ev.GetActor(), "", &routingv1.TrackingOpened{Tracking: wire.Tracking(t, f.Calendar, now)}, now)
		if err != nil {
			return nil, nil, err
		}
		return t, []*eventv1.Event{out}, nil
	})
	if err != nil {
		return fmt.Errorf("open tracking of %s: %w", name, err)
	}
	return nil
}

// errNotOpened makes a withdrawal wait (retry) until its registration is applied.
var errNotOpened = errors.New("tracker not opened yet")

func (f *Feed) withdrawn(ctx context.Context, ev *eventv1.Event) error {
	p, err := events.Payload[*intakev1.DisputeWithdrawn](ev)
	if err != nil {
		return err
	}
	name := ev.GetDispute()
	now := f.Now()
	_, err = f.Store.ApplyEvent(ctx, ev, name, func(cur *tracker.Tracker) (*tracker.Tracker, []*eventv1.Event, error) {
		if cur == nil {
			return nil, nil, errNotOpened
		}
		reason := p.GetReason()
		if reason == "" {
			reason = ev.GetReason()
		}
		if err := cur.Withdraw(wire.Actor(ev.GetActor()), reason, ev.GetId(), ev.GetTime().AsTime()); err != nil {
			if errors.Is(err, tracker.ErrAlreadyClosed) {
				return nil, nil, nil
			}
			return nil, nil, err
		}
		out, err := events.New(store.Service, cur.Region, name, ev.GetActor(), reason, &routingv1.DisputeClosed{Cause: "withdrawn"}, now)
		if err != nil {
			return nil, nil, err
		}
		return cur, []*eventv1.Event{out}, nil
	})
	if err != nil {
		return fmt.Errorf("close %s on withdrawal: %w", name, err)
	}
	return nil
}
