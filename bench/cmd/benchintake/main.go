// Command benchintake measures RegisterDispute over gRPC against a running
// intake service and, in the same run and with the same driver, a bare gRPC
// echo server; it prints both, the ratio of their throughputs and whether
// the targets are met.
//
//	benchintake -intake-addr 127.0.0.1:9101 -echo-addr 127.0.0.1:9150 -key var/keys/dev-key.pem
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/bench/internal/load"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/mtls"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// errTargetMissed makes the exit status 1 when a target is not met.
var errTargetMissed = errors.New("target missed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchintake:", err)
		os.Exit(1)
	}
}

type config struct {
	intakeAddr, echoAddr string
	keyFile              string
	region, dept, staff  string
	conns                int
	opts                 load.Options
	minRatio             float64
	echoCPU, intakeCPU   []load.Process
	maxP99               time.Duration
	// transport is how both targets are dialled: mutual TLS as the
	// platform runs, or plaintext when no certificate is given.
	transport grpc.DialOption
}

func run(ctx context.Context, args []string) error {
	var c config
	fs := flag.NewFlagSet("benchintake", flag.ContinueOnError)
	fs.StringVar(&c.intakeAddr, "intake-addr", "127.0.0.1:9101", "intake gRPC address")
	fs.StringVar(&c.echoAddr, "echo-addr", "", "echo server gRPC address (empty: intake only)")
	fs.StringVar(&c.keyFile, "key", "var/keys/dev-key.pem", "private key that signs the clerk's token")
	fs.StringVar(&c.region, "region", "141181", "region to register in")
	fs.StringVar(&c.dept, "dept", "tax", "registering department (an intake point of the roster)")
	fs.StringVar(&c.staff, "staff", "bench", "registering staff id")
	fs.IntVar(&c.opts.Concurrency, "c", 50, "concurrent clients, each with one call in flight")
	fs.IntVar(&c.conns, "conns", 1, "gRPC connections the clients share (round robin)")
	fs.DurationVar(&c.opts.Duration, "duration", 20*time.Second, "measured time per target")
	fs.DurationVar(&c.opts.Warmup, "warmup", 3*time.Second, "unmeasured time before each measurement")
	fs.DurationVar(&c.opts.CallTimeout, "call-timeout", 5*time.Second, "deadline of each call")
	fs.Float64Var(&c.minRatio, "min-ratio", 0.35, "target: intake throughput at least this share of the echo's")
	fs.DurationVar(&c.maxP99, "max-p99", 20*time.Millisecond, "target: intake p99 latency at most this")
	fs.Func("echo-cpu", "processes whose CPU to measure during the echo run: name=pid,... (the driver is always measured)",
		func(v string) (err error) { c.echoCPU, err = processes(v); return err })
	fs.Func("intake-cpu", "processes whose CPU to measure during the intake run: name=pid,... (the driver is always measured)",
		func(v string) (err error) { c.intakeCPU, err = processes(v); return err })
	var tlsFiles mtls.Files
	fs.StringVar(&tlsFiles.Cert, "tls-cert", "", "client certificate for mutual TLS to both targets (empty: plaintext)")
	fs.StringVar(&tlsFiles.Key, "tls-key", "", "key of -tls-cert")
	fs.StringVar(&tlsFiles.CA, "tls-ca", "", "CA of the targets' certificates; both must be named intake")
	cpuProfile := fs.String("cpuprofile", "", "write the driver's CPU profile of the intake run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.conns < 1 {
		return errors.New("-conns must be at least 1")
	}
	c.transport = grpc.WithTransportCredentials(insecure.NewCredentials())
	if tlsFiles != (mtls.Files{}) {
		tc, err := mtls.ClientConfig(tlsFiles, "intake")
		if err != nil {
			return err
		}
		c.transport = grpc.WithTransportCredentials(credentials.NewTLS(tc))
	}
	priv, err := authn.LoadPrivateKey(c.keyFile)
	if err != nil {
		return err
	}
	token, err := authn.Issue(priv, authn.Identity{
		Region: c.region, Department: c.dept, Staff: c.staff, Roles: []string{authn.RoleClerk},
	}, 2*time.Hour)
	if err != nil {
		return err
	}
	form := newForms(c.region, c.dept)
	fmt.Printf("clients %d over %d connection(s), warmup %s, measured %s per target\n",
		c.opts.Concurrency, c.conns, c.opts.Warmup, c.opts.Duration)

	var echo *load.Result
	if c.echoAddr != "" {
		conns, err := dial(c.echoAddr, c.conns, c.transport)
		if err != nil {
			return err
		}
		defer closeAll(conns)
		// The echo carries a payload as large as a registration request, so
		// both targets move the same bytes.
		payload := make([]byte, proto.Size(form.request(0)))
		opts := c.opts
		opts.Processes = append(c.echoCPU, load.Process{Name: "driver"})
		r, err := load.Run(ctx, "echo", opts, func(ctx context.Context, w int, _ int64) error {
			_, err := testgrpc.NewTestServiceClient(conns[w%len(conns)]).UnaryCall(ctx,
				&testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: payload}})
			return err
		})
		if err != nil {
			return err
		}
		fmt.Println(r)
		fmt.Println(r.CPUPerCall())
		echo = &r
	}

	conns, err := dial(c.intakeAddr, c.conns, c.transport, grpc.WithPerRPCCredentials(authn.TokenCredentials(token)))
	if err != nil {
		return err
	}
	defer closeAll(conns)
	opts := c.opts
	opts.Processes = append(c.intakeCPU, load.Process{Name: "driver"})
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	r, err := load.Run(ctx, "intake", opts, func(ctx context.Context, w int, seq int64) error {
		_, err := intakev1.NewIntakeServiceClient(conns[w%len(conns)]).RegisterDispute(ctx, form.request(seq))
		return err
	})
	if err != nil {
		return err
	}
	fmt.Println(r)
	fmt.Println(r.CPUPerCall())
	return verdict(c, echo, r)
}

// processes parses "name=pid,name=pid".
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

func verdict(c config, echo *load.Result, intake load.Result) error {
	ok := true
	check := func(what string, pass bool) {
		word := "PASS"
		if !pass {
			word, ok = "FAIL", false
		}
		fmt.Printf("%s  %s\n", word, what)
	}
	if echo != nil {
		ratio := 0.0
		if echo.Throughput() > 0 {
			ratio = intake.Throughput() / echo.Throughput()
		}
		check(fmt.Sprintf("throughput ratio intake/echo = %.1f%% (target >= %.0f%%)", 100*ratio, 100*c.minRatio),
			ratio >= c.minRatio)
	}
	p99 := intake.Percentile(99)
	check(fmt.Sprintf("intake p99 = %.2fms (target <= %s)", float64(p99)/float64(time.Millisecond), c.maxP99),
		p99 <= c.maxP99 && len(intake.Latencies) > 0)
	check(fmt.Sprintf("intake errors = %d", intake.ErrorCount()), intake.ErrorCount() == 0)
	if !ok {
		return errTargetMissed
	}
	return nil
}

func dial(addr string, n int, transport grpc.DialOption, opts ...grpc.DialOption) ([]*grpc.ClientConn, error) {
	opts = append(opts, transport)

	var out []*grpc.ClientConn
	for range n {
		cc, err := grpc.NewClient(addr, opts...)
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		cc.Connect()
		out = append(out, cc)
	}
	return out, nil
}

func closeAll(conns []*grpc.ClientConn) {
	for _, c := range conns {
		c.Close()
	}
}

// forms builds valid, distinct registrations: each call has its own
// request_id, claimant name and mobile number, so the idempotency and
// duplicate-link indexes see as many keys as there are calls.
type forms struct {
	region, dept string
	run          string // distinguishes request ids of separate runs
	phoneBase    int64
}

func newForms(region, dept string) *forms {
	return &forms{
		region: region, dept: dept,
		run:       fmt.Sprintf("%x", time.Now().UnixNano()),
		phoneBase: rand.Int64N(500_000_000),
	}
}

var categories = []typesv1.Category{
	typesv1.Category_CATEGORY_BASE_DECLARATION, typesv1.Category_CATEGORY_CONTRIBUTION_AMOUNT,
	typesv1.Category_CATEGORY_LATE_FEE, typesv1.Category_CATEGORY_REFUND_OFFSET,
	typesv1.Category_CATEGORY_INSPECTION_ARREARS, typesv1.Category_CATEGORY_BENEFITS,
}

func (f *forms) request(seq int64) *intakev1.RegisterDisputeRequest {
	n := (f.phoneBase + seq) % 1_000_000_000
	return &intakev1.RegisterDisputeRequest{
		Parent:    "regions/" + f.region,
		RequestId: fmt.Sprintf("bench-%s-%d", f.run, seq),
		Dispute: &intakev1.Dispute{
			Claimant: &intakev1.Claimant{
				Kind:  typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL,
				Name:  fmt.Sprintf("压测诉求人%d", seq),
				Phone: fmt.Sprintf("13%09d", n),
			},
			Complaint:             "单位未按职工实际工资申报社会保险费缴费基数，要求核实并补缴。",
			Category:              categories[seq%int64(len(categories))],
			Channel:               typesv1.Channel_CHANNEL_WINDOW,
			RegisteringDepartment: f.dept,
			PeopleInvolved:        1,
		},
	}
}
