//go:build faults

package e2e

// The fault suite's harness: the real binaries against a real Redis and etcd,
// like startPlatform, but with any number of replicas per service, each of
// which can be killed with SIGKILL and started again on the same ports, and
// with Redis killed, restarted on the same port and data dir, or paused.
// Run it with `make test-faults` (build tag faults).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// eventStreams are the streams whose consumer groups the experiments watch.
var eventStreams = []string{
	events.Stream("intake", region), events.Stream("routing", region), events.Stream("meeting", region),
}

// cluster is one deployment of the platform for a fault experiment.
type cluster struct {
	t     *testing.T
	bin   string
	dir   string
	key   string
	certs string // the CA, the services' and the client's certificates
	env   []string
	redis *testenv.Redis
	etcd  *testenv.Etcd
	rdb   *redis.Client

	mu    sync.Mutex
	procs map[string][]*proc // service -> replicas
}

// proc is one replica of a service: its ports stay the same across restarts.
type proc struct {
	c     *cluster
	name  string // "intake-2"
	svc   string
	grpc  string
	admin string
	env   []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
}

// newCluster starts Redis and etcd, seeds the roster and configuration, and
// returns a cluster without services; start them with startService.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	if keep := os.Getenv("FAULTS_DIR"); keep != "" { // keep the processes' logs and data for a look afterwards
		dir = filepath.Join(keep, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := &cluster{t: t, bin: binaries(t), dir: dir, procs: map[string][]*proc{}}
	c.redis = testenv.StartRedis(t)
	c.etcd = testenv.StartEtcd(t)
	var secure []string
	c.certs, secure = secureEnv(t, c.dir, c.redis, c.etcd)
	c.env = append(os.Environ(), secure...)
	keys := filepath.Join(c.dir, "keys")
	c.ctl("keygen", "--dir", keys)
	c.key = filepath.Join(keys, "dev-key.pem")
	c.ctl("roster", "init", "--file", "../deploy/roster/"+region+".json", "--etcd", c.etcd.Endpoint)
	c.ctl("config", "init", "--dir", "../deploy/config", "--etcd", c.etcd.Endpoint)
	standInCalendars(t, c.dir, c.etcd.Endpoint, c.ctl)
	c.env = append(c.env,
		"DISPUTES_PUBLIC_KEY="+filepath.Join(keys, "dev-key.pub.pem"),
		"DISPUTES_REDIS_ADDR="+c.redis.Addr,
		"DISPUTES_ETCD_ENDPOINTS="+c.etcd.Endpoint,
		"ARCHIVE_DATA_DIR="+filepath.Join(c.dir, "archive"),
		"ARCHIVE_SIGNING_KEY="+c.key,
	)
	opts := c.redis.Options()
	opts.MaxRetries = -1
	c.rdb = redis.NewClient(opts)
	t.Cleanup(func() { c.rdb.Close() })
	return c
}

// ctl runs disputectl and returns its output; it fails the test on error.
func (c *cluster) ctl(args ...string) string {
	c.t.Helper()
	out, err := c.ctlErr(args...)
	if err != nil {
		c.t.Fatalf("disputectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *cluster) ctlErr(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.bin, "disputectl"), args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// startPlatform starts one replica of each service (no gateway: the
// experiments speak gRPC).
func (c *cluster) startPlatform(extraEnv ...string) {
	c.t.Helper()
	for _, svc := range []string{"meeting", "intake", "routing", "archive"} {
		p := c.startService(svc, extraEnv...)
		// Ready is not yet serving the region: wait for its roster, or the
		// first registration may be refused with NO_ROSTER.
		if err := waitRoster(p.admin, region, 30*time.Second); err != nil {
			c.t.Fatalf("%s: %v", p.name, err)
		}
	}
}

// startService starts a new replica of svc on fresh ports and waits until it
// is ready.
func (c *cluster) startService(svc string, extraEnv ...string) *proc {
	c.t.Helper()
	c.mu.Lock()
	n := len(c.procs[svc]) + 1
	p := &proc{c: c, svc: svc, name: fmt.Sprintf("%s-%d", svc, n), grpc: testenv.FreeAddr(c.t), admin: testenv.FreeAddr(c.t),
		env: append(append([]string{}, c.env...), extraEnv...)}
	c.procs[svc] = append(c.procs[svc], p)
	c.mu.Unlock()
	if err := p.start(); err != nil {
		c.t.Fatal(err)
	}
	if err := p.waitReady(20 * time.Second); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(p.stop)
	return p
}

// replica returns replica i (from 0) of svc.
func (c *cluster) replica(svc string, i int) *proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[svc][i]
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	logf, err := os.OpenFile(filepath.Join(p.c.dir, p.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.starts++
	fmt.Fprintf(logf, "\n=== start %d at %s\n", p.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(filepath.Join(p.c.bin, p.svc), "-grpc-addr", p.grpc, "-admin-addr", p.admin,
		"-drain-delay", "0s", "-log-level", "warn")
	cmd.Env, cmd.Stdout, cmd.Stderr = p.env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	return nil
}

// alive reports whether the replica's current process is running.
func (p *proc) alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get("http://" + p.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if !p.alive() {
			return fmt.Errorf("%s exited before it was ready; log:\n%s", p.name, p.logTail(3000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v: %v", p.name, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill9 ends the replica's process with SIGKILL, as a crash would.
func (p *proc) kill9() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// restart starts the replica again on the same ports (after kill9) and waits
// until it is ready.
func (p *proc) restart() {
	p.c.t.Helper()
	p.kill9()
	if err := p.start(); err != nil {
		p.c.t.Error(err)
		return
	}
	if err := p.waitReady(20 * time.Second); err != nil {
		p.c.t.Error(err)
	}
}

// stop ends the replica gracefully (SIGINT), killing it after 15 s.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	if p.c.t.Failed() {
		p.c.t.Logf("--- %s log (tail) ---\n%s", p.name, p.logTail(2000))
	}
}

func (p *proc) logTail(n int) string {
	b, _ := os.ReadFile(filepath.Join(p.c.dir, p.name+".log"))
	return string(tail(b, n))
}

// conn dials the replica with a short reconnect backoff, so a client finds a
// restarted replica within a second.
func (p *proc) conn(token string) *grpc.ClientConn {
	p.c.t.Helper()
	cc, err := grpc.NewClient(p.grpc,
		clientTLS(p.c.t, p.c.certs, "client", p.svc),
		grpc.WithPerRPCCredentials(authn.TokenCredentials(token)),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		}))
	if err != nil {
		p.c.t.Fatal(err)
	}
	p.c.t.Cleanup(func() { cc.Close() })
	return cc
}

// token mints a token of the region for dept with roles.
func (c *cluster) token(dept, staff string, roles ...string) string {
	c.t.Helper()
	priv, err := authn.LoadPrivateKey(c.key)
	if err != nil {
		c.t.Fatal(err)
	}
	tok, err := authn.Issue(priv, authn.Identity{Region: region, Department: dept, Staff: staff, Roles: roles}, 2*time.Hour)
	if err != nil {
		c.t.Fatal(err)
	}
	return tok
}

// redisPid asks Redis for its process id (INFO server).
func (c *cluster) redisPid() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := c.rdb.Info(ctx, "server").Result()
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`process_id:(\d+)`).FindStringSubmatch(info)
	if m == nil {
		return 0, errors.New("INFO server has no process_id")
	}
	return strconv.Atoi(m[1])
}

// killRedis ends redis-server with SIGKILL and starts it again on the same
// port and data dir (AOF, appendfsync always): it comes back with every
// acknowledged write.
func (c *cluster) killRedis() {
	c.t.Helper()
	start := time.Now()
	c.redis.Restart(c.t)
	c.t.Logf("redis-server killed (SIGKILL) and restarted in %v", time.Since(start).Round(time.Millisecond))
}

// pauseRedis stops redis-server with SIGSTOP for d, then continues it.
func (c *cluster) pauseRedis(d time.Duration) {
	c.t.Helper()
	pid, err := c.redisPid()
	if err != nil {
		c.t.Fatalf("redis pid: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		c.t.Fatalf("SIGSTOP redis: %v", err)
	}
	c.t.Logf("redis-server paused (SIGSTOP) for %v", d)
	time.Sleep(d)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		c.t.Fatalf("SIGCONT redis: %v", err)
	}
	c.t.Logf("redis-server continued (SIGCONT)")
}

// groupState is one consumer group of one stream.
type groupState struct {
	Stream, Group string
	Length        int64 // XLEN of the stream
	Lag, Pending  int64 // XINFO GROUPS; lag -1 when Redis cannot tell
	Parked        int64 // XLEN <stream>:parked:<group>
}

func (g groupState) String() string {
	s := strings.TrimSuffix(strings.TrimPrefix(g.Stream, ""), ":events")
	return fmt.Sprintf("%s/%s lag=%d pending=%d parked=%d", s, g.Group, g.Lag, g.Pending, g.Parked)
}

// groups reads every consumer group of the watched streams.
func (c *cluster) groups() ([]groupState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out []groupState
	for _, s := range eventStreams {
		n, err := c.rdb.XLen(ctx, s).Result()
		if err != nil {
			return nil, fmt.Errorf("xlen %s: %w", s, err)
		}
		if n == 0 {
			continue
		}
		gs, err := c.rdb.XInfoGroups(ctx, s).Result()
		if err != nil {
			return nil, fmt.Errorf("xinfo groups %s: %w", s, err)
		}
		for _, g := range gs {
			parked, err := c.rdb.XLen(ctx, events.ParkedStream(s, g.Name)).Result()
			if err != nil {
				return nil, fmt.Errorf("xlen parked %s %s: %w", s, g.Name, err)
			}
			out = append(out, groupState{Stream: s, Group: g.Name, Length: n, Lag: g.Lag, Pending: g.Pending, Parked: parked})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Stream+out[i].Group < out[j].Stream+out[j].Group
	})
	return out, nil
}

// totalParked sums the parked entries of every group.
func totalParked(gs []groupState) int64 {
	var n int64
	for _, g := range gs {
		n += g.Parked
	}
	return n
}

func describe(gs []groupState) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = g.String()
	}
	return strings.Join(parts, "; ")
}

// drained reports nil when every group of the watched streams has lag 0 and
// pending 0 (and, with want, exactly those groups exist).
func (c *cluster) drained(wantGroups int) func() (bool, string) {
	return func() (bool, string) {
		gs, err := c.groups()
		if err != nil {
			return false, err.Error()
		}
		ok := len(gs) >= wantGroups
		for _, g := range gs {
			if g.Lag != 0 || g.Pending != 0 {
				ok = false
			}
		}
		return ok, describe(gs)
	}
}

// waitFor polls cond until it reports done or the deadline passes, logging
// its progress every 5 s. It returns whether cond was met and its last report.
func waitFor(t *testing.T, what string, within time.Duration, cond func() (bool, string)) (bool, string) {
	t.Helper()
	start := time.Now()
	lastLog := start
	for {
		done, progress := cond()
		if done {
			t.Logf("%s: met after %v (%s)", what, time.Since(start).Round(100*time.Millisecond), progress)
			return true, progress
		}
		if time.Since(start) > within {
			t.Logf("%s: NOT met within %v (%s)", what, within, progress)
			return false, progress
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			t.Logf("%s: waiting %v: %s", what, time.Since(start).Round(time.Second), progress)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// codeCounts counts errors by gRPC code, safe for concurrent use.
type codeCounts struct {
	mu     sync.Mutex
	m      map[string]int
	sample map[string]string // code -> the first message
}

func (cc *codeCounts) add(err error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil {
		cc.m, cc.sample = map[string]int{}, map[string]string{}
	}
	code := status.Code(err).String()
	cc.m[code]++
	if _, ok := cc.sample[code]; !ok {
		cc.sample[code] = status.Convert(err).Message()
	}
}

// samples returns the first message of each code.
func (cc *codeCounts) samples() string {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	keys := make([]string, 0, len(cc.sample))
	for k := range cc.sample {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %q", k, cc.sample[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func (cc *codeCounts) String() string {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if len(cc.m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(cc.m))
	for k := range cc.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, cc.m[k])
	}
	return b.String()
}

// permanent reports whether err will not go away on a retry of the same call.
func permanent(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented, codes.AlreadyExists:
		return true
	}
	return false
}

// newRegistration is a valid registration with its own request id, claimant
// and mobile number, so the duplicate and mass-dispute indexes see distinct keys.
func newRegistration(requestID string, i int) *intakev1.RegisterDisputeRequest {
	return &intakev1.RegisterDisputeRequest{
		Parent: "regions/" + region, RequestId: requestID,
		Dispute: &intakev1.Dispute{
			Claimant: &intakev1.Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL,
				Name: fmt.Sprintf("申请人%d", i), Phone: fmt.Sprintf("139%08d", i)},
			Complaint: "单位未按实际工资申报缴费基数", Category: typesv1.Category_CATEGORY_BENEFITS,
			Channel: typesv1.Channel_CHANNEL_WINDOW, RegisteringDepartment: "tax",
		},
	}
}

// register sends req to the replicas, starting with the one at first and
// moving to the next on every failure, retrying the SAME request id until
// the registration is acknowledged or ctx ends. It returns the dispute and
// how many attempts failed.
func register(ctx context.Context, clients []intakev1.IntakeServiceClient, first int, req *intakev1.RegisterDisputeRequest,
	errs *codeCounts) (*intakev1.Dispute, int, error) {
	failed := 0
	for i := first; ; i++ {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := clients[i%len(clients)].RegisterDispute(cctx, req)
		cancel()
		if err == nil {
			return resp.GetDispute(), failed, nil
		}
		failed++
		errs.add(err)
		if permanent(err) || ctx.Err() != nil {
			return nil, failed, err
		}
		time.Sleep(time.Duration(min(failed, 10)) * 20 * time.Millisecond)
	}
}

var numberRe = regexp.MustCompile(`第(\d+)号`)

// numberOf returns N of a form number "YYYY年第N号".
func numberOf(number string) (int, error) {
	m := numberRe.FindStringSubmatch(number)
	if m == nil {
		return 0, fmt.Errorf("number %q is not YYYY年第N号", number)
	}
	return strconv.Atoi(m[1])
}

// gapsAndDuplicates checks that nums is exactly 1..len(nums).
func gapsAndDuplicates(nums []int) (lo, hi, gaps, dups int) {
	seen := map[int]int{}
	lo, hi = -1, -1
	for _, n := range nums {
		seen[n]++
		if lo == -1 || n < lo {
			lo = n
		}
		if n > hi {
			hi = n
		}
	}
	for _, c := range seen {
		if c > 1 {
			dups += c - 1
		}
	}
	for n := 1; n <= max(hi, len(nums)); n++ {
		if seen[n] == 0 {
			gaps++
		}
	}
	return lo, hi, gaps, dups
}

// parallel runs fn(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
