// Package rosterfeed announces roster changes as RosterUpdated events on the
// meeting stream. The etcd audit record written with each change is the
// outbox: UpdateRoster announces its change at once, and a sweep announces
// any change whose announcement failed (Redis down) or that another process
// made, each exactly once.
package rosterfeed

import (
	"context"
	"log/slog"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// DefaultInterval is how often Run sweeps for unannounced changes.
const DefaultInterval = 5 * time.Second

const (
	sweepBatch   = 100
	sweepTimeout = 10 * time.Second
)

// Feed announces roster changes.
type Feed struct {
	Etcd  *clientv3.Client
	Store *store.Store
	// Regions lists the regions to sweep (the roster watcher's Regions).
	Regions  func() []string
	Log      *slog.Logger
	Interval time.Duration
}

// Event builds the RosterUpdated event of change c in region.
func Event(region string, c roster.ChangeRecord) (*eventv1.Event, error) {
	id := identityOf(c)
	return events.New(store.Service, region, "", events.ActorOf(id), c.Reason, &rosterv1.RosterUpdated{
		Fields:       c.Fields,
		OldEtag:      c.OldEtag,
		NewEtag:      c.NewEtag,
		UnitsAdded:   c.UnitsAdded,
		UnitsRemoved: c.UnitsRemoved,
		StaffAdded:   c.StaffAdded,
		StaffRemoved: c.StaffRemoved,
	}, c.Time)
}

// identityOf rebuilds the actor from the record's "<region>/<dept>/<staff>".
func identityOf(c roster.ChangeRecord) authn.Identity {
	parts := strings.SplitN(c.Actor, "/", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return authn.Identity{Region: parts[0], Department: parts[1], Staff: parts[2], Roles: c.Roles}
}

// ActorString is how a change record names its actor.
func ActorString(id authn.Identity) string {
	return id.Region + "/" + id.Department + "/" + id.Staff
}

// Publish announces change c of region unless already announced.
func (f *Feed) Publish(ctx context.Context, region string, c roster.ChangeRecord) error {
	ev, err := Event(region, c)
	if err != nil {
		return err
	}
	if _, err := f.Store.PublishRosterChange(ctx, region, c.ID, ev); err != nil {
		return err
	}
	return nil
}

// Run sweeps every Interval until ctx is done. A failed sweep is logged and
// retried at the next tick: Redis or etcd being away must not stop the
// service.
func (f *Feed) Run(ctx context.Context) error {
	interval := f.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := f.Sweep(ctx); err != nil && ctx.Err() == nil {
			f.Log.Warn("roster change sweep failed; retrying", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep announces every change after each region's cursor and advances it.
func (f *Feed) Sweep(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	defer cancel()
	for _, region := range f.Regions() {
		if err := f.sweepRegion(ctx, region); err != nil {
			return err
		}
	}
	return nil
}

func (f *Feed) sweepRegion(ctx context.Context, region string) error {
	cursor, err := f.Store.RosterCursor(ctx, region)
	if err != nil {
		return err
	}
	for {
		changes, err := roster.ChangesAfter(ctx, f.Etcd, region, cursor, sweepBatch)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		for _, c := range changes {
			ev, err := Event(region, c)
			if err != nil {
				return err
			}
			applied, err := f.Store.PublishRosterChange(ctx, region, c.ID, ev)
			if err != nil {
				return err
			}
			if applied {
				f.Log.Info("roster change announced by sweep", "region", region, "change", c.ID)
			}
			cursor = c.ID
		}
		if err := f.Store.SetRosterCursor(ctx, region, cursor); err != nil {
			return err
		}
		if len(changes) < sweepBatch {
			return nil
		}
	}
}
