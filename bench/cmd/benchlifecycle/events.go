package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/bench/internal/load"
	"github.com/xiaoyi-disputes/disputes/bench/internal/rstats"
)

// The event backbone's benchmark (scripts/bench-events.sh) builds real
// backlogs with the real services: with routing (and the archive) stopped,
// -mode register registers n disputes (intake's stream); with intake,
// meeting and the archive stopped, -mode advance takes each through route,
// receive, reply and close (routing's stream). The script then starts one
// consumer process at a time and -mode drain measures how fast its group
// applies the backlog.

// parallel runs f for 0..n-1 with c workers and returns the errors.
func parallel(ctx context.Context, n, c int, f func(ctx context.Context, i int) error) int64 {
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(ctx, i); err != nil {
					if errs.Add(1) <= 5 {
						fmt.Fprintln(os.Stderr, "error:", err)
					}
				}
			}
		})
	}
	wg.Wait()
	return errs.Load()
}

func runRegister(ctx context.Context, c config) error {
	cl, err := dialAll(c)
	if err != nil {
		return err
	}
	defer cl.close()
	f, err := os.Create(c.namesFile)
	if err != nil {
		return err
	}
	defer f.Close()
	names := make([]string, c.n)
	start := time.Now()
	errs := parallel(ctx, c.n, c.opts.Concurrency, func(ctx context.Context, i int) error {
		cctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
		defer cancel()
		name, err := cl.register(cctx, &trace{}, int64(i+1))
		names[i] = name
		return err
	})
	w := bufio.NewWriter(f)
	for _, n := range names {
		if n != "" {
			fmt.Fprintln(w, n)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("registered %d disputes in %s (%d errors)\n", c.n-int(errs), ms(time.Since(start)), errs)
	if errs > 0 {
		return errTargetMissed
	}
	return nil
}

func runAdvance(ctx context.Context, c config) error {
	cl, err := dialAll(c)
	if err != nil {
		return err
	}
	defer cl.close()
	b, err := os.ReadFile(c.namesFile)
	if err != nil {
		return err
	}
	names := strings.Fields(string(b))
	start := time.Now()
	errs := parallel(ctx, len(names), c.opts.Concurrency, func(ctx context.Context, i int) error {
		cctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
		defer cancel()
		return cl.transfer(cctx, &trace{}, names[i])
	})
	fmt.Printf("routed, received, replied to and closed %d disputes in %s (%d errors)\n", len(names)-int(errs), ms(time.Since(start)), errs)
	if errs > 0 {
		return errTargetMissed
	}
	return nil
}

// runDrain waits until group has applied everything on its streams and
// prints events/s, CPU and Redis commands per event.
func runDrain(ctx context.Context, c config, rdb redis.UniversalClient) error {
	if c.group == "" || len(c.streams) == 0 {
		return fmt.Errorf("-mode drain needs -group and -streams")
	}
	backlog := func() (int64, error) {
		gs, _, err := sampleGroups(ctx, rdb, c.streams)
		if err != nil {
			return 0, err
		}
		var n int64
		for _, g := range gs {
			if g.group == c.group {
				n += g.lag + g.pending
			}
		}
		return n, nil
	}
	initial, err := backlog()
	if err != nil {
		return err
	}
	cpuBefore := load.CPUTimes(c.procs)
	cmdBefore, _, err := rstats.CommandStats(ctx, rdb)
	if err != nil {
		return err
	}
	polls := 0
	// From the last poll that saw no progress to the first that saw none
	// left: a conservative window.
	start := time.Now()
	var done time.Time
	for deadline := time.Now().Add(c.drainTimeout); time.Now().Before(deadline); {
		n, err := backlog()
		polls++
		if err != nil {
			return err
		}
		if n >= initial {
			start = time.Now()
		}
		if n == 0 {
			done = time.Now()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cpuAfter := load.CPUTimes(c.procs)
	cmdAfter, nodes, _ := rstats.CommandStats(ctx, rdb)
	if done.IsZero() {
		fmt.Printf("group %s: backlog %d not drained within %s\n", c.group, initial, c.drainTimeout)
		return errTargetMissed
	}
	elapsed := done.Sub(start)
	rate := float64(initial) / elapsed.Seconds()
	var cpu []string
	for i, p := range c.procs {
		if cpuBefore[i] >= 0 && cpuAfter[i] >= 0 {
			cpu = append(cpu, fmt.Sprintf("%s %.0fµs", p.Name, float64((cpuAfter[i]-cpuBefore[i]).Microseconds())/float64(initial)))
		}
	}
	list, total := rstats.Delta(cmdBefore, cmdAfter)
	total -= int64(polls*(1+len(c.streams)) + 2*nodes) // this driver's own polls, roughly
	var top []string
	for i, cc := range list {
		if i == 8 {
			break
		}
		top = append(top, fmt.Sprintf("%s %.2f", cc.Name, float64(cc.N)/float64(initial)))
	}
	fmt.Printf("group %-8s %7d events in %8s: %7.0f events/s; CPU per event: %s; Redis %.2f commands per event (%s)\n",
		c.group, initial, ms(elapsed), rate, strings.Join(cpu, ", "), float64(total)/float64(initial), strings.Join(top, ", "))
	var v verdicts
	v.check(rate >= c.minEventsPerSec, "group %s applies %.0f events/s (target >= %.0f)", c.group, rate, c.minEventsPerSec)
	return v.err()
}
