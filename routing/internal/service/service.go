// Package service assembles routing from its parts for app.Main: the store,
// the time rules from etcd, the gRPC service, the intake consumer and the
// deadline scanner.
package service

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/routing/internal/intakefeed"
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
	// election (default host-pid).
	Name string
}

// Setup is app.Service.Setup with the default options.
func Setup(ctx context.Context, d *app.Deps) ([]func(context.Context) error, error) {
	return SetupWith(Options{})(ctx, d)
}

// SetupWith returns a Setup with opts.
func SetupWith(opts Options) func(context.Context, *app.Deps) ([]func(context.Context) error, error) {
	return func(_ context.Context, d *app.Deps) ([]func(context.Context) error, error) {
		name := opts.Name
		if name == "" {
			host, _ := os.Hostname()
			name = host + "-" + strconv.Itoa(os.Getpid())
		}
		st := store.New(d.Redis)
		rules := timerules.New(d.Etcd, d.Log, d.Server.Registry())
		d.Server.AddReadinessInfo("time_limits", rules.Limits.ReadinessInfo)
		d.Server.AddReadinessInfo("calendar", rules.Calendars.ReadinessInfo)
		now := func() time.Time { return d.Now() }

		routingv1.RegisterRoutingServiceServer(d.Server.GRPC(), grpcapi.New(st, d.Roster, rules, now, d.Log))
		feed := &intakefeed.Feed{Store: st, Calendar: rules, Now: now, Log: d.Log}
		meet := &meetingfeed.Feed{Store: st, Calendar: rules, Now: now, Log: d.Log}
		c := &events.Consumer{
			Redis: d.Redis, Group: intakefeed.Group, Name: name, Block: opts.ConsumerBlock,
			Streams: func() []string {
				var ss []string
				for _, r := range d.Roster.Regions() {
					ss = append(ss, events.Stream("intake", r))
				}
				return append(ss, meetingfeed.Streams(d.Roster.Regions())...)
			},
			Handle: func(ctx context.Context, ev *eventv1.Event) error {
				if meetingfeed.Handles(ev) {
					return meet.Handle(ctx, ev)
				}
				return feed.Handle(ctx, ev)
			},
			Log: d.Log, Registerer: d.Server.Registry(),
		}
		sc := &scanner.Scanner{
			Store: st, Etcd: d.Etcd, Regions: d.Roster.Regions, Now: now, Log: d.Log, ID: name,
			Interval: opts.ScanInterval,
		}
		if err := sc.Register(d.Server.Registry()); err != nil {
			return nil, err
		}
		return append(rules.Loops(), c.Run, sc.Run), nil
	}
}
