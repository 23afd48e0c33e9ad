package service_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	"github.com/xiaoyi-disputes/disputes/platform/server"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
	"github.com/xiaoyi-disputes/disputes/routing/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/routing/internal/service"
)

const region = "141181"

// fakeClock is the controllable clock every replica of a test reads.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// cst is a China wall-clock time.
func cst(year int, month time.Month, day, hour, min int) time.Time {
	return time.Date(year, month, day, hour, min, 0, 0, clock.China)
}

// platform is one Redis and one etcd seeded with region 141181's roster,
// time limits and calendars, as disputectl config init leaves them.
type platform struct {
	redis  *testenv.Redis
	etcd   *testenv.Etcd
	rdb    *redis.Client
	clock  *fakeClock
	pub    ed25519.PublicKey
	tokens map[string]string
}

func newPlatform(t *testing.T, now time.Time) *platform {
	t.Helper()
	p := &platform{redis: testenv.StartRedis(t), etcd: testenv.StartEtcd(t), clock: &fakeClock{t: now}, tokens: map[string]string{}}
	p.rdb = p.redis.Client(t)
	cli := p.etcd.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := roster.LoadFile("../../../deploy/roster/141181.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := roster.Put(ctx, cli, r); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../../deploy/config/141181/time-limits.json")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := regionconfig.TimeLimitsSpec.Decode(regionconfig.TimeLimitsSpec.Key(region, ""), raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := regionconfig.Put(ctx, cli, regionconfig.TimeLimitsSpec, region, "", tl); err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile("../../../deploy/config/141181/legal.json")
	if err != nil {
		t.Fatal(err)
	}
	lg, err := regionconfig.LegalSpec.Decode(regionconfig.LegalSpec.Key(region, ""), raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := regionconfig.Put(ctx, cli, regionconfig.LegalSpec, region, "", lg); err != nil {
		t.Fatal(err)
	}
	for _, y := range []string{"2025", "2026"} {
		raw, err := os.ReadFile("../../../deploy/config/141181/calendar/" + y + ".json")
		if err != nil {
			t.Fatal(err)
		}
		c, err := regionconfig.CalendarSpec.Decode(regionconfig.CalendarSpec.Key(region, y), raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := regionconfig.Put(ctx, cli, regionconfig.CalendarSpec, region, y, c); err != nil {
			t.Fatal(err)
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.pub = pub
	for name, id := range map[string]authn.Identity{
		"tax":    {Region: region, Department: "tax", Staff: "li_na", Roles: []string{authn.RoleClerk}},
		"hrss":   {Region: region, Department: "hrss", Staff: "wang_fang", Roles: []string{authn.RoleHandler}},
		"office": {Region: region, Department: "gov_office", Staff: "chen_jie", Roles: []string{authn.RoleOffice}},
		"host":   {Region: region, Department: "tax", Staff: "liu_min", Roles: []string{authn.RoleOffice}},
		// The tax bureau's head (单位负责人), who approves its extensions.
		"tax_head":  {Region: region, Department: "tax", Staff: "wangxj", Roles: []string{authn.RoleHead}},
		"hrss_head": {Region: region, Department: "hrss", Staff: "wangzm", Roles: []string{authn.RoleHead}},
		// A head token for tax whose holder the roster does not list as tax's head.
		"tax_false_head": {Region: region, Department: "tax", Staff: "qian", Roles: []string{authn.RoleHead}},
	} {
		tok, err := authn.Issue(priv, id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		p.tokens[name] = tok
	}
	return p
}

// replica is one routing process built by service.SetupWith, as app.Main
// builds it, with its own etcd and Redis clients.
type replica struct {
	name   string
	etcd   *clientv3.Client
	srv    *server.Server
	client routingv1.RoutingServiceClient
	stop   context.CancelFunc
	done   chan struct{}
}

func (p *platform) start(t *testing.T, name string) *replica {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Config{Service: "routing", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		ShutdownTimeout: 5 * time.Second, InsecurePlaintext: true}, log, grpcapi.Policy, authn.NewVerifier(p.pub))
	if err != nil {
		t.Fatal(err)
	}
	cli := p.etcd.Client(t)
	w := roster.NewWatcher(cli, log, nil)
	d := &app.Deps{Log: log, Server: srv, Redis: p.redis.Client(t), Etcd: cli, Roster: w, Now: p.clock.Now}
	ctx, cancel := context.WithCancel(context.Background())
	loops, err := service.SetupWith(service.Options{ScanInterval: 50 * time.Millisecond, ConsumerBlock: 100 * time.Millisecond, Name: name})(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{name: name, etcd: cli, srv: srv, stop: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	for _, loop := range append(loops, w.Run, srv.Run) {
		wg.Go(func() { loop(ctx) })
	}
	go func() { wg.Wait(); close(r.done) }()
	t.Cleanup(r.kill)

	// Ready once the roster, time limits and calendars are loaded.
	<-w.Loaded()
	waitFor(t, "replica "+name+" ready", func() bool {
		resp, err := http.Get("http://" + srv.AdminAddr() + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `"calendar":"ok"`) && strings.Contains(string(b), `"time_limits":"ok"`)
	})
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r.client = routingv1.NewRoutingServiceClient(conn)
	return r
}

// kill stops the replica; idempotent.
func (r *replica) kill() {
	r.stop()
	<-r.done
}

// leading reads the replica's routing_scanner_leader gauge.
func (r *replica) leading(t *testing.T) bool {
	t.Helper()
	mfs, err := r.srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "routing_scanner_leader" {
			return mf.GetMetric()[0].GetGauge().GetValue() == 1
		}
	}
	return false
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (p *platform) as(t *testing.T, who string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return authn.WithToken(ctx, p.tokens[who])
}

// register publishes intake's DisputeRegistered for dispute n, registered now.
func (p *platform) register(t *testing.T, n int) string {
	t.Helper()
	name := fmt.Sprintf("regions/%s/disputes/2026-%d", region, n)
	now := p.clock.Now()
	actor := &typesv1.Actor{Region: region, Department: "tax", StaffId: "li_na", Roles: []typesv1.Role{typesv1.Role_ROLE_CLERK}}
	ev, err := events.New("intake", region, name, actor, "", &intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{
		Name: name, Number: fmt.Sprintf("2026年第%d号", n), RegisteringDepartment: "tax", FirstReceiver: "li_na",
		Category: typesv1.Category_CATEGORY_LATE_FEE, Channel: typesv1.Channel_CHANNEL_WINDOW,
		Complaint: "滞纳金计算有误", RegisterTime: timestamppb.New(now),
	}}, now)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := events.Values(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: events.Stream("intake", region), Values: vals}).Err(); err != nil {
		t.Fatal(err)
	}
	return name
}

func (p *platform) tracking(t *testing.T, r *replica, name string) *routingv1.Tracking {
	t.Helper()
	var tr *routingv1.Tracking
	waitFor(t, "tracking of "+name, func() bool {
		resp, err := r.client.GetTracking(p.as(t, "office"), &routingv1.GetTrackingRequest{Name: name})
		if err != nil && status.Code(err) != codes.NotFound {
			t.Fatalf("GetTracking: %v", err)
		}
		tr = resp.GetTracking()
		return err == nil
	})
	return tr
}

// count is how many events of each payload type the routing stream holds for name.
func (p *platform) count(t *testing.T, name string) map[string]int {
	t.Helper()
	msgs, err := p.rdb.XRange(context.Background(), events.Stream("routing", region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range msgs {
		ev, err := events.Decode(m)
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetDispute() == name {
			out[strings.TrimPrefix(ev.GetType(), "disputes.routing.v1.")]++
		}
	}
	return out
}

func lastClock(tr *routingv1.Tracking) *routingv1.Clock { return tr.GetClocks()[len(tr.GetClocks())-1] }

func wantCode(t *testing.T, err error, code codes.Code, reason, inMsg string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("err = %v, want %v", err, code)
	}
	if reason != "" && apierr.Reason(err) != reason {
		t.Fatalf("reason = %q, want %q (%v)", apierr.Reason(err), reason, err)
	}
	if inMsg != "" && !strings.Contains(status.Convert(err).Message(), inMsg) {
		t.Fatalf("message %q does not contain %q", status.Convert(err).Message(), inMsg)
	}
}

// TestDeadlinesAcrossSpringFestivalWithTwoReplicas routes a transfer just
// before Spring Festival 2026, lets the controllable clock run past its
// warning and due times with two routing replicas up, and kills the one
// that scans.
func TestDeadlinesAcrossSpringFestivalWithTwoReplicas(t *testing.T) {
	p := newPlatform(t, cst(2026, 2, 12, 10, 0)) // Thursday before the holiday
	a, b := p.start(t, "a"), p.start(t, "b")
	replicas := []*replica{a, b}

	transferred := p.register(t, 1)
	waiting := p.register(t, 2) // stays REGISTERED: its routing clock runs on
	p.tracking(t, a, transferred)
	tr := p.tracking(t, b, waiting)
	// 15 days from Thu 12 Feb is Fri 27 Feb, a working day.
	if due := tr.GetClocks()[0].GetDueTime().AsTime(); !due.Equal(cst(2026, 2, 27, 23, 59).Add(59 * time.Second)) {
		t.Fatalf("routing clock due %s", due.In(clock.China))
	}

	resp, err := a.client.RouteDispute(p.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: transferred,
		Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: "hrss", Opinion: "属人社部门职责"})
	if err != nil {
		t.Fatal(err)
	}
	// Fri 13 Feb (1), make-up Sat 14 Feb (2), holiday 15-23 Feb, Tue 24 (3),
	// Wed 25 (4), Thu 26 (5): due at the end of Thursday 26 February.
	receipt := lastClock(resp.GetTracking())
	wantDue := cst(2026, 2, 26, 23, 59).Add(59 * time.Second)
	if receipt.GetStage() != routingv1.Stage_STAGE_TRANSFER_RECEIPT || !receipt.GetDueTime().AsTime().Equal(wantDue) ||
		receipt.GetRemainingWorkingDays() != 5 {
		t.Fatalf("receipt clock = %v, want due %s with 5 working days left", receipt, wantDue)
	}

	// A working day before: one DeadlineWarning, whichever replica scans.
	p.clock.Set(cst(2026, 2, 25, 8, 0))
	waitFor(t, "DeadlineWarning", func() bool { return p.count(t, transferred)["DeadlineWarning"] > 0 })
	// Past due: one Overdue. The waiting dispute's routing clock (due 27
	// Feb) is warned about now.
	p.clock.Set(cst(2026, 2, 27, 0, 0).Add(time.Second))
	waitFor(t, "Overdue", func() bool { return p.count(t, transferred)["Overdue"] > 0 })
	waitFor(t, "warning of the waiting dispute", func() bool { return p.count(t, waiting)["DeadlineWarning"] > 0 })
	// Both replicas keep running for many scan intervals: still once each.
	time.Sleep(500 * time.Millisecond)
	got := p.count(t, transferred)
	if got["DeadlineWarning"] != 1 || got["Overdue"] != 1 {
		t.Fatalf("events of the transferred dispute: %v, want one DeadlineWarning and one Overdue", got)
	}
	if got := p.count(t, waiting); got["DeadlineWarning"] != 1 || got["Overdue"] != 0 {
		t.Fatalf("events of the waiting dispute: %v", got)
	}
	tr = p.tracking(t, a, transferred)
	if c := lastClock(tr); !c.GetWarned() || !c.GetOverdue() || c.GetRemainingWorkingDays() != -1 {
		t.Fatalf("receipt clock after its due time: %v", c)
	}

	// The return window has closed.
	_, err = b.client.ReturnTransfer(p.as(t, "hrss"), &routingv1.ReturnTransferRequest{Name: transferred, Reason: "不属本部门职责"})
	wantCode(t, err, codes.FailedPrecondition, "RETURN_WINDOW_CLOSED", "closed on 2026-02-26")

	// Exactly one replica leads; kill it as a crash would (its etcd client
	// gone, so it cannot resign: its lease must expire).
	var leader, other *replica
	waitFor(t, "one leader", func() bool {
		n := 0
		for _, r := range replicas {
			if r.leading(t) {
				leader, n = r, n+1
			}
		}
		return n == 1
	})
	other = a
	if leader == a {
		other = b
	}
	leader.etcd.Close()
	leader.kill()
	waitFor(t, "the other replica to lead", func() bool { return other.leading(t) })

	// The survivor raises the next clock's Overdue, once.
	p.clock.Set(cst(2026, 2, 28, 0, 0).Add(time.Second))
	waitFor(t, "Overdue of the waiting dispute", func() bool { return p.count(t, waiting)["Overdue"] > 0 })
	time.Sleep(300 * time.Millisecond)
	if got := p.count(t, waiting); got["DeadlineWarning"] != 1 || got["Overdue"] != 1 {
		t.Fatalf("events of the waiting dispute: %v, want one of each", got)
	}
}

// TestPauseAndExtension drives the handling clock through a pause and the
// one extension over gRPC, on the 2026 calendar from etcd.
func TestPauseAndExtension(t *testing.T) {
	p := newPlatform(t, cst(2026, 3, 2, 10, 0)) // Monday
	r := p.start(t, "solo")
	name := p.register(t, 7)
	p.tracking(t, r, name)
	resp, err := r.client.RouteDispute(p.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name,
		Kind: routingv1.RouteKind_ROUTE_KIND_SELF, Opinion: "本单位职责"})
	if err != nil {
		t.Fatal(err)
	}
	end := func(m time.Month, d int) time.Time { return cst(2026, m, d, 23, 59).Add(59 * time.Second) }
	// 2 Mar + 60 days = Fri 1 May, Labour Day (1-5 May): rolls to Wed 6 May.
	if due := lastClock(resp.GetTracking()).GetDueTime().AsTime(); !due.Equal(end(5, 6)) {
		t.Fatalf("handling due %s, want the end of 6 May", due.In(clock.China))
	}

	p.clock.Set(cst(2026, 3, 3, 10, 0))
	// hrss has no part in it: not found, as a dispute that does not exist.
	_, err = r.client.PauseClock(p.as(t, "hrss"), &routingv1.PauseClockRequest{Name: name, Reason: "x"})
	wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")
	_, err = r.client.PauseClock(p.as(t, "tax"), &routingv1.PauseClockRequest{Name: name})
	wantCode(t, err, codes.InvalidArgument, apierr.ReasonInvalidArgument, "")
	pr, err := r.client.PauseClock(p.as(t, "tax"), &routingv1.PauseClockRequest{Name: name, Reason: "等待申请人补充材料"})
	if err != nil {
		t.Fatal(err)
	}
	if ps := lastClock(pr.GetTracking()).GetPauses(); len(ps) != 1 || ps[0].GetReason() != "等待申请人补充材料" ||
		ps[0].GetActor().GetDepartment() != "tax" || ps[0].GetEndTime() != nil {
		t.Fatalf("pauses = %v", ps)
	}
	_, err = r.client.PauseClock(p.as(t, "tax"), &routingv1.PauseClockRequest{Name: name, Reason: "again"})
	wantCode(t, err, codes.FailedPrecondition, "CLOCK_ALREADY_PAUSED", "paused since 2026-03-03")

	// Resumed Fri 13 Mar: 4-13 Mar (10 days) given back: 2 Mar + 70 = Mon 11 May.
	p.clock.Set(cst(2026, 3, 13, 9, 0))
	rr, err := r.client.ResumeClock(p.as(t, "tax"), &routingv1.ResumeClockRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if due := lastClock(rr.GetTracking()).GetDueTime().AsTime(); !due.Equal(end(5, 11)) {
		t.Fatalf("due after the pause %s, want the end of 11 May", due.In(clock.China))
	}
	_, err = r.client.ResumeClock(p.as(t, "tax"), &routingv1.ResumeClockRequest{Name: name})
	wantCode(t, err, codes.FailedPrecondition, "CLOCK_NOT_PAUSED", "")

	// The one extension: at most 30 days, decided by the head of the handling unit.
	p.clock.Set(cst(2026, 4, 20, 9, 0))
	_, err = r.client.RequestExtension(p.as(t, "tax"), &routingv1.RequestExtensionRequest{Name: name, Days: 31, Reason: "复杂"})
	wantCode(t, err, codes.InvalidArgument, apierr.ReasonInvalidArgument, "")
	br := apierr.FieldViolations(err)
	if len(br) != 1 || br[0].Field != "days" {
		t.Fatalf("violations %v, want one on days", br)
	}
	if _, err := r.client.RequestExtension(p.as(t, "tax"), &routingv1.RequestExtensionRequest{Name: name, Days: 30, Reason: "需调取三年缴费记录"}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"tax", "office", "tax_false_head"} {
		_, err = r.client.DecideExtension(p.as(t, who), &routingv1.DecideExtensionRequest{Name: name, Approve: true})
		wantCode(t, err, codes.PermissionDenied, "", "")
	}
	if tr := p.tracking(t, r, name); tr.GetExtension().GetDecided() {
		t.Fatal("a refused decision was stored")
	}
	// Another unit's head may not read it: the answer of a dispute that does not exist.
	_, err = r.client.DecideExtension(p.as(t, "hrss_head"), &routingv1.DecideExtensionRequest{Name: name, Approve: true})
	wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")
	dr, err := r.client.DecideExtension(p.as(t, "tax_head"), &routingv1.DecideExtensionRequest{Name: name, Approve: true, Comment: "同意"})
	if err != nil {
		t.Fatal(err)
	}
	// 2 Mar + 60 + 10 + 30 days = Wed 10 Jun.
	c := lastClock(dr.GetTracking())
	if !c.GetDueTime().AsTime().Equal(end(6, 10)) || c.GetExtensionDays() != 30 || c.GetExtensionApprover().GetDepartment() != "tax" {
		t.Fatalf("handling clock after the extension: %v", c)
	}
	if e := dr.GetTracking().GetExtension(); !e.GetApproved() || e.GetDays() != 30 || e.GetDecidedBy().GetStaffId() != "wangxj" {
		t.Fatalf("extension = %v", e)
	}
	_, err = r.client.RequestExtension(p.as(t, "tax"), &routingv1.RequestExtensionRequest{Name: name, Days: 10, Reason: "再延"})
	wantCode(t, err, codes.FailedPrecondition, "EXTENSION_ALREADY_REQUESTED", "")
	_, err = r.client.DecideExtension(p.as(t, "tax_head"), &routingv1.DecideExtensionRequest{Name: name, Approve: true})
	wantCode(t, err, codes.FailedPrecondition, "EXTENSION_ALREADY_DECIDED", "")

	// The written reply opens the objection window (30 days, rolled
	// forward); the scanner closes the dispute once it has ended.
	p.clock.Set(cst(2026, 5, 20, 10, 0))
	rep, err := r.client.RecordReply(p.as(t, "tax"), &routingv1.RecordReplyRequest{Name: name, Outcome: "已重新核定滞纳金", Text: "经核查……"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.GetTracking().GetState() != typesv1.DisputeState_DISPUTE_STATE_REPLIED {
		t.Fatalf("after the reply: %v", rep.GetTracking().GetState())
	}
	// The reply names where to apply, from the region's legal data in etcd.
	if rs := rep.GetTracking().GetReply().GetRemedies(); len(rs) == 0 || rs[0].GetAuthority() != "国家税务总局吕梁市税务局" ||
		rs[1].GetAuthority() != "孝义市人民法院" || rep.GetTracking().GetReply().GetIssuer() != routingv1.ReplyIssuer_REPLY_ISSUER_HOLDER {
		t.Fatalf("reply names %v", rep.GetTracking().GetReply())
	}
	// Counted from the reply, the window would end with Mon 22 Jun (20 May
	// + 30 days = Fri 19 Jun, Dragon Boat Festival). The letter reached the
	// claimant by post on Mon 25 May: the window and the remedies count
	// from then.
	p.clock.Set(cst(2026, 5, 26, 9, 0))
	_, err = r.client.RecordDelivery(p.as(t, "hrss"), &routingv1.RecordDeliveryRequest{Name: name, Method: routingv1.DeliveryMethod_DELIVERY_METHOD_MAIL, DeliveryDate: "2026-05-25"})
	wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")
	_, err = r.client.RecordDelivery(p.as(t, "tax"), &routingv1.RecordDeliveryRequest{Name: name, Method: routingv1.DeliveryMethod_DELIVERY_METHOD_MAIL, DeliveryDate: "2026-05-27"})
	wantCode(t, err, codes.InvalidArgument, apierr.ReasonInvalidArgument, "")
	if br := apierr.FieldViolations(err); len(br) != 1 || br[0].Field != "delivery_date" {
		t.Fatalf("violations %v, want one on delivery_date", br)
	}
	dl, err := r.client.RecordDelivery(p.as(t, "tax"), &routingv1.RecordDeliveryRequest{Name: name, Method: routingv1.DeliveryMethod_DELIVERY_METHOD_MAIL, DeliveryDate: "2026-05-25", Recipient: "张三"})
	if err != nil {
		t.Fatal(err)
	}
	// 25 May + 60 days = Fri 24 Jul; + 6 months = Wed 25 Nov.
	rem := dl.GetTracking().GetReply().GetRemedies()
	if d := dl.GetTracking().GetReply().GetDelivery(); d.GetDeliveryDate() != "2026-05-25" || d.GetRecipient() != "张三" ||
		rem[0].GetLastDate() != "2026-07-24" || rem[1].GetLastDate() != "2026-11-25" || rem[0].GetAuthority() == "" {
		t.Fatalf("after the delivery: %v", dl.GetTracking().GetReply())
	}
	p.clock.Set(end(6, 22).Add(time.Second))
	time.Sleep(200 * time.Millisecond)
	if tr := p.tracking(t, r, name); tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_REPLIED {
		t.Fatalf("closed at the end of a window counted from the reply: %v", tr.GetState())
	}
	// 25 May + 30 days = Wed 24 Jun.
	p.clock.Set(end(6, 24))
	time.Sleep(200 * time.Millisecond)
	if tr := p.tracking(t, r, name); tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_REPLIED {
		t.Fatalf("closed on the last day of the window: %v", tr.GetState())
	}
	p.clock.Set(end(6, 24).Add(time.Second))
	waitFor(t, "closing at the end of the objection window", func() bool {
		return p.tracking(t, r, name).GetState() == typesv1.DisputeState_DISPUTE_STATE_CLOSED
	})
	if tr := p.tracking(t, r, name); tr.GetCloseCause() != "objection_window_ended" {
		t.Fatalf("close cause %q", tr.GetCloseCause())
	}

	got := p.count(t, name)
	for typ, n := range map[string]int{"ClockPaused": 1, "ClockResumed": 1, "ExtensionRequested": 1, "ExtensionDecided": 1, "DeliveryRecorded": 1, "DisputeClosed": 1} {
		if got[typ] != n {
			t.Fatalf("routing events %v, want %d %s", got, n, typ)
		}
	}
}
