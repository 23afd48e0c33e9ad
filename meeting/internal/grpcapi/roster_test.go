package grpcapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/rosterfeed"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	"github.com/xiaoyi-disputes/disputes/platform/server"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

const region = "141181"

type fixture struct {
	etcd    *testenv.Etcd
	cli     *clientv3.Client
	redis   *testenv.Redis
	rdb     redis.UniversalClient
	priv    ed25519.PrivateKey
	roster  rosterv1.RosterServiceClient
	meeting meetingv1.MeetingServiceClient
	watcher *roster.Watcher
	feed    *rosterfeed.Feed
	// versions counts, per dispute, the versions of routing's account
	// published by the test.
	versions map[string]int64
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func seed(t *testing.T) *rosterv1.Roster {
	t.Helper()
	r, err := roster.LoadFile("../../../deploy/roster/141181.json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// start runs the meeting service's gRPC API on 127.0.0.1:0 over real etcd
// (seeded with the 141181 roster) and Redis.
func start(t *testing.T) *fixture {
	t.Helper()
	return startOn(t, false)
}

// startOn is start on a Redis Cluster when cluster is true (f.redis nil).
func startOn(t *testing.T, cluster bool) *fixture {
	t.Helper()
	f := &fixture{etcd: testenv.StartEtcd(t)}
	f.cli = f.etcd.Client(t)
	if cluster {
		f.rdb = testenv.StartRedisCluster(t).Client(t)
	} else {
		f.redis = testenv.StartRedis(t)
		f.rdb = f.redis.Client(t)
	}
	if err := roster.Put(testCtx(t), f.cli, seed(t)); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.priv = priv
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Config{
		Service: "meeting", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
		InsecurePlaintext: true, // the handlers are under test; TLS is platform/server's
	}, log, Policy, authn.NewVerifier(pub))
	if err != nil {
		t.Fatal(err)
	}
	f.watcher = roster.NewWatcher(f.etcd.Client(t), log, nil)
	f.feed = &rosterfeed.Feed{Etcd: f.cli, Store: store.New(f.rdb), Regions: f.watcher.Regions, Log: log}
	st := store.New(f.rdb)
	st.AwaitRouting(func(ctx context.Context, region string) error {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return events.WaitConsumed(ctx, f.rdb, events.Stream("routing", region), "meeting", 0)
	})
	Register(srv.GRPC(), NewRosterServer(f.cli, f.watcher, f.feed, log), NewMeetingServer(st, f.watcher, time.Now, log))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { srv.Run(ctx); done <- struct{}{} }()
	go func() { f.watcher.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	select {
	case <-f.watcher.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("roster watcher did not load")
	}

	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f.roster = rosterv1.NewRosterServiceClient(conn)
	f.meeting = meetingv1.NewMeetingServiceClient(conn)
	return f
}

// as returns ctx carrying a token for staff of dept in region with roles.
func (f *fixture) as(t *testing.T, region, dept string, roles ...string) context.Context {
	t.Helper()
	tok, err := authn.Issue(f.priv, authn.Identity{Region: region, Department: dept, Staff: "wang", Roles: roles}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return authn.WithToken(testCtx(t), tok)
}

func (f *fixture) get(t *testing.T) *rosterv1.Roster {
	t.Helper()
	resp, err := f.roster.GetRoster(f.as(t, region, "tax", authn.RoleAdmin), &rosterv1.GetRosterRequest{Name: roster.Name(region)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStale() {
		t.Fatal("GetRoster stale with etcd up")
	}
	return resp.GetRoster()
}

func fields(err error) []string {
	var out []string
	for _, v := range apierr.FieldViolations(err) {
		out = append(out, v.Field)
	}
	return out
}

func TestUpdateRosterAddsUnitAndAnnounces(t *testing.T) {
	f := start(t)
	cur := f.get(t)
	upd := proto.Clone(cur).(*rosterv1.Roster)
	upd.Units = append(upd.Units, &rosterv1.MemberUnit{Id: "market", Name: "市市场监管局", Duties: []string{"协助处理"}})

	resp, err := f.roster.UpdateRoster(f.as(t, region, "tax", authn.RoleAdmin), &rosterv1.UpdateRosterRequest{
		Roster:     upd,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"units"}},
		Reason:     "联席会议决定市场监管局加入",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetRoster()
	if got.GetEtag() == cur.GetEtag() || got.GetEtag() == "" {
		t.Errorf("etag %q after update, was %q", got.GetEtag(), cur.GetEtag())
	}
	if u, ok := roster.FindUnit(got, "market"); !ok || u.GetName() != "市市场监管局" {
		t.Errorf("new unit missing from response: %v", got.GetUnits())
	}
	if again := f.get(t); !proto.Equal(again, got) {
		t.Errorf("GetRoster after update differs from the UpdateRoster response:\n%v\n%v", again, got)
	}

	msgs, err := f.rdb.XRange(testCtx(t), events.Stream("meeting", region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d events in the meeting stream, want 1", len(msgs))
	}
	ev, err := events.Decode(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	payload, err := events.Payload[*rosterv1.RosterUpdated](ev)
	if err != nil {
		t.Fatal(err)
	}
	want := &rosterv1.RosterUpdated{Fields: []string{"units"}, OldEtag: cur.GetEtag(), NewEtag: got.GetEtag(), UnitsAdded: []string{"market"}}
	if diff := cmp.Diff(want, payload, protocmp.Transform()); diff != "" {
		t.Errorf("RosterUpdated (-want +got):\n%s", diff)
	}
	if ev.GetReason() != "联席会议决定市场监管局加入" || ev.GetActor().GetDepartment() != "tax" || ev.GetRegion() != region {
		t.Errorf("event envelope: %v", ev)
	}

	// The sweep finds the change already announced and adds nothing.
	if err := f.feed.Sweep(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.rdb.XLen(testCtx(t), events.Stream("meeting", region)).Result(); n != 1 {
		t.Errorf("%d events after sweep, want 1", n)
	}
}

func TestUpdateRosterStaffAnnounced(t *testing.T) {
	f := start(t)
	cur := f.get(t)
	upd := proto.Clone(cur).(*rosterv1.Roster)
	fin, _ := roster.FindUnit(upd, "finance")
	fin.Staff = append(fin.Staff, &rosterv1.StaffMember{Id: "qiao", DisplayName: "乔玉兰", Roles: []string{"handler"}})
	resp, err := f.roster.UpdateRoster(f.as(t, region, "tax", authn.RoleAdmin), &rosterv1.UpdateRosterRequest{
		Roster: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"units"}}, Reason: "财政局新增经办人员",
	})
	if err != nil {
		t.Fatal(err)
	}
	if u, p, ok := roster.FindStaff(resp.GetRoster(), "qiao"); !ok || u.GetId() != "finance" || p.GetDisplayName() != "乔玉兰" {
		t.Fatalf("new staff not in the stored roster: %v %v %v", u, p, ok)
	}
	msgs, err := f.rdb.XRange(testCtx(t), events.Stream("meeting", region), "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("meeting stream: %d events, %v", len(msgs), err)
	}
	ev, err := events.Decode(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	payload, err := events.Payload[*rosterv1.RosterUpdated](ev)
	if err != nil {
		t.Fatal(err)
	}
	want := &rosterv1.RosterUpdated{Fields: []string{"units"}, OldEtag: cur.GetEtag(), NewEtag: resp.GetRoster().GetEtag(),
		StaffAdded: []string{"finance/qiao"}}
	if diff := cmp.Diff(want, payload, protocmp.Transform()); diff != "" {
		t.Errorf("RosterUpdated (-want +got):\n%s", diff)
	}
}

func TestSweepAnnouncesMissedChange(t *testing.T) {
	f := start(t)
	cur := f.get(t)
	// A change made straight through the roster package (another meeting
	// process whose announcement failed) is announced by the sweep.
	upd := proto.Clone(cur).(*rosterv1.Roster)
	upd.RegionName = "孝义市（县级市）"
	if _, err := roster.Store(testCtx(t), f.cli, region, upd, []string{roster.FieldRegionName}, cur.GetEtag(),
		&roster.ChangeRecord{Actor: "141181/tax/li", Roles: []string{authn.RoleAdmin}, Reason: "更名"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f.feed.Sweep(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := f.rdb.XRange(testCtx(t), events.Stream("meeting", region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d events, want 1", len(msgs))
	}
	ev, err := events.Decode(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetActor().GetStaffId() != "li" || ev.GetReason() != "更名" {
		t.Errorf("event: %v", ev)
	}
}

func TestUpdateRosterErrors(t *testing.T) {
	f := start(t)
	cur := f.get(t)
	admin := func() context.Context { return f.as(t, region, "tax", authn.RoleAdmin) }
	withUnit := func(u *rosterv1.MemberUnit) *rosterv1.Roster {
		r := proto.Clone(cur).(*rosterv1.Roster)
		r.Units = append(r.Units, u)
		return r
	}
	stale := proto.Clone(cur).(*rosterv1.Roster)
	stale.Etag = "1"
	noEtag := proto.Clone(cur).(*rosterv1.Roster)
	noEtag.Etag = ""
	badHost := proto.Clone(cur).(*rosterv1.Roster)
	badHost.Leadership.OfficeHostUnit = "nobody"

	tests := []struct {
		name       string
		ctx        context.Context
		req        *rosterv1.UpdateRosterRequest
		code       codes.Code
		reason     string
		wantFields []string
	}{
		{
			name: "clerk may not update",
			ctx:  f.as(t, region, "tax", authn.RoleClerk),
			req:  &rosterv1.UpdateRosterRequest{Roster: cur, Reason: "x"},
			code: codes.PermissionDenied,
		},
		{
			name:   "admin of another region",
			ctx:    f.as(t, "140100", "tax", authn.RoleAdmin),
			req:    &rosterv1.UpdateRosterRequest{Roster: cur, Reason: "x"},
			code:   codes.PermissionDenied,
			reason: ReasonRegionMismatch,
		},
		{
			name:       "bad unit id",
			ctx:        admin(),
			req:        &rosterv1.UpdateRosterRequest{Roster: withUnit(&rosterv1.MemberUnit{Id: "Bad Id", Name: "坏"}), Reason: "x"},
			code:       codes.InvalidArgument,
			reason:     apierr.ReasonInvalidArgument,
			wantFields: []string{"roster.units[8].id"},
		},
		{
			name:       "duplicate unit id",
			ctx:        admin(),
			req:        &rosterv1.UpdateRosterRequest{Roster: withUnit(&rosterv1.MemberUnit{Id: "tax", Name: "又一个税务局"}), Reason: "x"},
			code:       codes.InvalidArgument,
			reason:     apierr.ReasonInvalidArgument,
			wantFields: []string{"roster.units[8].id"},
		},
		{
			name: "staff id used in another unit",
			ctx:  admin(),
			req: &rosterv1.UpdateRosterRequest{Roster: withUnit(&rosterv1.MemberUnit{Id: "market", Name: "市市场监管局",
				Staff: []*rosterv1.StaffMember{{Id: "wang", DisplayName: "王伟", Roles: []string{"handler"}}}}), Reason: "x"},
			code:       codes.InvalidArgument,
			reason:     apierr.ReasonInvalidArgument,
			wantFields: []string{"roster.units[8].staff[0].id"},
		},
		{
			name: "blank staff name",
			ctx:  admin(),
			req: &rosterv1.UpdateRosterRequest{Roster: withUnit(&rosterv1.MemberUnit{Id: "market", Name: "市市场监管局",
				Staff: []*rosterv1.StaffMember{{Id: "ma", DisplayName: "  ", Roles: []string{"clerk"}}}}), Reason: "x"},
			code:       codes.InvalidArgument,
			reason:     apierr.ReasonInvalidArgument,
			wantFields: []string{"roster.units[8].staff[0].display_name"},
		},
		{
			name:       "office host refers to nothing",
			ctx:        admin(),
			req:        &rosterv1.UpdateRosterRequest{Roster: badHost, Reason: "x"},
			code:       codes.InvalidArgument,
			reason:     apierr.ReasonInvalidArgument,
			wantFields: []string{"roster.leadership.office_host_unit"},
		},
		{
			name:   "stale etag",
			ctx:    admin(),
			req:    &rosterv1.UpdateRosterRequest{Roster: stale, Reason: "x"},
			code:   codes.Aborted,
			reason: ReasonEtagMismatch,
		},
		{
			name:       "missing etag",
			ctx:        admin(),
			req:        &rosterv1.UpdateRosterRequest{Roster: noEtag, Reason: "x"},
			code:       codes.InvalidArgument,
			reason:     apierr.ReasonInvalidArgument,
			wantFields: []string{"roster.etag"},
		},
		{
			name:       "unknown mask path",
			ctx:        admin(),
			req:        &rosterv1.UpdateRosterRequest{Roster: cur, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"etag"}}, Reason: "x"},
			code:       codes.InvalidArgument,
			reason:     apierr.ReasonInvalidArgument,
			wantFields: []string{"update_mask"},
		},
		{
			name:       "missing reason",
			ctx:        admin(),
			req:        &rosterv1.UpdateRosterRequest{Roster: cur},
			code:       codes.InvalidArgument,
			reason:     apierr.ReasonInvalidArgument,
			wantFields: []string{"reason"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.roster.UpdateRoster(tt.ctx, tt.req)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code %v (%v), want %v", got, err, tt.code)
			}
			if tt.reason != "" && apierr.Reason(err) != tt.reason {
				t.Errorf("reason %q, want %q", apierr.Reason(err), tt.reason)
			}
			if tt.wantFields != nil {
				if diff := cmp.Diff(tt.wantFields, fields(err)); diff != "" {
					t.Errorf("violation fields (-want +got):\n%s (%v)", diff, err)
				}
			}
		})
	}

	// Nothing above changed the roster, and nothing was announced.
	if after := f.get(t); !proto.Equal(withoutEtag(after), withoutEtag(cur)) {
		t.Error("a refused update changed the roster")
	}
	if n, _ := f.rdb.XLen(testCtx(t), events.Stream("meeting", region)).Result(); n != 0 {
		t.Errorf("%d events after refused updates", n)
	}
}

func withoutEtag(r *rosterv1.Roster) *rosterv1.Roster {
	c := proto.Clone(r).(*rosterv1.Roster)
	c.Etag = ""
	return c
}

func TestGetRosterAccess(t *testing.T) {
	f := start(t)
	tests := []struct {
		name string
		ctx  context.Context
		code codes.Code
	}{
		{"clerk of the region", f.as(t, region, "hrss", authn.RoleClerk), codes.OK},
		{"convenor of the region", f.as(t, region, "gov_office", authn.RoleConvenor), codes.OK},
		{"head of the region", f.as(t, region, "tax", authn.RoleHead), codes.OK},
		{"clerk of another region", f.as(t, "140100", "hrss", authn.RoleClerk), codes.PermissionDenied},
		{"no token", testCtx(t), codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.roster.GetRoster(tt.ctx, &rosterv1.GetRosterRequest{Name: roster.Name(region)})
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code %v (%v), want %v", got, err, tt.code)
			}
			if err == nil && !roster.IsIntakePoint(resp.GetRoster(), "tax") {
				t.Errorf("roster without the tax intake point: %v", resp.GetRoster())
			}
		})
	}
}

func TestGetRosterStaleWhenEtcdDown(t *testing.T) {
	f := start(t)
	want := f.get(t)
	f.etcd.Stop()
	resp, err := f.roster.GetRoster(f.as(t, region, "tax", authn.RoleClerk), &rosterv1.GetRosterRequest{Name: roster.Name(region)})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetStale() {
		t.Error("stale = false with etcd down")
	}
	if diff := cmp.Diff(want, resp.GetRoster(), protocmp.Transform()); diff != "" {
		t.Errorf("stale roster (-want +got):\n%s", diff)
	}
}

func TestMeetingMethodsHavePolicy(t *testing.T) {
	for _, sd := range []grpc.ServiceDesc{rosterv1.RosterService_ServiceDesc, meetingv1.MeetingService_ServiceDesc} {
		for _, m := range sd.Methods {
			full := "/" + sd.ServiceName + "/" + m.MethodName
			if r, ok := Policy[full]; !ok || len(r.AnyRole) == 0 || r.Public {
				t.Errorf("%s: no role rule in Policy", full)
			}
		}
	}
	f := start(t)
	_, err := f.meeting.TriageMatter(f.as(t, region, "tax", authn.RoleOffice), &meetingv1.TriageMatterRequest{})
	if c := status.Code(err); c != codes.InvalidArgument {
		t.Errorf("TriageMatter without a name: %v, want INVALID_ARGUMENT", err)
	}
	_, err = f.meeting.TriageMatter(f.as(t, region, "tax", authn.RoleClerk), &meetingv1.TriageMatterRequest{})
	if c := status.Code(err); c != codes.PermissionDenied {
		t.Errorf("TriageMatter as clerk: %v, want PERMISSION_DENIED", err)
	}
}
