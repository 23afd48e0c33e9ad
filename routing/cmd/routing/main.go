// Command routing serves routing.v1.RoutingService: the tracker of every
// dispute, fed by intake's events.
package main

import (
	"context"
	"os"
	"strconv"

	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/routing/internal/intakefeed"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

func main() {
	app.Main(app.Service{Name: "routing", GRPCAddr: ":9102", AdminAddr: ":9202", Policy: grpcapi.Policy, Setup: setup})
}

func setup(_ context.Context, d *app.Deps) ([]func(context.Context) error, error) {
	st := store.New(d.Redis)
	cal := tracker.CalendarDays{}
	routingv1.RegisterRoutingServiceServer(d.Server.GRPC(), grpcapi.New(st, d.Roster, cal, d.Now, d.Log))
	feed := &intakefeed.Feed{Store: st, Calendar: cal, Now: d.Now, Log: d.Log}
	host, _ := os.Hostname()
	c := &events.Consumer{
		Redis: d.Redis, Group: intakefeed.Group, Name: host + "-" + strconv.Itoa(os.Getpid()),
		Streams: func() []string {
			var ss []string
			for _, r := range d.Roster.Regions() {
				ss = append(ss, events.Stream("intake", r))
			}
			return ss
		},
		Handle: feed.Handle, Log: d.Log, Registerer: d.Server.Registry(),
	}
	return []func(context.Context) error{c.Run}, nil
}
