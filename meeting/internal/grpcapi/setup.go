// Package grpcapi is the meeting service's gRPC face: thin handlers that
// check the caller, call the roster and meeting logic, and map errors in one
// place (toStatus); and the access policy of every RPC.
package grpcapi

import (
	"context"
	"fmt"
	"os"

	"google.golang.org/grpc"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/rosterfeed"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/routingfeed"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// Setup builds the meeting service from the process deps, registers its
// gRPC services and returns its background loops (the roster change feed and the office's view of routing's events).
func Setup(_ context.Context, d *app.Deps) ([]func(context.Context) error, error) {
	feed := &rosterfeed.Feed{
		Etcd:    d.Etcd,
		Store:   store.New(d.Redis),
		Regions: d.Roster.Regions,
		Log:     d.Log,
	}
	st := store.New(d.Redis)
	routing := &events.Consumer{
		Redis:      d.Redis,
		Group:      routingfeed.Group,
		Name:       consumerName(),
		Streams:    func() []string { return routingfeed.Streams(d.Roster.Regions()) },
		Handle:     (&routingfeed.Feed{Store: st, Log: d.Log}).Handle,
		Log:        d.Log,
		Registerer: d.Server.Registry(),
	}
	Register(d.Server.GRPC(), NewRosterServer(d.Etcd, d.Roster, feed, d.Log), NewMeetingServer(st, d.Roster, d.Now, d.Log))
	return []func(context.Context) error{feed.Run, routing.Run}, nil
}

// consumerName names this process within the consumer group.
func consumerName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// Register registers the meeting service's gRPC services on s.
func Register(s grpc.ServiceRegistrar, rs *RosterServer, ms *MeetingServer) {
	rosterv1.RegisterRosterServiceServer(s, rs)
	meetingv1.RegisterMeetingServiceServer(s, ms)
}
