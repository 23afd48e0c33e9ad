// Command disputectl administers the platform: development keys and tokens,
// the roster of member units (read, replace, add or remove a unit, seed a
// fresh etcd), seeding of the regions' intake rules, time limits and
// calendars, and the event entries consumers parked (list, replay, drop).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/xiaoyi-disputes/disputes/disputectl/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
