package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// MassWarningHandler keeps intake's mass-dispute warnings (MassDisputeWarning)
// as the office's warning records, one per warning id (a same-employer
// warning is one per employer episode), listed for the units each is
// addressed to (docs/ARCHITECTURE.md, "Meeting"). Each event adds its
// disputes to its warning's record; the record comes out the same
// whatever order the events are applied in, and a dispute added after an
// acknowledgement puts the warning back on the pending lists.
func (s *Store) MassWarningHandler() events.Handler {
	decode := func(d *events.Delivery) (office.Raise, error) {
		name, err := names.CheckDispute(d.Event.GetDispute())
		if err != nil {
			return office.Raise{}, events.Permanent(fmt.Errorf("MassDisputeWarning %s: %w", d.Event.GetId(), err))
		}
		p, err := events.Payload[*intakev1.MassDisputeWarning](d.Event)
		if err != nil {
			return office.Raise{}, events.Permanent(fmt.Errorf("MassDisputeWarning %s: %w", d.Event.GetId(), err))
		}
		for _, n := range p.GetDisputes() {
			if r, _, err := names.DisputeID(n); err != nil || r != d.Region {
				return office.Raise{}, events.Permanent(fmt.Errorf("MassDisputeWarning %s: dispute %q is not one of region %s", d.Event.GetId(), n, d.Region))
			}
		}
		id := p.GetWarningId()
		if id == "" {
			id = d.Event.GetId()
		}
		if !warningIDRE.MatchString(id) {
			return office.Raise{}, events.Permanent(fmt.Errorf("MassDisputeWarning %s: warning id %q", d.Event.GetId(), id))
		}
		return office.Raise{
			Event: d.Event.GetId(), Warning: id, Dispute: name, Disputes: p.GetDisputes(), Trigger: p.GetTrigger(),
			People: p.GetPeopleInvolved(), EmployerCount: p.GetOpenDisputesSameEmployer(),
			EmployerName: p.GetEmployerName(), CreditCode: p.GetEmployerCreditCode(),
			AddressedTo: p.GetAddressedTo(), Time: d.Event.GetTime().AsTime(),
		}, nil
	}
	return events.HandlerFuncs{
		KeysFunc: func(d *events.Delivery) ([]string, error) {
			r, err := decode(d)
			if err != nil {
				return nil, err
			}
			return []string{warningKey(d.Region, r.Warning)}, nil
		},
		ApplyFunc: func(b *events.Batch, d *events.Delivery) error {
			r, err := decode(d)
			if err != nil {
				return err
			}
			key := warningKey(d.Region, r.Warning)
			raw, ok, err := b.Get(key)
			if err != nil {
				return err
			}
			var w *office.MassWarning
			if ok {
				w = &office.MassWarning{}
				if err := json.Unmarshal(raw, w); err != nil {
					return events.Permanent(fmt.Errorf("decode %s: %w", key, err))
				}
			}
			w = office.RaiseWarning(w, r)
			enc, err := json.Marshal(w)
			if err != nil {
				return err
			}
			b.Set(key, enc, 0)
			indexWarning(b, d.Region, w)
			return nil
		},
	}
}

// warningIDRE is what a warning id may be: the resource name's last part
// (meeting.proto's MassWarning name pattern).
var warningIDRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// Warning reads mass-dispute warning id of region, nil when there is none.
func (s *Store) Warning(ctx context.Context, region, id string) (*office.MassWarning, error) {
	w := &office.MassWarning{}
	if ok, err := s.get(ctx, warningKey(region, id), w); !ok || err != nil {
		return nil, err
	}
	return w, nil
}
