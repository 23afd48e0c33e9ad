package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/xiaoyi-disputes/disputes/bench/internal/load"
	"github.com/xiaoyi-disputes/disputes/bench/internal/rstats"
)

// The skeleton is served in plaintext on loopback, as the lifecycle
// benchmark serves the platform.
func insecureCreds() credentials.TransportCredentials { return insecure.NewCredentials() }

// lifecycle is the transfer path of the lifecycle benchmark: register,
// route, receive, reply, close.
var lifecycle = []string{"register", "route", "receive", "reply", "close"}

// measure drives lifecycles through the skeleton and prints the rate, the
// latency, the CPU per lifecycle of each process, Redis's commands per
// lifecycle and how long the groups took to catch up after the end.
func measure(ctx context.Context, sk *skeleton, redisAddr string, opts load.Options) error {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	call := func(ctx context.Context, _ int, seq int64) error {
		id := run + "-" + strconv.FormatInt(seq, 10)
		for _, op := range lifecycle {
			if err := sk.call(ctx, op, id); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
		return nil
	}
	// Commands are counted over the measured window: read at its start by a
	// timer, as load.Run reads the CPU times.
	before := make(chan map[string]int64, 1)
	startInfo := time.AfterFunc(opts.Warmup, func() {
		s, _, _ := rstats.CommandStats(ctx, rdb)
		before <- s
	})
	defer startInfo.Stop()
	res, err := load.Run(ctx, "floor", opts, call)
	if err != nil {
		return err
	}
	cmdBefore := <-before
	cmdAfter, _, err := rstats.CommandStats(ctx, rdb)
	if err != nil {
		return err
	}
	end := time.Now()
	drained := time.Duration(-1)
	for time.Since(end) < 30*time.Second {
		if lag, err := backlog(ctx, rdb); err == nil && lag == 0 {
			drained = time.Since(end)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	n := max(res.Requests, 1)
	fmt.Println(res.String())
	per := func(d time.Duration) string {
		return fmt.Sprintf("%.0fµs", float64(d)/float64(n)/float64(time.Microsecond))
	}
	var parts []string
	var platform time.Duration
	for i, p := range res.Processes {
		if i >= len(res.CPU) || res.CPU[i] < 0 {
			parts = append(parts, p.Name+" unread")
			continue
		}
		parts = append(parts, p.Name+" "+per(res.CPU[i]))
		if p.Name != "driver" {
			platform += res.CPU[i]
		}
	}
	fmt.Printf("cpu     per lifecycle: %s; skeleton and Redis %s\n", strings.Join(parts, ", "), per(platform))
	list, total := rstats.Delta(cmdBefore, cmdAfter)
	var top []string
	for i, c := range list {
		if i == 10 {
			break
		}
		top = append(top, fmt.Sprintf("%s %.1f", c.Name, float64(c.N)/float64(n)))
	}
	fmt.Printf("redis   %.1f commands per lifecycle: %s\n", float64(total-2)/float64(n), strings.Join(top, ", "))
	fmt.Printf("after   every group's lag and pending 0 after %s\n", drained.Round(time.Millisecond))
	if res.ErrorCount() > 0 {
		return fmt.Errorf("%d lifecycles failed", res.ErrorCount())
	}
	return nil
}

// backlog is the entries the skeleton's groups have not yet read or not
// yet acknowledged.
func backlog(ctx context.Context, rdb *redis.Client) (int64, error) {
	var sum int64
	for _, st := range []string{intakeStream, routingStream} {
		gs, err := rdb.XInfoGroups(ctx, st).Result()
		if err != nil {
			return 0, err
		}
		for _, g := range gs {
			sum += g.Lag + g.Pending
		}
	}
	return sum, nil
}
