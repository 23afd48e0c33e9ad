// Package intakefeed applies intake's events to routing's trackers: a
// registration opens a tracker, a withdrawal closes it. Each effect is
// idempotent on the event id.
package intakefeed

import (
	"errors"
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
	Calendar tracker.Calendar
	Now      func() time.Time
	Log      *slog.Logger
	// OfficeHost names a region's office host unit (the roster's), which a
	// mass-dispute warning also addresses: the office reads its whole
	// region already, so its unit is no warning reader. May be nil.
	OfficeHost func(region string) string
}

// Routes returns routing's handlers of intake's events, writing through st.
func (f *Feed) Routes(st *store.Store) map[string]events.Handler {
	return map[string]events.Handler{
		events.TypeOf(&intakev1.DisputeRegistered{}):  st.Handler(f.registered),
		events.TypeOf(&intakev1.DisputeWithdrawn{}):   st.Handler(f.withdrawn),
		events.TypeOf(&intakev1.MassDisputeWarning{}): st.MultiHandler(f.massWarning),
	}
}

// massWarning lets the departments a mass-dispute warning addresses (the
// petition bureau: 信访局提前介入) read each open dispute the event adds to
// the warning (all the employer's open disputes when it raises it), and
// publishes WarningReadersAdded on each whose readers changed.
func (f *Feed) massWarning(dl *events.Delivery) (map[string]store.ApplyFunc, error) {
	ev := dl.Event
	p, err := events.Payload[*intakev1.MassDisputeWarning](ev)
	if err != nil {
		return nil, events.Permanent(err)
	}
	disputes := p.GetDisputes()
	if len(disputes) == 0 {
		// Published before warnings were kept per episode: it names its
		// own dispute alone.
		disputes = []string{ev.GetDispute()}
	}
	out := make(map[string]store.ApplyFunc, len(disputes))
	for _, name := range disputes {
		out[name] = func(cur *tracker.Tracker) (*tracker.Tracker, []*eventv1.Event, error) {
			if cur == nil {
				return nil, nil, events.NotYet(errNotOpened)
			}
			if !tracker.IsOpen(cur.State) {
				return nil, nil, nil
			}
			var readers []string
			for _, d := range p.GetAddressedTo() {
				if f.OfficeHost == nil || d != f.OfficeHost(cur.Region) {
					readers = append(readers, d)
				}
			}
			added := cur.AddWarningReaders(readers)
			if len(added) == 0 {
				return nil, nil, nil
			}
			out, err := events.New(store.Service, cur.Region, name, ev.GetActor(), p.GetTrigger(),
				&routingv1.WarningReadersAdded{Departments: added, Trigger: p.GetTrigger(), SourceEventId: ev.GetId()}, f.Now())
			if err != nil {
				return nil, nil, err
			}
			return cur, []*eventv1.Event{out}, nil
		}
	}
	return out, nil
}

func disputeName(ev *eventv1.Event, payloadName string) string {
	if ev.GetDispute() != "" {
		return ev.GetDispute()
	}
	return payloadName
}

func (f *Feed) registered(dl *events.Delivery) (string, store.ApplyFunc, error) {
	ev := dl.Event
	p, err := events.Payload[*intakev1.DisputeRegistered](ev)
	if err != nil {
		return "", nil, events.Permanent(err)
	}
	d := p.GetDispute()
	name := disputeName(ev, d.GetName())
	registerTime := d.GetRegisterTime().AsTime()
	if d.GetRegisterTime() == nil {
		registerTime = ev.GetTime().AsTime()
	}
	return name, func(cur *tracker.Tracker) (*tracker.Tracker, []*eventv1.Event, error) {
		now := f.Now()
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
	}, nil
}

// errNotOpened makes a withdrawal wait (retry) until its registration is applied.
var errNotOpened = errors.New("tracker not opened yet")

func (f *Feed) withdrawn(dl *events.Delivery) (string, store.ApplyFunc, error) {
	ev := dl.Event
	p, err := events.Payload[*intakev1.DisputeWithdrawn](ev)
	if err != nil {
		return "", nil, events.Permanent(err)
	}
	name := ev.GetDispute()
	return name, func(cur *tracker.Tracker) (*tracker.Tracker, []*eventv1.Event, error) {
		now := f.Now()
		if cur == nil {
			return nil, nil, events.NotYet(errNotOpened)
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
	}, nil
}
