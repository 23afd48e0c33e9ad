// Package service assembles routing from its parts for app.Main: the store,
// the time rules from etcd, the gRPC service, the intake consumer and the
// deadline scanner.
package service

import (
	"context"
	"maps"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/routing/internal/intakefeed"
	"github.com/xiaoyi-disputes/disputes/routing/internal/legal"
	"github.com/xiaoyi-disputes/disputes/routing/internal/meetingfeed"
	"github.com/xiaoyi-disputes/disputes/routing/internal/scanner"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/timerules"
)

// Options tune the process; zero values take the defaults.
type Options struct {
	// ScanInterval is how often the deadline scanner looks (default 1 s).
	ScanInterval time.Duration
	// ConsumerBlock is how long the event consumers block on a read
	// (default: the consumer's own).
	ConsumerBlock time.Duration
	// Name identifies this replica to consumer groups and the scanner
	// election (default host, pid and random bits).
	Name string
	// AwaitTimeout bounds how long a call naming an unknown dispute waits
	// for routing to apply intake's latest events (default 3 s).
	AwaitTimeout time.Duration
}

func (o Options) awaitTimeout() time.Duration {
	if o.AwaitTimeout > 0 {
		return o.AwaitTimeout
	}
	return 3 * time.Second
}

// Setup is app.Service.Setup with the default options.
func Setup(ctx context.Context, d *app.Deps) ([]func(context.Context) error, error) {
	return SetupWith(Options{})(ctx, d)
}

// SetupWith returns a Setup with opts.
func SetupWith(opts Options) func(context.Context, *app.Deps) ([]func(context.Context) error, error) {
	return func(_ context.Context, d *app.Deps) ([]func(context.Context) error, error) {
		if opts.Name == "" {
			opts.Name = events.UniqueName()
		}
		name := opts.Name
		st := store.New(d.Redis)
		rules := timerules.NewWith(d.Etcd, d.Calendars, d.Log, d.Server.Registry())
		d.Server.AddReadinessInfo("time_limits", rules.Limits.ReadinessInfo)
		d.Server.AddReadinessInfo("calendar", rules.Calendars.ReadinessInfo)
		now := func() time.Time { return d.Now() }

		legalData := legal.New(d.Etcd, d.Log, d.Server.Registry())
		d.Server.AddReadinessInfo("legal", legalData.Watcher.ReadinessInfo)
		srv := grpcapi.New(st, d.Roster, rules, now, d.Log)
		srv.SetLegal(legalData)
		srv.SetCalendars(rules.Calendars)
		routingv1.RegisterRoutingServiceServer(d.Server.GRPC(), srv)
		feed := &intakefeed.Feed{Calendar: rules, Now: now, Log: d.Log, OfficeHost: func(region string) string {
			r, _ := d.Roster.Get(region)
			return roster.OfficeHost(r)
		}}
		meet := &meetingfeed.Feed{Calendar: rules, Now: now, Log: d.Log, Legal: legalData}
		routes := feed.Routes(st)
		maps.Copy(routes, meet.Routes(st))
		sub := &events.Subscription{
			Redis: d.Redis, Group: intakefeed.Group, Name: opts.Name, Block: opts.ConsumerBlock,
			Sources: []string{"intake", meetingfeed.Service}, Regions: d.Roster.Regions, Routes: routes,
			Log: d.Log, Registerer: d.Server.Registry(),
		}
		d.Server.AddReadinessInfo("events", sub.ParkedInfo)
		// A dispute registered a moment ago is found: a lookup that misses
		// waits up to AwaitTimeout for this group to apply intake's events.
		// One look answers every call waiting at the time; this process's
		// consumer asks for one after each batch it acknowledges, so a call
		// right after a registration (the usual case) waits for one
		// consumer batch, and the 5 ms poll serves entries another replica
		// holds.
		progress := &events.Progress{Redis: d.Redis, Group: intakefeed.Group, Poll: 5 * time.Millisecond}
		sub.Acknowledged = progress.Kick
		st.AwaitMissing(func(ctx context.Context, region string) error {
			ctx, cancel := context.WithTimeout(ctx, opts.awaitTimeout())
			defer cancel()
			return progress.Wait(ctx, events.Stream("intake", region))
		})
		trim := &events.Trimmer{Redis: d.Redis, Log: d.Log, Retention: d.Config.EventRetention, Streams: func() []string {
			var ss []string
			for _, r := range d.Roster.Regions() {
				ss = append(ss, events.Stream(store.Service, r))
			}
			return ss
		}}
		sc := &scanner.Scanner{
			Store: st, Etcd: d.Etcd, Regions: d.Roster.Regions, Now: now, Log: d.Log, ID: name,
			Interval: opts.ScanInterval,
		}
		if err := sc.Register(d.Server.Registry()); err != nil {
			return nil, err
		}
		return append(rules.Loops(), legalData.Run, sub.Run, sc.Run, trim.Run), nil
	}
}
