// Command archive serves archive.v1.ArchiveService: the dossier of every
// dispute, filed from the events of intake, routing and meeting.
package main

import (
	"context"
	"os"
	"strconv"

	"github.com/xiaoyi-disputes/disputes/archive/internal/feed"
	"github.com/xiaoyi-disputes/disputes/archive/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

func main() {
	app.Main(app.Service{Name: "archive", GRPCAddr: ":9104", AdminAddr: ":9204", Policy: grpcapi.Policy, Setup: setup})
}

func setup(_ context.Context, d *app.Deps) ([]func(context.Context) error, error) {
	st := store.New(d.Redis)
	archivev1.RegisterArchiveServiceServer(d.Server.GRPC(), grpcapi.New(st, d.Log))
	host, _ := os.Hostname()
	f := &feed.Feed{Store: st}
	c := &events.Consumer{
		Redis: d.Redis, Group: feed.Group, Name: host + "-" + strconv.Itoa(os.Getpid()),
		Streams: func() []string { return feed.Streams(d.Roster.Regions()) },
		Handle:  f.Handle, Log: d.Log, Registerer: d.Server.Registry(),
	}
	return []func(context.Context) error{c.Run}, nil
}
