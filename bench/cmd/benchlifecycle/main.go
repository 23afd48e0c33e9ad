// Command benchlifecycle drives whole dispute lifecycles over gRPC against
// a running platform (intake, routing, meeting, archive on one Redis) and
// prints lifecycles/s, the latency of a lifecycle and of each call, the CPU
// each process spent per lifecycle, Redis commands per lifecycle, every
// consumer group's lag over time and the time from close to sealed. It
// exits non-zero when a target is missed.
//
//	benchlifecycle -key var/keys/dev-key.pem -redis-addr 127.0.0.1:6390 \
//	    -cpu intake=PID,routing=PID,meeting=PID,archive=PID,redis=PID,etcd=PID
//
// With -mode register, -mode advance or -mode drain it runs the steps of
// the event backbone's benchmark (scripts/bench-events.sh) instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/bench/internal/load"
)

// errTargetMissed makes the exit status 1 when a target is not met.
var errTargetMissed = errors.New("target missed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchlifecycle:", err)
		os.Exit(1)
	}
}

type config struct {
	mode                                           string
	intakeAddr, routingAddr, meetingAddr, archAddr string
	redisAddr                                      string
	keyFile, region                                string
	opts                                           load.Options
	officeEvery                                    int
	idle                                           int
	procs                                          []load.Process
	sealTimeout, drainTimeout                      time.Duration
	sealSample                                     int
	namesFile                                      string
	n                                              int
	group                                          string
	streams                                        []string

	minRate                      float64
	maxP99, maxIdleP50, maxCPU   time.Duration
	maxCmds                      float64
	maxDrain, maxSeal, maxLagP99 time.Duration
	minEventsPerSec              float64
}

func run(ctx context.Context, args []string) error {
	var c config
	fs := flag.NewFlagSet("benchlifecycle", flag.ContinueOnError)
	fs.StringVar(&c.mode, "mode", "lifecycle", "lifecycle | register | advance | drain")
	fs.StringVar(&c.intakeAddr, "intake-addr", "127.0.0.1:9101", "intake gRPC address; several, comma separated: replicas called in turn")
	fs.StringVar(&c.routingAddr, "routing-addr", "127.0.0.1:9102", "routing gRPC address(es)")
	fs.StringVar(&c.meetingAddr, "meeting-addr", "127.0.0.1:9103", "meeting gRPC address(es)")
	fs.StringVar(&c.archAddr, "archive-addr", "127.0.0.1:9104", "archive gRPC address(es)")
	fs.StringVar(&c.redisAddr, "redis-addr", "127.0.0.1:6390", "the platform's Redis (command counts and group lag); several, comma separated: the nodes of a Redis Cluster, its masters' counts summed")
	fs.StringVar(&c.keyFile, "key", "var/keys/dev-key.pem", "private key that signs the staff tokens")
	fs.StringVar(&c.region, "region", "141181", "region")
	fs.IntVar(&c.opts.Concurrency, "c", 50, "concurrent clients, each with one lifecycle in flight")
	fs.DurationVar(&c.opts.Duration, "duration", 60*time.Second, "measured time")
	fs.DurationVar(&c.opts.Warmup, "warmup", 5*time.Second, "unmeasured time before the measurement")
	fs.DurationVar(&c.opts.CallTimeout, "call-timeout", 30*time.Second, "deadline of one lifecycle")
	fs.IntVar(&c.officeEvery, "office-every", 10, "every n-th lifecycle goes through the office (0: none)")
	fs.IntVar(&c.idle, "idle", 50, "lifecycles run one at a time before the load, for the idle latency")
	fs.Func("cpu", "processes whose CPU to measure: name=pid,... (the driver is always measured)",
		func(v string) (err error) { c.procs, err = processes(v); return err })
	fs.DurationVar(&c.sealTimeout, "seal-timeout", 60*time.Second, "how long to wait for closed disputes to be sealed")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 60*time.Second, "how long to wait for the groups' lag to reach 0")
	fs.IntVar(&c.sealSample, "seal-sample", 25, "every n-th closed dispute is polled for its seal while the load runs")
	fs.StringVar(&c.namesFile, "names", "", "register: write the names here; advance: read them from here")
	fs.IntVar(&c.n, "n", 10000, "register: how many disputes")
	fs.StringVar(&c.group, "group", "", "drain: the consumer group")
	fs.Func("streams", "drain: the streams the group reads, comma separated",
		func(v string) error { c.streams = strings.Split(v, ","); return nil })
	fs.Float64Var(&c.minRate, "min-rate", 500, "target: lifecycles/s at least")
	fs.DurationVar(&c.maxP99, "max-p99", 200*time.Millisecond, "target: lifecycle p99 at most")
	fs.DurationVar(&c.maxIdleP50, "max-idle-p50", 20*time.Millisecond, "target: one lifecycle on an idle system, p50 at most")
	fs.DurationVar(&c.maxCPU, "max-cpu", 2*time.Millisecond, "target: CPU per lifecycle of the platform's processes at most")
	fs.Float64Var(&c.maxCmds, "max-cmds", 60, "target: Redis commands per lifecycle at most")
	fs.DurationVar(&c.maxDrain, "max-drain", 5*time.Second, "target: every group's lag and pending 0 within this of the end")
	fs.DurationVar(&c.maxSeal, "max-seal", 30*time.Second, "target: every closed dispute sealed within this of the end")
	fs.DurationVar(&c.maxLagP99, "max-lag-p99", time.Second, "target: p99 of each group's lag (as time) under load")
	fs.Float64Var(&c.minEventsPerSec, "min-events", 5000, "drain target: events applied per second at least")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rdb := newRedis(c.redisAddr, 4)
	defer rdb.Close()
	switch c.mode {
	case "lifecycle":
		return runLifecycles(ctx, c, rdb)
	case "register":
		return runRegister(ctx, c)
	case "advance":
		return runAdvance(ctx, c)
	case "drain":
		return runDrain(ctx, c, rdb)
	}
	return fmt.Errorf("unknown -mode %q", c.mode)
}

// newRedis is a client of the platform's Redis: one server's for one
// address, a Redis Cluster's for several (as platform/app.NewRedis).
func newRedis(addrs string, pool int) redis.UniversalClient {
	list := strings.Split(addrs, ",")
	if len(list) == 1 {
		return redis.NewClient(&redis.Options{Addr: list[0], PoolSize: pool})
	}
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: list, PoolSize: pool})
}

// processes parses "name=pid,name=pid"; a name may repeat (the replicas
// of one service), their CPU is then also shown summed.
func processes(v string) ([]load.Process, error) {
	var out []load.Process
	for _, part := range strings.Split(v, ",") {
		name, pid, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(pid)
		if !ok || name == "" || err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want name=pid", part)
		}
		out = append(out, load.Process{Name: name, PID: n})
	}
	return out, nil
}

// verdicts collects PASS/FAIL lines.
type verdicts struct{ failed bool }

func (v *verdicts) check(pass bool, format string, args ...any) {
	word := "PASS"
	if !pass {
		word, v.failed = "FAIL", true
	}
	fmt.Printf("%s  %s\n", word, fmt.Sprintf(format, args...))
}

func (v *verdicts) err() error {
	if v.failed {
		return errTargetMissed
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
