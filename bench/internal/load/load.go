// Package load drives a unary call from many concurrent workers for a fixed
// time and summarises throughput and latency. The same driver measures the
// intake service and the bare echo baseline, so the two figures differ only
// in what the server does.
package load

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/status"
)

// Options say how hard and how long to drive.
type Options struct {
	// Concurrency is the number of workers, each with one call in flight.
	Concurrency int
	// Warmup is run first and not measured.
	Warmup time.Duration
	// Duration is the measured window.
	Duration time.Duration
	// CallTimeout bounds each call.
	CallTimeout time.Duration
	// Processes are measured for CPU time over the measured window (Linux
	// only).
	Processes []Process
}

// Call makes one request; worker is the worker's index and seq a number
// unique across all workers and calls of one Run.
type Call func(ctx context.Context, worker int, seq int64) error

// Result summarises the measured window.
type Result struct {
	Name     string
	Requests int            // completed calls started in the window, errors included
	Errors   map[string]int // by gRPC status code
	Elapsed  time.Duration
	// Latencies of successful calls, sorted ascending.
	Latencies []time.Duration
	// CPU is the CPU time each of Options.Processes used in the window, in
	// the same order; -1 when it could not be read.
	CPU       []time.Duration
	Processes []Process
}

// Run drives call with opts.Concurrency workers: opts.Warmup unmeasured,
// then opts.Duration measured.
func Run(ctx context.Context, name string, opts Options, call Call) (Result, error) {
	if opts.Concurrency < 1 || opts.Duration <= 0 {
		return Result{}, fmt.Errorf("load %s: need concurrency >= 1 and a positive duration", name)
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 10 * time.Second
	}
	begin := time.Now()
	measureFrom := begin.Add(opts.Warmup)
	measureTo := measureFrom.Add(opts.Duration)

	type tally struct {
		lat    []time.Duration
		errs   map[string]int
		nCalls int
	}
	tallies := make([]tally, opts.Concurrency)
	var seqMu sync.Mutex
	var seq int64
	next := func() int64 {
		seqMu.Lock()
		defer seqMu.Unlock()
		seq++
		return seq
	}
	var wg sync.WaitGroup
	var cpu []time.Duration
	if len(opts.Processes) > 0 {
		wg.Go(func() {
			timer := time.NewTimer(time.Until(measureFrom))
			defer timer.Stop()
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			before := cpuTimes(opts.Processes)
			timer.Reset(time.Until(measureTo))
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			cpu = cpuTimes(opts.Processes)
			for i := range cpu {
				if cpu[i] >= 0 && before[i] >= 0 {
					cpu[i] -= before[i]
				} else {
					cpu[i] = -1
				}
			}
		})
	}
	for w := range opts.Concurrency {
		tallies[w].errs = map[string]int{}
		tallies[w].lat = make([]time.Duration, 0, 1<<14)
		wg.Go(func() {
			t := &tallies[w]
			for ctx.Err() == nil {
				start := time.Now()
				if !start.Before(measureTo) {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, opts.CallTimeout)
				err := call(cctx, w, next())
				cancel()
				if start.Before(measureFrom) {
					continue
				}
				t.nCalls++
				if err != nil {
					t.errs[status.Code(err).String()]++
					continue
				}
				t.lat = append(t.lat, time.Since(start))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("load %s: %w", name, err)
	}
	r := Result{Name: name, Errors: map[string]int{}, Elapsed: time.Since(measureFrom), CPU: cpu, Processes: opts.Processes}
	for _, t := range tallies {
		r.Requests += t.nCalls
		r.Latencies = append(r.Latencies, t.lat...)
		for k, v := range t.errs {
			r.Errors[k] += v
		}
	}
	slices.Sort(r.Latencies)
	return r, nil
}

// Throughput is completed calls per second over the window.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// ErrorCount is the number of failed calls.
func (r Result) ErrorCount() int {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Percentile returns the p-th percentile (0 < p <= 100) of the successful
// calls' latency by the nearest-rank method; 0 when there were none.
func (r Result) Percentile(p float64) time.Duration {
	return Percentile(r.Latencies, p)
}

// Percentile is the nearest-rank p-th percentile of sorted.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted)) + 0.999999999)
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// String is the result on one line.
func (r Result) String() string {
	var errs []string
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		errs = append(errs, fmt.Sprintf("%s=%d", k, r.Errors[k]))
	}
	errText := "none"
	if len(errs) > 0 {
		errText = strings.Join(errs, ",")
	}
	return fmt.Sprintf("%-7s %8d requests in %5.1fs  %9.0f req/s  p50 %s  p95 %s  p99 %s  max %s  errors %s",
		r.Name, r.Requests, r.Elapsed.Seconds(), r.Throughput(),
		ms(r.Percentile(50)), ms(r.Percentile(95)), ms(r.Percentile(99)), ms(r.Percentile(100)), errText)
}

// CPUPerCall is the CPU time per completed call of each measured process,
// on one line ("" when none was measured).
func (r Result) CPUPerCall() string {
	if len(r.CPU) == 0 || r.Requests == 0 {
		return ""
	}
	var parts []string
	var total time.Duration
	for i, p := range r.Processes {
		if r.CPU[i] < 0 {
			parts = append(parts, p.Name+" ?")
			continue
		}
		total += r.CPU[i]
		parts = append(parts, fmt.Sprintf("%s %.0fµs", p.Name, float64(r.CPU[i].Microseconds())/float64(r.Requests)))
	}
	return fmt.Sprintf("%-7s CPU per call: %s; total %.0fµs, %.2f cores busy", r.Name, strings.Join(parts, ", "),
		float64(total.Microseconds())/float64(r.Requests), total.Seconds()/r.Elapsed.Seconds())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
