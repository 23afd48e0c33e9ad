// Package service assembles intake from its parts for app.Main: the store,
// the intake rules from etcd, the gRPC service, the consumer of routing's
// events, the registration batches and the trimming of intake's streams.
package service

import (
	"context"
	"time"

	"github.com/xiaoyi-disputes/disputes/intake/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// Group is intake's consumer group on routing's streams.
const Group = "intake"

// Setup builds intake from the process's dependencies and registers it on
// the gRPC server; it is intake's app.Service.Setup.
func Setup(_ context.Context, d *app.Deps) ([]func(context.Context) error, error) {
	// Read d.Now on every call so a test may swap the clock before serving.
	now := func() time.Time { return d.Now() }
	rules := regionconfig.NewWatcher(d.Etcd, regionconfig.IntakeRulesSpec, d.Log, d.Server.Registry())
	d.Server.AddReadinessInfo("intake_rules", rules.ReadinessInfo)
	st := store.New(d.Redis)
	svc := grpcapi.New(st, d.Roster, rules, now)
	intakev1.RegisterIntakeServiceServer(d.Server.GRPC(), svc)
	// Every routing event carries routing's account of the dispute
	// (Lifecycle); intake copies holders and closure from it.
	sub := &events.Subscription{
		Redis: d.Redis, Group: Group, Sources: []string{"routing"}, Regions: d.Roster.Regions,
		Default: st.LifecycleHandler(), Log: d.Log, Registerer: d.Server.Registry(),
	}
	d.Server.AddReadinessInfo("events", sub.ParkedInfo)
	trim := &events.Trimmer{Redis: d.Redis, Log: d.Log, Retention: d.Config.EventRetention, Streams: func() []string {
		var ss []string
		for _, r := range d.Roster.Regions() {
			ss = append(ss, events.Stream(store.Service, r))
		}
		return ss
	}}
	return []func(context.Context) error{rules.Run, sub.Run, st.RunBatches, trim.Run}, nil
}
