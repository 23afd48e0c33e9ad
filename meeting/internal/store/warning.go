package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// MassWarningHandler keeps intake's mass-dispute warnings (MassDisputeWarning)
// as the office's warning records, one per event, listed for the units each
// is addressed to (docs/ARCHITECTURE.md, "Meeting"). A warning already kept
// is left as it is, acknowledgement included.
func (s *Store) MassWarningHandler() events.Handler {
	return events.HandlerFuncs{
		KeysFunc: func(d *events.Delivery) ([]string, error) {
			return []string{warningKey(d.Region, d.Event.GetId())}, nil
		},
		ApplyFunc: func(b *events.Batch, d *events.Delivery) error {
			key := warningKey(d.Region, d.Event.GetId())
			if _, ok, err := b.Get(key); ok || err != nil {
				return err
			}
			name, err := names.CheckDispute(d.Event.GetDispute())
			if err != nil {
				return events.Permanent(fmt.Errorf("MassDisputeWarning %s: %w", d.Event.GetId(), err))
			}
			p, err := events.Payload[*intakev1.MassDisputeWarning](d.Event)
			if err != nil {
				return events.Permanent(fmt.Errorf("MassDisputeWarning %s: %w", d.Event.GetId(), err))
			}
			w := &office.MassWarning{
				ID: d.Event.GetId(), Dispute: name, Trigger: p.GetTrigger(), People: p.GetPeopleInvolved(),
				EmployerCount: p.GetOpenDisputesSameEmployer(), AddressedTo: p.GetAddressedTo(),
				RaisedAt: d.Event.GetTime().AsTime(),
			}
			enc, err := json.Marshal(w)
			if err != nil {
				return err
			}
			b.Set(key, enc, 0)
			b.Do(func(ctx context.Context, p redis.Pipeliner) { indexWarning(ctx, p, d.Region, w) })
			return nil
		},
	}
}

// Warning reads mass-dispute warning id of region, nil when there is none.
func (s *Store) Warning(ctx context.Context, region, id string) (*office.MassWarning, error) {
	w := &office.MassWarning{}
	if ok, err := s.get(ctx, warningKey(region, id), w); !ok || err != nil {
		return nil, err
	}
	return w, nil
}
