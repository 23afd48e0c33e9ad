// Command benchfloor measures the floor under the lifecycle benchmark: what
// the platform's shape costs on this machine with none of its work. A
// skeleton of the four services (its own process, started by this one with
// "serve") answers the five calls of a lifecycle over gRPC, each with the
// fewest Redis round trips a durable write can take (the routing calls: a
// GET of the tracker and one script that checks it is unchanged, writes it
// and appends an event), and runs the six consumer groups of the lifecycle
// benchmark, each applying a batch of events as one MULTI/EXEC of one write
// per event and their XACK. No validation, no authentication, no JSON, no
// markers, no indexes, no log lines: only gRPC, Redis (appendfsync always),
// streams and consumer groups. docs/PERFORMANCE.md, "The floor under a
// lifecycle", says what the figures mean for the lifecycle's targets.
//
//	benchfloor -redis-addr 127.0.0.1:6390 -redis-pid PID -c 50 -duration 20s
package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/xiaoyi-disputes/disputes/bench/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		err = serve(ctx, os.Args[2:])
	} else {
		err = drive(ctx, os.Args[1:])
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchfloor:", err)
		os.Exit(1)
	}
}

// Sizes of what the skeleton writes, about those of the platform's: a
// tracker after the reply (routing/internal/store), an event's payload and
// intake's record of a dispute.
const (
	trackerSize = 2048
	eventSize   = 600
	recordSize  = 1024
)

// The keys of the skeleton, all in one hash slot of region r.
func key(parts ...string) string { return "floor:{r}:" + strings.Join(parts, ":") }

var (
	intakeStream  = key("intake", "events")
	routingStream = key("routing", "events")
)

// group is one consumer group of the lifecycle benchmark: the service that
// runs it and the streams it reads.
type group struct {
	service string
	streams []string
}

// groups are the lifecycle benchmark's: routing reads intake's events,
// intake routing's, meeting and the archive both.
var groups = []group{
	{"routing", []string{intakeStream}},
	{"intake", []string{routingStream}},
	{"meeting", []string{intakeStream, routingStream}},
	{"archive", []string{intakeStream, routingStream}},
}

// sum is the hex SHA-1 a routing write checks the tracker against.
func sum(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// blob is n bytes starting with head, the rest filler.
func blob(head string, n int) []byte {
	b := make([]byte, n)
	copy(b, head)
	for i := len(head); i < n; i++ {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

func drive(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchfloor", flag.ContinueOnError)
	redisAddr := fs.String("redis-addr", "127.0.0.1:6379", "Redis (appendfsync always, as make run starts it)")
	redisPID := fs.Int("redis-pid", 0, "Redis's process id, for its CPU time (0: not measured)")
	var opts load.Options
	fs.IntVar(&opts.Concurrency, "c", 50, "concurrent clients, each one lifecycle after another")
	fs.DurationVar(&opts.Duration, "duration", 20*time.Second, "measured window")
	fs.DurationVar(&opts.Warmup, "warmup", 3*time.Second, "unmeasured warmup")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if opts.Concurrency < 1 {
		return errors.New("-c: at least 1 client")
	}
	sk, err := startSkeleton(ctx, *redisAddr)
	if err != nil {
		return err
	}
	defer sk.stop()
	opts.Processes = []load.Process{{Name: "skeleton", PID: sk.pid}, {Name: "driver"}}
	if *redisPID > 0 {
		opts.Processes = append(opts.Processes, load.Process{Name: "redis", PID: *redisPID})
	}
	return measure(ctx, sk, *redisAddr, opts)
}
