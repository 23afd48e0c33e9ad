package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/bench/internal/load"
	"github.com/xiaoyi-disputes/disputes/bench/internal/rstats"
)

func streamsOf(region string) []string {
	return []string{"intake:{" + region + "}:events", "routing:{" + region + "}:events", "meeting:{" + region + "}:events"}
}

// runLifecycles is make bench-lifecycle: idle lifecycles, then the load,
// then the wait for the groups and the seals.
func runLifecycles(ctx context.Context, c config, rdb redis.UniversalClient) error {
	cl, err := dialAll(c)
	if err != nil {
		return err
	}
	defer cl.close()
	var v verdicts
	var seq int64
	var seqMu sync.Mutex
	nextSeq := func() int64 {
		seqMu.Lock()
		defer seqMu.Unlock()
		seq++
		return seq
	}
	treeStart, err := cl.treeSize(ctx)
	if err != nil {
		return fmt.Errorf("archive checkpoint: %w", err)
	}
	var closed int64 // lifecycles that reached CLOSED, all phases

	// 1. One lifecycle at a time on an idle system.
	var idleLat []time.Duration
	for range c.idle {
		tr := &trace{}
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
		_, err := cl.lifecycle(cctx, tr, nextSeq(), false)
		cancel()
		if err != nil {
			return fmt.Errorf("idle lifecycle: %w", err)
		}
		closed++
		idleLat = append(idleLat, time.Since(start))
		// Let the consumers apply its events, as on an idle system.
		time.Sleep(20 * time.Millisecond)
	}
	slices.Sort(idleLat)
	if c.idle > 0 {
		fmt.Printf("idle    %d lifecycles one at a time (transfer path, 5 calls): p50 %s  p90 %s  max %s\n",
			len(idleLat), ms(load.Percentile(idleLat, 50)), ms(load.Percentile(idleLat, 90)), ms(load.Percentile(idleLat, 100)))
	}

	// 2. The load, with the groups sampled every 100 ms.
	sctx, stopSampler := context.WithCancel(ctx)
	defer stopSampler()
	sampler := &lagSampler{}
	samplerRDB := newRedis(c.redisAddr, 1)
	defer samplerRDB.Close()
	go sampler.run(sctx, samplerRDB, streamsOf(c.region), 100*time.Millisecond)

	begin := time.Now()
	measureFrom, measureTo := begin.Add(c.opts.Warmup), begin.Add(c.opts.Warmup+c.opts.Duration)
	type tally struct {
		calls map[string][]time.Duration
		errs  map[string]int
		waits int
		n     int64
	}
	tallies := make([]tally, c.opts.Concurrency)
	for i := range tallies {
		tallies[i] = tally{calls: map[string][]time.Duration{}, errs: map[string]int{}}
	}
	var cmdBefore, cmdAfter map[string]int64
	var infoNodes int
	var samplerBefore, samplerAfter int
	var statsWG sync.WaitGroup
	statsWG.Go(func() {
		time.Sleep(time.Until(measureFrom))
		samplerBefore = sampler.commands()
		cmdBefore, _, _ = rstats.CommandStats(ctx, rdb)
		time.Sleep(time.Until(measureTo))
		cmdAfter, infoNodes, _ = rstats.CommandStats(ctx, rdb)
		samplerAfter = sampler.commands()
	})
	seals := &sealWatch{every: c.sealSample}
	sealCtx, stopSeals := context.WithCancel(ctx)
	defer stopSeals()
	go seals.run(sealCtx, cl)
	opts := c.opts
	opts.Processes = append(slices.Clone(c.procs), load.Process{Name: "driver"})
	fmt.Printf("load    %d clients, every %d-th lifecycle through the office, warmup %s, measured %s\n",
		c.opts.Concurrency, c.officeEvery, c.opts.Warmup, c.opts.Duration)
	res, err := load.Run(ctx, "lifecycle", opts, func(ctx context.Context, w int, _ int64) error {
		s := nextSeq()
		office := c.officeEvery > 0 && s%int64(c.officeEvery) == 0
		tr := &trace{}
		start := time.Now()
		name, err := cl.lifecycle(ctx, tr, s, office)
		t := &tallies[w]
		if err == nil {
			t.n++
			seals.closed(name, time.Now())
		}
		if start.Before(measureFrom) {
			return err
		}
		for _, ct := range tr.calls {
			t.calls[ct.name] = append(t.calls[ct.name], ct.d)
		}
		t.waits += tr.waits
		if err != nil {
			var ce *callError
			call := "?"
			if errors.As(err, &ce) {
				call = ce.call
			}
			t.errs[call+" "+status.Code(err).String()]++
		}
		return err
	})
	end := time.Now()
	statsWG.Wait()
	if err != nil {
		return err
	}
	for _, t := range tallies {
		closed += t.n
	}
	fmt.Println(res)
	fmt.Println(res.CPUPerCall())
	if line := cpuByName(res); line != "" {
		fmt.Println(line)
	}

	// Per call.
	calls := map[string][]time.Duration{}
	errs := map[string]int{}
	waits := 0
	for _, t := range tallies {
		for k, ds := range t.calls {
			calls[k] = append(calls[k], ds...)
		}
		for k, n := range t.errs {
			errs[k] += n
		}
		waits += t.waits
	}
	var callNames []string
	for k := range calls {
		callNames = append(callNames, k)
	}
	sort.Strings(callNames)
	fmt.Println("calls   (latency of each call in the measured window; office steps include waits for the consumers)")
	for _, k := range callNames {
		ds := calls[k]
		slices.Sort(ds)
		fmt.Printf("  %-22s %8d  p50 %8s  p99 %8s  max %8s\n", k, len(ds),
			ms(load.Percentile(ds, 50)), ms(load.Percentile(ds, 99)), ms(load.Percentile(ds, 100)))
	}
	fmt.Printf("  retries while waiting for a consumer: %d (%.3f per lifecycle)\n", waits, float64(waits)/float64(max(res.Requests, 1)))
	for k, n := range errs {
		fmt.Printf("  error %s: %d\n", k, n)
	}

	// CPU per lifecycle.
	var platformCPU, driverCPU time.Duration
	cpuOK := len(res.CPU) == len(res.Processes)
	for i, p := range res.Processes {
		if !cpuOK || res.CPU[i] < 0 {
			cpuOK = false
			continue
		}
		if p.PID == 0 {
			driverCPU += res.CPU[i]
		} else {
			platformCPU += res.CPU[i]
		}
	}
	perLife := func(d time.Duration) time.Duration { return d / time.Duration(max(res.Requests, 1)) }
	fmt.Printf("cpu     per lifecycle: platform processes %s, driver %s, all %s\n",
		us(perLife(platformCPU)), us(perLife(driverCPU)), us(perLife(platformCPU+driverCPU)))

	// Redis commands per lifecycle.
	list, total := rstats.Delta(cmdBefore, cmdAfter)
	own := int64(samplerAfter - samplerBefore)
	platformCmds := total - own - 2*int64(infoNodes) // the two INFO commandstats on each server
	perCmd := float64(platformCmds) / float64(max(res.Requests, 1))
	var top []string
	for i, cc := range list {
		if i == 14 {
			break
		}
		top = append(top, fmt.Sprintf("%s %.1f", cc.Name, float64(cc.N)/float64(max(res.Requests, 1))))
	}
	fmt.Printf("redis   %.1f commands per lifecycle (the lag sampler's %d left out): %s\n", perCmd, own, strings.Join(top, ", "))

	// Lag over time and its p99 per group.
	samples := sampler.between(measureFrom, measureTo)
	lagP99 := printLag(samples, measureFrom)

	// 3. After the end: lag back to 0, every closed dispute sealed.
	drained := time.Duration(-1)
	for time.Since(end) < c.drainTimeout {
		gs, _, err := sampleGroups(ctx, samplerRDB, streamsOf(c.region))
		if err == nil && idle(gs) {
			drained = time.Since(end)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopSampler()
	want := treeStart + closed
	sealedIn := time.Duration(-1)
	var size int64
	for time.Since(end) < c.sealTimeout {
		if size, err = cl.treeSize(ctx); err == nil && size >= want {
			sealedIn = time.Since(end)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the seal watch's last round
	stopSeals()
	fmt.Printf("after   every group's lag and pending 0 after %s; %d closed disputes sealed (log %d -> %d) after %s\n",
		dur(drained), closed, treeStart, size, dur(sealedIn))
	sealLat := seals.latencies()
	fmt.Printf("seal    close -> inclusion proof, %d sampled disputes: p50 %s  p99 %s  max %s (unsealed when the load ended: %d)\n",
		len(sealLat), ms(load.Percentile(sealLat, 50)), ms(load.Percentile(sealLat, 99)), ms(load.Percentile(sealLat, 100)), seals.open())

	v.check(res.Throughput() >= c.minRate, "lifecycles/s = %.0f (target >= %.0f)", res.Throughput(), c.minRate)
	v.check(res.ErrorCount() == 0, "lifecycle errors = %d", res.ErrorCount())
	v.check(res.Percentile(99) <= c.maxP99 && len(res.Latencies) > 0, "lifecycle p99 = %s (target <= %s)", ms(res.Percentile(99)), c.maxP99)
	if c.idle > 0 {
		v.check(load.Percentile(idleLat, 50) <= c.maxIdleP50, "idle lifecycle p50 = %s (target <= %s)", ms(load.Percentile(idleLat, 50)), c.maxIdleP50)
	}
	if len(c.procs) > 0 {
		v.check(cpuOK && perLife(platformCPU) <= c.maxCPU, "CPU per lifecycle of the platform's processes = %s (target <= %s; driver %s more)",
			us(perLife(platformCPU)), c.maxCPU, us(perLife(driverCPU)))
	}
	v.check(cmdBefore != nil && perCmd <= c.maxCmds, "Redis commands per lifecycle = %.1f (target <= %.0f)", perCmd, c.maxCmds)
	for _, k := range sortedKeys(lagP99) {
		v.check(lagP99[k] <= c.maxLagP99, "group %s lag p99 = %s (target <= %s)", k, ms(lagP99[k]), c.maxLagP99)
	}
	v.check(drained >= 0 && drained <= c.maxDrain, "every group's lag 0 within %s of the end (target <= %s)", dur(drained), c.maxDrain)
	v.check(sealedIn >= 0 && sealedIn <= c.maxSeal, "every closed dispute sealed within %s of the end (target <= %s)", dur(sealedIn), c.maxSeal)
	return v.err()
}

// printLag prints each group's largest lag per 5 s of the window and
// returns the p99 of how far behind each group was (as time).
func printLag(samples []lagSample, from time.Time) map[string]time.Duration {
	byGroup := map[string][]time.Duration{}
	type window struct {
		lag    int64
		behind time.Duration
	}
	windows := map[string]map[int]window{}
	last := 0
	for _, s := range samples {
		w := int(s.at.Sub(from) / (5 * time.Second))
		last = max(last, w)
		for _, g := range s.groups {
			k := g.key()
			byGroup[k] = append(byGroup[k], g.behind)
			if windows[k] == nil {
				windows[k] = map[int]window{}
			}
			cur := windows[k][w]
			windows[k][w] = window{max(cur.lag, g.lag+g.pending), max(cur.behind, g.behind)}
		}
	}
	out := map[string]time.Duration{}
	fmt.Printf("lag     per group, sampled every 100 ms (XINFO GROUPS): largest lag+pending entries / time behind in each 5 s; p50, p99\n")
	for _, k := range sortedKeys(byGroup) {
		ds := byGroup[k]
		slices.Sort(ds)
		out[k] = load.Percentile(ds, 99)
		var cells []string
		for w := 0; w <= last; w++ {
			x := windows[k][w]
			cells = append(cells, fmt.Sprintf("%d/%s", x.lag, ms(x.behind)))
		}
		fmt.Printf("  %-44s p50 %7s p99 %7s | %s\n", k, ms(load.Percentile(ds, 50)), ms(out[k]), strings.Join(cells, " "))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond)) }

func dur(d time.Duration) string {
	if d < 0 {
		return "never (timed out)"
	}
	return ms(d)
}

// closedAt is a dispute and when its close was answered.
type closedAt struct {
	name string
	at   time.Time
}

// sealWatch polls a sample of the closed disputes for their inclusion
// proof and records how long after the close each became sealed.
type sealWatch struct {
	every   int
	mu      sync.Mutex
	n       int
	waiting []closedAt
	lat     []time.Duration
}

func (s *sealWatch) closed(name string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.every > 0 && s.n%s.every == 0 {
		s.waiting = append(s.waiting, closedAt{name, at})
	}
}

func (s *sealWatch) run(ctx context.Context, cl *clients) {
	for ctx.Err() == nil {
		s.mu.Lock()
		w := slices.Clone(s.waiting)
		s.mu.Unlock()
		done := map[string]time.Time{}
		for _, c := range w {
			if ok, err := cl.sealed(ctx, c.name); err == nil && ok {
				done[c.name] = time.Now()
			}
		}
		s.mu.Lock()
		s.waiting = slices.DeleteFunc(s.waiting, func(c closedAt) bool {
			t, ok := done[c.name]
			if ok {
				s.lat = append(s.lat, t.Sub(c.at))
			}
			return ok
		})
		s.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *sealWatch) latencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.lat)
	slices.Sort(out)
	return out
}

func (s *sealWatch) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiting)
}

// cpuByName sums the CPU per lifecycle of processes sharing a name (the
// replicas of one service); empty when no name repeats.
func cpuByName(r load.Result) string {
	if len(r.CPU) != len(r.Processes) || r.Requests == 0 {
		return ""
	}
	sum := map[string]time.Duration{}
	count := map[string]int{}
	var names []string
	for i, p := range r.Processes {
		if r.CPU[i] < 0 {
			continue
		}
		if count[p.Name] == 0 {
			names = append(names, p.Name)
		}
		sum[p.Name] += r.CPU[i]
		count[p.Name]++
	}
	if len(names) == len(r.Processes) {
		return ""
	}
	var parts []string
	for _, n := range names {
		label := n
		if count[n] > 1 {
			label = fmt.Sprintf("%s(x%d)", n, count[n])
		}
		parts = append(parts, fmt.Sprintf("%s %.0fµs", label, float64(sum[n].Microseconds())/float64(r.Requests)))
	}
	return "cpu     per lifecycle, summed per service over its processes: " + strings.Join(parts, ", ")
}
