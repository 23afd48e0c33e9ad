package grpcapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strconv"
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
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	"github.com/xiaoyi-disputes/disputes/platform/server"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
	"github.com/xiaoyi-disputes/disputes/routing/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/routing/internal/intakefeed"
	"github.com/xiaoyi-disputes/disputes/routing/internal/meetingfeed"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/timerules"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

const region = "141181"

// weekdays is a calendar with weekends as its only days off.
var weekdays = clock.Weekends()

type fixture struct {
	etcd   *clientv3.Client
	redis  *testenv.Redis
	rdb    redis.UniversalClient
	client routingv1.RoutingServiceClient
	tokens map[string]string
	// replica serves another routing process on the same Redis and roster,
	// without a consumer, and returns its client.
	replica func(t *testing.T) routingv1.RoutingServiceClient
}

// start runs routing as the process does: roster watcher on a real etcd,
// store and intake consumer on a real Redis, gRPC server with the policy.
func start(t *testing.T) *fixture {
	t.Helper()
	return startAt(t, time.Now)
}

// startAt is start with the service's clock at now.
func startAt(t *testing.T, now func() time.Time) *fixture {
	t.Helper()
	return startWith(t, now, nil)
}

// startWith is startAt with the time rules rules builds on the test's etcd
// (nil: the defaults on weekends only, in every region).
func startWith(t *testing.T, now func() time.Time, rules func(ctx context.Context, cli *clientv3.Client) tracker.Calendar) *fixture {
	t.Helper()
	rs := testenv.StartRedis(t)
	return startOn(t, rs, rs.Client(t), now, rules)
}

// startCluster is start on a Redis Cluster (f.redis is nil).
func startCluster(t *testing.T) *fixture {
	t.Helper()
	return startOn(t, nil, testenv.StartRedisCluster(t).Client(t), time.Now, nil)
}

// startOn is startWith on the Redis of rdb (rs, when a single server).
func startOn(t *testing.T, rs *testenv.Redis, rdb redis.UniversalClient, now func() time.Time,
	rules func(ctx context.Context, cli *clientv3.Client) tracker.Calendar) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cli := testenv.StartEtcd(t).Client(t)
	r, err := roster.LoadFile("../../../deploy/roster/141181.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := roster.Put(ctx, cli, r); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := roster.NewWatcher(cli, log, nil)
	go w.Run(ctx)
	select {
	case <-w.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("roster not loaded")
	}

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var cal tracker.Calendar = tracker.Everywhere(tracker.DefaultRules(weekdays))
	if rules != nil {
		cal = rules(ctx, cli)
	}
	// serve starts a routing server on st; it stops with the test.
	serve := func(t *testing.T, st *store.Store) *server.Server {
		srv, err := server.New(server.Config{Service: "routing", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
			ShutdownTimeout: 5 * time.Second, InsecurePlaintext: true}, log, grpcapi.Policy, authn.NewVerifier(pub))
		if err != nil {
			t.Fatal(err)
		}
		api := grpcapi.New(st, w, cal, now, log)
		if src, ok := cal.(*timerules.Source); ok {
			api.SetCalendars(src.Calendars)
		}
		routingv1.RegisterRoutingServiceServer(srv.GRPC(), api)
		return srv
	}
	dial := func(t *testing.T, addr string) routingv1.RoutingServiceClient {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return routingv1.NewRoutingServiceClient(conn)
	}
	st := store.New(rdb)
	srv := serve(t, st)
	routes := (&intakefeed.Feed{Calendar: cal, Now: now, Log: log, OfficeHost: func(region string) string {
		r, _ := w.Get(region)
		return roster.OfficeHost(r)
	}}).Routes(st)
	maps.Copy(routes, (&meetingfeed.Feed{Calendar: cal, Now: now, Log: log}).Routes(st))
	consumer := &events.Subscription{Redis: rdb, Group: intakefeed.Group, Name: "t", Log: log,
		Block: 100 * time.Millisecond, ClaimIdle: 200 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Sources: []string{"intake", meetingfeed.Service}, Regions: w.Regions, Routes: routes}

	st.AwaitMissing(func(ctx context.Context, region string) error {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return events.WaitConsumed(ctx, rdb, events.Stream("intake", region), intakefeed.Group, 0)
	})
	done := make(chan struct{}, 2)
	go func() { consumer.Run(ctx); done <- struct{}{} }()
	go func() { srv.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	f := &fixture{etcd: cli, redis: rs, rdb: rdb, client: dial(t, srv.Addr()), tokens: map[string]string{}}
	f.replica = func(t *testing.T) routingv1.RoutingServiceClient {
		srv := serve(t, store.New(rdb))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { srv.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return dial(t, srv.Addr())
	}
	for name, id := range map[string]authn.Identity{
		"tax":          {Region: region, Department: "tax", Staff: "li_na", Roles: []string{authn.RoleClerk}},
		"hrss":         {Region: region, Department: "hrss", Staff: "wang_fang", Roles: []string{authn.RoleHandler}},
		"finance":      {Region: region, Department: "finance", Staff: "zhao_lei", Roles: []string{authn.RoleHandler}},
		"office":       {Region: region, Department: "gov_office", Staff: "chen_jie", Roles: []string{authn.RoleOffice}},
		"office_host":  {Region: region, Department: "tax", Staff: "liu_min", Roles: []string{authn.RoleOffice}},
		"convenor":     {Region: region, Department: "gov_office", Staff: "vice_mayor", Roles: []string{authn.RoleConvenor}},
		"justice":      {Region: region, Department: "justice", Staff: "qian_yu", Roles: []string{authn.RoleHandler}},
		"plc":          {Region: region, Department: "plc", Staff: "zhou_tao", Roles: []string{authn.RolePlatform}},
		"petition":     {Region: region, Department: "petition", Staff: "wu_hao", Roles: []string{authn.RoleHandler}},
		"other_region": {Region: "110105", Department: "tax", Staff: "sun_li", Roles: []string{authn.RoleOffice}},
		// The tax bureau's head, who approves its extensions.
		"tax_head": {Region: region, Department: "tax", Staff: "wangxj", Roles: []string{authn.RoleHead}},
	} {
		tok, err := authn.Issue(priv, id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[name] = tok
	}
	return f
}

func (f *fixture) as(t *testing.T, who string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return authn.WithToken(ctx, f.tokens[who])
}

// publish writes an intake event into the intake stream the way intake does.
func (f *fixture) publish(t *testing.T, ev *eventv1.Event) {
	t.Helper()
	vals, err := events.Values(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: events.Stream("intake", region), Values: vals}).Err(); err != nil {
		t.Fatal(err)
	}
}

func registered(t *testing.T, n int, dept string) *eventv1.Event {
	t.Helper()
	name := fmt.Sprintf("regions/%s/disputes/2026-%d", region, n)
	now := time.Now()
	actor := &typesv1.Actor{Region: region, Department: dept, StaffId: "li_na", Roles: []typesv1.Role{typesv1.Role_ROLE_CLERK}}
	ev, err := events.New("intake", region, name, actor, "", &intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{
		Name: name, Number: fmt.Sprintf("2026年第%d号", n), RegisteringDepartment: dept, FirstReceiver: "li_na",
		Category: typesv1.Category_CATEGORY_LATE_FEE, Channel: typesv1.Channel_CHANNEL_WINDOW,
		Complaint: "滞纳金计算有误", RegisterTime: timestamppb.New(now),
	}}, now)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// waitTracking polls until the tracker of name satisfies ok.
func (f *fixture) waitTracking(t *testing.T, name string, ok func(*routingv1.Tracking) bool) *routingv1.Tracking {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := f.client.GetTracking(f.as(t, "office"), &routingv1.GetTrackingRequest{Name: name})
		if err == nil && ok(resp.GetTracking()) {
			return resp.GetTracking()
		}
		if err != nil && status.Code(err) != codes.NotFound {
			t.Fatalf("GetTracking %s: %v", name, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracking %s not as expected in time; last %v, %v", name, resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func exists(*routingv1.Tracking) bool { return true }

// routingEvents reads the routing stream's payload types for dispute name.
func (f *fixture) routingEvents(t *testing.T, name string) []string {
	t.Helper()
	msgs, err := f.rdb.XRange(context.Background(), events.Stream("routing", region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, m := range msgs {
		ev, err := events.Decode(m)
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetDispute() == name {
			types = append(types, strings.TrimPrefix(ev.GetType(), "disputes.routing.v1."))
		}
	}
	return types
}

// routingLifecycles returns "<type> <state> <version>" of each routing
// event about dispute name, from the Lifecycle it carries.
func (f *fixture) routingLifecycles(t *testing.T, name string) []string {
	t.Helper()
	msgs, err := f.rdb.XRange(context.Background(), events.Stream("routing", region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		ev, err := events.Decode(m)
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetDispute() == name {
			lc := ev.GetLifecycle()
			out = append(out, fmt.Sprintf("%s %s %d", strings.TrimPrefix(ev.GetType(), "disputes.routing.v1."),
				strings.TrimPrefix(lc.GetState().String(), "DISPUTE_STATE_"), lc.GetVersion()))
		}
	}
	return out
}

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

func TestRegisteredOpensTrackingOnce(t *testing.T) {
	f := start(t)
	ev := registered(t, 17, "tax")
	f.publish(t, ev)
	name := ev.GetDispute()
	tr := f.waitTracking(t, name, exists)

	if tr.GetNumber() != "2026年第17号" || tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_REGISTERED ||
		tr.GetHolder() != "tax" || tr.GetRegisteringDepartment() != "tax" || tr.GetFirstReceiver() != "li_na" ||
		tr.GetCategory() != typesv1.Category_CATEGORY_LATE_FEE {
		t.Fatalf("tracking = %v", tr)
	}
	reg := tr.GetClocks()[0].GetStartTime().AsTime()
	due := weekdays.AddCalendarDays(reg, 15)
	if len(tr.GetClocks()) != 1 || tr.GetClocks()[0].GetStage() != routingv1.Stage_STAGE_ROUTING ||
		tr.GetClocks()[0].GetRemainingWorkingDays() != weekdays.Remaining(time.Now(), due) {
		t.Fatalf("clocks = %v", tr.GetClocks())
	}
	if got := tr.GetClocks()[0].GetDueTime().AsTime(); !got.Equal(due) {
		t.Fatalf("due %v, want the end of the 15th day after %v", got, reg)
	}
	h := tr.GetHistory()
	if len(h) != 1 || h[0].GetFrom() != typesv1.DisputeState_DISPUTE_STATE_UNSPECIFIED || h[0].GetEventId() != ev.GetId() ||
		h[0].GetActor().GetDepartment() != "tax" {
		t.Fatalf("history = %v", h)
	}

	// Redelivery of the same event (same id), then a later event: once the
	// later one is applied the duplicate has been handled before it.
	f.publish(t, ev)
	later := registered(t, 18, "hrss")
	f.publish(t, later)
	f.waitTracking(t, later.GetDispute(), exists)
	tr = f.waitTracking(t, name, exists)
	if len(tr.GetHistory()) != 1 {
		t.Fatalf("history after redelivery = %v", tr.GetHistory())
	}
	if got := f.routingEvents(t, name); len(got) != 1 || got[0] != "TrackingOpened" {
		t.Fatalf("routing events = %v, want one TrackingOpened", got)
	}
}

func TestGetTrackingAuth(t *testing.T) {
	f := start(t)
	ev := registered(t, 5, "tax")
	f.publish(t, ev)
	f.waitTracking(t, ev.GetDispute(), exists)
	tests := []struct {
		who, name string
		code      codes.Code
		reason    string
	}{
		{"tax", ev.GetDispute(), codes.OK, ""},
		{"office", ev.GetDispute(), codes.OK, ""},
		{"finance", ev.GetDispute(), codes.NotFound, "TRACKING_NOT_FOUND"},
		{"hrss", ev.GetDispute(), codes.NotFound, "TRACKING_NOT_FOUND"},
		{"other_region", ev.GetDispute(), codes.PermissionDenied, "PERMISSION_DENIED"},
		{"office", "regions/141181/disputes/2026-999", codes.NotFound, "TRACKING_NOT_FOUND"},
		{"office", "regions/141181/disputes/x", codes.InvalidArgument, apierr.ReasonInvalidArgument},
		{"office", "regions/141181/disputes/2026-005", codes.InvalidArgument, apierr.ReasonInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.who+" "+tt.name, func(t *testing.T) {
			resp, err := f.client.GetTracking(f.as(t, tt.who), &routingv1.GetTrackingRequest{Name: tt.name})
			if tt.code == codes.OK {
				if err != nil || resp.GetTracking().GetName() != tt.name {
					t.Fatalf("GetTracking = %v, %v", resp, err)
				}
				return
			}
			wantCode(t, err, tt.code, tt.reason, "")
		})
	}
}

func TestTransferLifecycle(t *testing.T) {
	f := start(t)
	ev := registered(t, 21, "tax")
	f.publish(t, ev)
	name := ev.GetDispute()
	tr := f.waitTracking(t, name, exists)
	year := strconv.Itoa(time.Now().In(store.China).Year())

	transfer := &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER,
		TargetDepartment: "hrss", Opinion: "属人社部门职责", ReasonCode: "OTHER_DUTY"}

	// Refusals change nothing. hrss has no part yet: the dispute is not
	// found for it.
	_, err := f.client.RouteDispute(f.as(t, "hrss"), transfer)
	wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")
	bad := proto.Clone(transfer).(*routingv1.RouteDisputeRequest)
	bad.TargetDepartment = "police"
	_, err = f.client.RouteDispute(f.as(t, "tax"), bad)
	wantCode(t, err, codes.InvalidArgument, apierr.ReasonInvalidArgument, "target_department")
	stale := proto.Clone(transfer).(*routingv1.RouteDisputeRequest)
	stale.Etag = "99"
	_, err = f.client.RouteDispute(f.as(t, "tax"), stale)
	wantCode(t, err, codes.Aborted, "ETAG_MISMATCH", "")

	transfer.Etag = tr.GetEtag()
	resp, err := f.client.RouteDispute(f.as(t, "tax"), transfer)
	if err != nil {
		t.Fatal(err)
	}
	slip := resp.GetSlip()
	if slip.GetNumber() != year+"年第1号" || slip.GetName() != "regions/141181/transfer-slips/"+year+"-1" ||
		slip.GetReceivingDepartment() != "hrss" || slip.GetRegisteringDepartment() != "tax" || slip.GetRegisteringStaff() != "li_na" {
		t.Fatalf("slip = %v", slip)
	}
	tr = resp.GetTracking()
	if tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED || tr.GetHolder() != "hrss" || tr.GetRouteReasonCode() != "OTHER_DUTY" {
		t.Fatalf("after transfer: %v", tr)
	}
	if c := tr.GetClocks()[len(tr.GetClocks())-1]; c.GetStage() != routingv1.Stage_STAGE_TRANSFER_RECEIPT || c.GetRemainingWorkingDays() != 5 {
		t.Fatalf("clock after transfer = %v", c)
	}
	if tr.GetClocks()[0].GetStopTime() == nil {
		t.Fatal("routing clock still running after transfer")
	}

	// Illegal now: routing again names the state; the sender cannot receive.
	_, err = f.client.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_SELF, Opinion: "x"})
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_TRANSFERRED")
	_, err = f.client.ReceiveTransfer(f.as(t, "tax"), &routingv1.ReceiveTransferRequest{Name: name})
	wantCode(t, err, codes.PermissionDenied, "PERMISSION_DENIED", "")

	// First return: back to the registering department.
	ret, err := f.client.ReturnTransfer(f.as(t, "hrss"), &routingv1.ReturnTransferRequest{Name: name, Reason: "不属本部门职责"})
	if err != nil {
		t.Fatal(err)
	}
	if tr := ret.GetTracking(); tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_REGISTERED || tr.GetHolder() != "tax" || tr.GetReturnCount() != 1 {
		t.Fatalf("after return: %v", tr)
	}
	// hrss returned it without holding it, so it reads it no more: the
	// answer of a dispute that does not exist.
	_, err = f.client.GetTracking(f.as(t, "hrss"), &routingv1.GetTrackingRequest{Name: name})
	wantCode(t, err, codes.NotFound, "", "")

	// Second transfer gets the next slip number; second return goes to the office.
	transfer.Etag = ""
	resp, err = f.client.RouteDispute(f.as(t, "tax"), transfer)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetSlip().GetNumber() != year+"年第2号" {
		t.Fatalf("second slip = %v", resp.GetSlip())
	}
	ret, err = f.client.ReturnTransfer(f.as(t, "hrss"), &routingv1.ReturnTransferRequest{Name: name, Reason: "仍不属本部门职责"})
	if err != nil {
		t.Fatal(err)
	}
	if tr := ret.GetTracking(); tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE || tr.GetHolder() != "tax" || tr.GetReturnCount() != 2 {
		t.Fatalf("after second return: %v", tr)
	}
	want := []string{"TrackingOpened", "DisputeRouted", "TransferReturned", "DisputeRouted", "TransferReturned"}
	if got := f.routingEvents(t, name); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("routing events = %v, want %v", got, want)
	}
}

func TestReceiveAndWithdraw(t *testing.T) {
	f := start(t)
	ev := registered(t, 30, "tax")
	f.publish(t, ev)
	name := ev.GetDispute()
	f.waitTracking(t, name, exists)
	if _, err := f.client.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name,
		Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: "hrss", Opinion: "转人社"}); err != nil {
		t.Fatal(err)
	}
	resp, err := f.client.ReceiveTransfer(f.as(t, "hrss"), &routingv1.ReceiveTransferRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	tr := resp.GetTracking()
	slip := tr.GetTransferSlips()[0]
	if tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_HANDLING || slip.GetReceiver() != "wang_fang" || slip.GetReceiveTime() == nil {
		t.Fatalf("after receive: %v", tr)
	}
	if c := tr.GetClocks()[len(tr.GetClocks())-1]; c.GetStage() != routingv1.Stage_STAGE_HANDLING ||
		c.GetRemainingWorkingDays() != weekdays.Remaining(time.Now(), weekdays.AddCalendarDays(c.GetStartTime().AsTime(), 60)) {
		t.Fatalf("handling clock = %v", c)
	}
	_, err = f.client.ReturnTransfer(f.as(t, "hrss"), &routingv1.ReturnTransferRequest{Name: name, Reason: "晚了"})
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_HANDLING")

	wd, err := events.New("intake", region, name, ev.GetActor(), "", &intakev1.DisputeWithdrawn{Reason: "已协商解决"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.publish(t, wd)
	f.publish(t, wd)
	tr = f.waitTracking(t, name, func(tr *routingv1.Tracking) bool { return tr.GetState() == typesv1.DisputeState_DISPUTE_STATE_CLOSED })
	for _, c := range tr.GetClocks() {
		if c.GetStopTime() == nil {
			t.Fatalf("clock %v still running after withdrawal", c)
		}
	}
	if last := tr.GetHistory()[len(tr.GetHistory())-1]; last.GetReason() != "已协商解决" || last.GetFrom() != typesv1.DisputeState_DISPUTE_STATE_HANDLING {
		t.Fatalf("last transition = %v", last)
	}
	// The duplicate withdrawal was read before this registration is applied.
	later := registered(t, 31, "tax")
	f.publish(t, later)
	f.waitTracking(t, later.GetDispute(), exists)
	want := "TrackingOpened,DisputeRouted,TransferReceived,DisputeClosed"
	if got := strings.Join(f.routingEvents(t, name), ","); got != want {
		t.Fatalf("routing events = %s, want %s", got, want)
	}
	_, err = f.client.RouteDispute(f.as(t, "hrss"), &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE, Opinion: "x"})
	wantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "DISPUTE_STATE_CLOSED")
}

func TestConcurrentRoutingOneWins(t *testing.T) {
	t.Run("single", func(t *testing.T) { concurrentRouting(t, start(t)) })
	t.Run("cluster", func(t *testing.T) { concurrentRouting(t, startCluster(t)) })
}

func concurrentRouting(t *testing.T, f *fixture) {
	ev := registered(t, 40, "tax")
	f.publish(t, ev)
	name := ev.GetDispute()
	tr := f.waitTracking(t, name, exists)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req := &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_SELF, Opinion: "本单位职责"}
			if i%2 == 0 {
				req.Etag = tr.GetEtag()
			}
			_, errs[i] = f.client.RouteDispute(f.as(t, "tax"), req)
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch status.Code(err) {
		case codes.OK:
			wins++
		case codes.Aborted, codes.FailedPrecondition:
		default:
			t.Errorf("call %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d routings won, want exactly 1: %v", wins, errs)
	}
	tr = f.waitTracking(t, name, exists)
	if len(tr.GetHistory()) != 2 || tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_HANDLING {
		t.Fatalf("tracking after race = %v", tr)
	}
	if got := f.routingEvents(t, name); len(got) != 2 {
		t.Fatalf("routing events = %v, want TrackingOpened and one DisputeRouted", got)
	}
}

// Transfers of many disputes at once, some raced by a second transfer of
// the same dispute, number their slips 1..n with no gap and no repeat.
func TestConcurrentTransfersNumberSlipsWithoutGaps(t *testing.T) {
	t.Run("single", func(t *testing.T) { concurrentTransfers(t, start(t)) })
	t.Run("cluster", func(t *testing.T) { concurrentTransfers(t, startCluster(t)) })
}

func concurrentTransfers(t *testing.T, f *fixture) {
	const n = 30
	var disputes []string
	for i := range n {
		ev := registered(t, 300+i, "tax")
		f.publish(t, ev)
		disputes = append(disputes, ev.GetDispute())
	}
	for _, d := range disputes {
		f.waitTracking(t, d, exists)
	}
	var mu sync.Mutex
	numbers := map[string]string{}
	var wg sync.WaitGroup
	for i, d := range disputes {
		for try := range 1 + i%3 { // some disputes routed twice at once: one wins
			wg.Go(func() {
				resp, err := f.client.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{
					Name: d, Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: "hrss", Opinion: "属人社部门职责"})
				if status.Code(err) == codes.FailedPrecondition && try > 0 || status.Code(err) == codes.FailedPrecondition && i%3 > 0 {
					return // the other transfer of the same dispute won
				}
				if err != nil {
					t.Errorf("route %s: %v", d, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if prev, ok := numbers[resp.GetSlip().GetNumber()]; ok {
					t.Errorf("slip %s given to %s and %s", resp.GetSlip().GetNumber(), prev, d)
				}
				numbers[resp.GetSlip().GetNumber()] = d
			})
		}
	}
	wg.Wait()
	year := strconv.Itoa(time.Now().In(time.FixedZone("CST", 8*3600)).Year())
	for k := 1; k <= n; k++ {
		if _, ok := numbers[fmt.Sprintf("%s年第%d号", year, k)]; !ok {
			t.Errorf("slip number %d missing; numbers %v", k, numbers)
		}
	}
	if len(numbers) != n {
		t.Errorf("%d slips for %d disputes", len(numbers), n)
	}
}

// A call naming a dispute intake has just registered succeeds without the
// client retrying: routing waits for its consumer to apply intake's events.
func TestRouteRightAfterRegistration(t *testing.T) {
	f := start(t)
	for n := 1; n <= 20; n++ {
		ev := registered(t, 700+n, "tax")
		f.publish(t, ev)
		// No wait for the tracker: the call must find it.
		_, err := f.client.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{
			Name: ev.GetDispute(), Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: "hrss", Opinion: "属人社部门职责",
		})
		if err != nil {
			t.Fatalf("route %s right after its registration: %v", ev.GetDispute(), err)
		}
	}
	// A dispute nobody registered is still not found, once routing has
	// caught up.
	_, err := f.client.GetTracking(f.as(t, "office"), &routingv1.GetTrackingRequest{Name: "regions/141181/disputes/2026-999"})
	wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")
}

// TestRedisDown checks that a stopped Redis is UNAVAILABLE with reason
// BACKEND_UNAVAILABLE and a fixed message, never the backend's error.
func TestRedisDown(t *testing.T) {
	f := start(t)
	ev := registered(t, 5, "tax")
	f.publish(t, ev)
	f.waitTracking(t, ev.GetDispute(), exists)

	f.redis.Kill()
	_, err := f.client.GetTracking(f.as(t, "office"), &routingv1.GetTrackingRequest{Name: ev.GetDispute()})
	f.redis.Restart(t)
	wantCode(t, err, codes.Unavailable, apierr.ReasonBackendUnavailable, "")
	if msg := status.Convert(err).Message(); msg != apierr.MsgBackendUnavailable {
		t.Errorf("message = %q, want %q", msg, apierr.MsgBackendUnavailable)
	}
}
