// Package service assembles the meeting service from its parts for
// app.Main: the office's store, the roster's change feed, the gRPC services
// and the consumer of routing's events.
package service

import (
	"context"
	"time"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/rosterfeed"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// Group is the meeting service's consumer group on routing's and intake's
// streams.
const Group = "meeting"

// Sources are the services whose streams the meeting service reads.
var Sources = []string{"routing", "intake"}

// Setup builds the meeting service from the process deps, registers its
// gRPC services and returns its background loops: the roster change feed,
// the office's view of routing's events and the trimming of its streams.
func Setup(_ context.Context, d *app.Deps) ([]func(context.Context) error, error) {
	st := store.New(d.Redis)
	feed := &rosterfeed.Feed{Etcd: d.Etcd, Store: st, Regions: d.Roster.Regions, Log: d.Log}
	// Every routing event carries routing's account of the dispute
	// (Lifecycle); the office's view copies it. Of intake's events the
	// office keeps the mass-dispute warnings; the others carry no Lifecycle
	// and change nothing.
	sub := &events.Subscription{
		Redis: d.Redis, Group: Group, Sources: Sources, Regions: d.Roster.Regions,
		Routes:  map[string]events.Handler{events.TypeOf(&intakev1.MassDisputeWarning{}): st.MassWarningHandler()},
		Default: st.LifecycleHandler(), Log: d.Log, Registerer: d.Server.Registry(),
	}
	d.Server.AddReadinessInfo("events", sub.ParkedInfo)
	// An office action on a dispute routed to the office a moment ago
	// waits (at most 3 s) for the office's view to catch up before it is
	// refused.
	progress := &events.Progress{Redis: d.Redis, Group: Group}
	sub.Acknowledged = progress.Kick
	st.AwaitRouting(func(ctx context.Context, region string) error {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return progress.Wait(ctx, events.Stream("routing", region))
	})
	trim := &events.Trimmer{Redis: d.Redis, Log: d.Log, Retention: d.Config.EventRetention, Streams: func() []string {
		var ss []string
		for _, r := range d.Roster.Regions() {
			ss = append(ss, events.Stream(store.Service, r))
		}
		return ss
	}}
	grpcapi.Register(d.Server.GRPC(), grpcapi.NewRosterServer(d.Etcd, d.Roster, feed, d.Log),
		grpcapi.NewMeetingServer(st, d.Roster, d.Now, d.Log))
	return []func(context.Context) error{feed.Run, sub.Run, trim.Run}, nil
}
