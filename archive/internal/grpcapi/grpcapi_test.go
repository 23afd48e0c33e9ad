package grpcapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/archive/internal/feed"
	"github.com/xiaoyi-disputes/disputes/archive/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealing"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/server"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

const region = "141181"

type fixture struct {
	redis  *testenv.Redis
	rdb    *redis.Client
	st     *store.Store
	sealed *sealedlog.Log
	// logPub verifies the checkpoints.
	logPub ed25519.PublicKey
	client archivev1.ArchiveServiceClient
	tokens map[string]string
}

// start runs the archive's server and consumer on a real Redis, reading the
// streams of region.
func start(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rs := testenv.StartRedis(t)
	rdb := rs.Client(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Service: "archive", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		ShutdownTimeout: 5 * time.Second, InsecurePlaintext: true}, log, grpcapi.Policy, authn.NewVerifier(pub))
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(rdb)
	logPub, logKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealedlog.Open(t.TempDir(), logKey, log, sealedlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sealed.Close() })
	archivev1.RegisterArchiveServiceServer(srv.GRPC(), grpcapi.New(st, sealed, log))
	regions := func() []string { return []string{region} }
	sealer := &sealing.Sealer{Store: st, Log: sealed, Interval: 20 * time.Millisecond, Logger: log, Regions: regions,
		Redis: rdb, Group: feed.Group, Sources: feed.Sources}
	consumer := &events.Subscription{Redis: rdb, Group: feed.Group, Name: "t", Default: feed.Handler(st), Log: log,
		Block: 100 * time.Millisecond, Sources: feed.Sources, Regions: regions, CounterLog: store.StatsLogKey}
	done := make(chan struct{}, 3)
	go func() { consumer.Run(ctx); done <- struct{}{} }()
	go func() { srv.Run(ctx); done <- struct{}{} }()
	go func() { sealer.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; <-done })

	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fx := &fixture{redis: rs, rdb: rdb, st: st, sealed: sealed, logPub: logPub, client: archivev1.NewArchiveServiceClient(conn), tokens: map[string]string{}}
	for name, id := range map[string]authn.Identity{
		"tax":          {Region: region, Department: "tax", Staff: "li_na", Roles: []string{authn.RoleClerk}},
		"hrss":         {Region: region, Department: "hrss", Staff: "wang_fang", Roles: []string{authn.RoleHandler}},
		"justice":      {Region: region, Department: "justice", Staff: "qian_yu", Roles: []string{authn.RoleHandler}},
		"finance":      {Region: region, Department: "finance", Staff: "zhao_lei", Roles: []string{authn.RoleHandler}},
		"office":       {Region: region, Department: "gov_office", Staff: "chen_jie", Roles: []string{authn.RoleOffice}},
		"platform":     {Region: region, Department: "plc", Staff: "hao", Roles: []string{authn.RolePlatform}},
		"other_region": {Region: "110105", Department: "tax", Staff: "sun_li", Roles: []string{authn.RoleConvenor}},
	} {
		tok, err := authn.Issue(priv, id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		fx.tokens[name] = tok
	}
	return fx
}

func (f *fixture) as(t *testing.T, who string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return authn.WithToken(ctx, f.tokens[who])
}

func (f *fixture) publish(t *testing.T, svc string, ev *eventv1.Event) {
	t.Helper()
	vals, err := events.Values(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: events.Stream(svc, region), Values: vals}).Err(); err != nil {
		t.Fatal(err)
	}
}

var actor = &typesv1.Actor{Region: region, Department: "tax", StaffId: "li_na"}

func event(t *testing.T, source, dispute string, p proto.Message, at time.Time) *eventv1.Event {
	t.Helper()
	ev, err := events.New(source, region, dispute, actor, "", p, at)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// routed gives ev routing's account of its dispute: state s at version v,
// readable by readers.
func routed(ev *eventv1.Event, s typesv1.DisputeState, v int64, readers ...string) *eventv1.Event {
	ev.Lifecycle = &eventv1.Lifecycle{State: s, Version: v, Readers: readers}
	return ev
}

func name(n int) string { return fmt.Sprintf("regions/%s/disputes/2026-%d", region, n) }

func registered(t *testing.T, n int, dept string, cat typesv1.Category, at time.Time) *eventv1.Event {
	return event(t, "intake", name(n), &intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{
		RegisteringDepartment: dept, Category: cat, Channel: typesv1.Channel_CHANNEL_WINDOW,
		RegisterTime: timestamppb.New(at), Complaint: "x",
	}}, at)
}

// waitDossier polls as the office until the dossier holds n events.
func (f *fixture) waitDossier(t *testing.T, dispute string, n int) *archivev1.Dossier {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := f.client.GetDossier(f.as(t, "office"), &archivev1.GetDossierRequest{Name: dispute})
		if err == nil && len(resp.GetDossier().GetEvents()) >= n {
			return resp.GetDossier()
		}
		if err != nil && status.Code(err) != codes.NotFound {
			t.Fatalf("GetDossier: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("dossier %s has not %d events in time: %v %v", dispute, n, resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ids(evs []*eventv1.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.GetId())
	}
	return out
}

func TestDossierFromAllStreams(t *testing.T) {
	f := start(t)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	d := name(17)
	reg := registered(t, 17, "tax", typesv1.Category_CATEGORY_LATE_FEE, t0)
	opened := routed(event(t, "routing", d, &routingv1.TrackingOpened{Tracking: &routingv1.Tracking{
		Name: d, Number: "2026年第17号", State: typesv1.DisputeState_DISPUTE_STATE_REGISTERED, Holder: "tax", RegisteringDepartment: "tax"}}, t0.Add(time.Second)),
		typesv1.DisputeState_DISPUTE_STATE_REGISTERED, 1, "tax")
	toOffice := routed(event(t, "routing", d, &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE,
		State: typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE}, t0.Add(time.Minute)), typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE, 2, "tax")
	// The meeting names its agenda, not one dispute on the envelope.
	convened := event(t, "meeting", "", &meetingv1.MeetingConvened{Meeting: &meetingv1.Meeting{
		Name: "regions/141181/meetings/1", Disputes: []string{d}, InvitedUnits: []string{"hrss", "justice"}}}, t0.Add(time.Hour))
	triaged := event(t, "meeting", d, &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}, t0.Add(30*time.Minute))
	// Routing applies the triage and publishes it with the new state.
	applied := routed(event(t, "routing", d, &routingv1.DisputeTriaged{SourceEventId: triaged.GetId()}, t0.Add(31*time.Minute)),
		typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING, 3, "tax")
	rosterChange := event(t, "meeting", "", &rosterv1.RosterUpdated{Fields: []string{"units"}}, t0)

	// Published out of time order across streams; the dossier is in time order.
	f.publish(t, "meeting", convened)
	f.publish(t, "meeting", rosterChange)
	f.publish(t, "routing", applied)
	f.publish(t, "routing", toOffice)
	f.publish(t, "meeting", triaged)
	f.publish(t, "intake", reg)
	f.publish(t, "routing", opened)

	got := f.waitDossier(t, d, 6)
	want := []string{reg.GetId(), opened.GetId(), toOffice.GetId(), triaged.GetId(), applied.GetId(), convened.GetId()}
	if diff := cmp.Diff(want, ids(got.GetEvents())); diff != "" {
		t.Fatalf("event order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(convened, got.GetEvents()[5], protocmp.Transform()); diff != "" {
		t.Fatalf("stored event (-want +got):\n%s", diff)
	}
	got.Events = nil
	// The state is routing's newest account, though older ones were
	// applied after it; who may read is routing's readers.
	wantMeta := &archivev1.Dossier{Name: d, Number: "2026年第17号", State: typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING,
		RegisteringDepartment: "tax", Category: typesv1.Category_CATEGORY_LATE_FEE, RegisterTime: timestamppb.New(t0),
		Departments: []string{"tax"}, Version: 3}
	if diff := cmp.Diff(wantMeta, got, protocmp.Transform()); diff != "" {
		t.Fatalf("dossier (-want +got):\n%s", diff)
	}
	log, err := f.st.Log(context.Background(), region)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].GetId() != rosterChange.GetId() {
		t.Fatalf("region log = %v", ids(log))
	}

	// Redelivery: the same event again, then a sentinel later in the same stream.
	f.publish(t, "routing", toOffice)
	closed := routed(event(t, "routing", d, &routingv1.DisputeClosed{Cause: "withdrawn"}, t0.Add(2*time.Hour)),
		typesv1.DisputeState_DISPUTE_STATE_CLOSED, 4, "tax")
	f.publish(t, "routing", closed)
	got = f.waitDossier(t, d, 7)
	if diff := cmp.Diff(append(want, closed.GetId()), ids(got.GetEvents())); diff != "" {
		t.Fatalf("after redelivery (-want +got):\n%s", diff)
	}
	if got.GetState() != typesv1.DisputeState_DISPUTE_STATE_CLOSED {
		t.Fatalf("state = %v, want CLOSED", got.GetState())
	}
}

func TestPoisonEntryIsParked(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	stream := events.Stream("intake", region)
	if err := f.rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"id": "x", "type": "y", "event": "\xff\xfe not a proto"}}).Err(); err != nil {
		t.Fatal(err)
	}
	reg := registered(t, 3, "hrss", typesv1.Category_CATEGORY_BENEFITS, time.Now())
	f.publish(t, "intake", reg)
	f.waitDossier(t, reg.GetDispute(), 1)
	parked, err := f.rdb.XRange(ctx, events.ParkedStream(stream, feed.Group), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 1 || parked[0].Values["orig_id"] != "x" {
		t.Fatalf("parked = %v", parked)
	}
}

func TestAccess(t *testing.T) {
	f := start(t)
	t0 := time.Now().Add(-time.Hour)
	// 1: tax registered, transferred to hrss. 2: justice registered, at office.
	f.publish(t, "intake", registered(t, 1, "tax", typesv1.Category_CATEGORY_LATE_FEE, t0))
	f.publish(t, "routing", routed(event(t, "routing", name(1), &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER,
		TargetDepartment: "hrss", State: typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED}, t0.Add(time.Minute)),
		typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED, 2, "tax", "hrss"))
	f.publish(t, "intake", registered(t, 2, "justice", typesv1.Category_CATEGORY_BENEFITS, t0.Add(time.Second)))
	// The request field names finance, but routing's readers decide.
	f.publish(t, "routing", routed(event(t, "routing", name(2), &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE,
		TargetDepartment: "finance", State: typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE}, t0.Add(2*time.Minute)),
		typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE, 2, "justice", "tax"))
	f.waitDossier(t, name(1), 2)
	f.waitDossier(t, name(2), 2)

	t.Run("GetDossier", func(t *testing.T) {
		tests := []struct {
			who, name string
			code      codes.Code
			reason    string
		}{
			{"tax", name(1), codes.OK, ""},
			{"hrss", name(1), codes.OK, ""},
			{"office", name(1), codes.OK, ""},
			{"finance", name(1), codes.NotFound, "DOSSIER_NOT_FOUND"},
			{"justice", name(1), codes.NotFound, "DOSSIER_NOT_FOUND"},
			{"finance", name(2), codes.NotFound, "DOSSIER_NOT_FOUND"},
			{"other_region", name(1), codes.PermissionDenied, "PERMISSION_DENIED"},
			{"office", name(99), codes.NotFound, "DOSSIER_NOT_FOUND"},
			{"office", "regions/141181/disputes/x", codes.InvalidArgument, apierr.ReasonInvalidArgument},
			{"office", "regions/141181/disputes/2026-01", codes.InvalidArgument, apierr.ReasonInvalidArgument},
		}
		for _, tt := range tests {
			t.Run(tt.who+" "+tt.name, func(t *testing.T) {
				resp, err := f.client.GetDossier(f.as(t, tt.who), &archivev1.GetDossierRequest{Name: tt.name})
				if status.Code(err) != tt.code || apierr.Reason(err) != tt.reason {
					t.Fatalf("err = %v (reason %q), want %v %q", err, apierr.Reason(err), tt.code, tt.reason)
				}
				if tt.code == codes.OK && resp.GetDossier().GetName() != tt.name {
					t.Fatalf("dossier = %v", resp.GetDossier())
				}
			})
		}
	})

	t.Run("SearchDossiers", func(t *testing.T) {
		tests := []struct {
			who   string
			req   *archivev1.SearchDossiersRequest
			want  []string
			code  codes.Code
			token bool
		}{
			{who: "office", req: &archivev1.SearchDossiersRequest{Parent: "regions/141181"}, want: []string{name(2), name(1)}},
			{who: "office", req: &archivev1.SearchDossiersRequest{Parent: "regions/141181", PageSize: 1}, want: []string{name(2)}, token: true},
			{who: "office", req: &archivev1.SearchDossiersRequest{Parent: "regions/141181", PageSize: 1, PageToken: "MQ"}, code: codes.InvalidArgument},
			{who: "office", req: &archivev1.SearchDossiersRequest{Parent: "regions/141181", State: typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE}, want: []string{name(2)}},
			{who: "office", req: &archivev1.SearchDossiersRequest{Parent: "regions/141181", Category: typesv1.Category_CATEGORY_LATE_FEE}, want: []string{name(1)}},
			{who: "hrss", req: &archivev1.SearchDossiersRequest{Parent: "regions/141181"}, want: []string{name(1)}},
			{who: "finance", req: &archivev1.SearchDossiersRequest{Parent: "regions/141181"}},
			{who: "other_region", req: &archivev1.SearchDossiersRequest{Parent: "regions/141181"}, code: codes.PermissionDenied},
			{who: "office", req: &archivev1.SearchDossiersRequest{Parent: "regions/141181", PageToken: "abc"}, code: codes.InvalidArgument},
		}
		for i, tt := range tests {
			t.Run(fmt.Sprintf("%d %s", i, tt.who), func(t *testing.T) {
				resp, err := f.client.SearchDossiers(f.as(t, tt.who), tt.req)
				if status.Code(err) != tt.code {
					t.Fatalf("err = %v, want %v", err, tt.code)
				}
				var got []string
				for _, d := range resp.GetDossiers() {
					got = append(got, d.GetName())
					if len(d.GetEvents()) != 0 {
						t.Errorf("search result carries events")
					}
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("names (-want +got):\n%s", diff)
				}
				if (resp.GetNextPageToken() != "") != tt.token {
					t.Fatalf("next page token = %q", resp.GetNextPageToken())
				}
			})
		}
	})

	t.Run("SearchPaging", func(t *testing.T) {
		req := &archivev1.SearchDossiersRequest{Parent: "regions/141181", PageSize: 1}
		first, err := f.client.SearchDossiers(f.as(t, "office"), req)
		if err != nil || first.GetNextPageToken() == "" {
			t.Fatalf("first page = %v, %v", first, err)
		}
		req.PageToken = first.GetNextPageToken()
		second, err := f.client.SearchDossiers(f.as(t, "office"), req)
		if err != nil || len(second.GetDossiers()) != 1 || second.GetDossiers()[0].GetName() != name(1) || second.GetNextPageToken() != "" {
			t.Fatalf("second page = %v, %v", second, err)
		}
		// A token is read only with the filters it was made for.
		_, err = f.client.SearchDossiers(f.as(t, "office"), &archivev1.SearchDossiersRequest{Parent: "regions/141181",
			State: typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE, PageToken: first.GetNextPageToken()})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "page_token") {
			t.Fatalf("token of another search: %v", err)
		}
		for _, tt := range []struct {
			who  string
			req  *archivev1.SearchDossiersRequest
			want []string
		}{
			{"office", &archivev1.SearchDossiersRequest{Parent: "regions/141181", RegisteringDepartment: "justice"}, []string{name(2)}},
			{"office", &archivev1.SearchDossiersRequest{Parent: "regions/141181", Channel: typesv1.Channel_CHANNEL_WINDOW,
				StartTime: timestamppb.New(t0.Add(time.Millisecond))}, []string{name(2)}},
			{"tax", &archivev1.SearchDossiersRequest{Parent: "regions/141181", Query: "2026-"}, []string{name(2), name(1)}},
			{"hrss", &archivev1.SearchDossiersRequest{Parent: "regions/141181", RegisteringDepartment: "justice"}, nil},
		} {
			resp, err := f.client.SearchDossiers(f.as(t, tt.who), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range resp.GetDossiers() {
				got = append(got, d.GetName())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s %v (-want +got):\n%s", tt.who, tt.req, diff)
			}
		}
	})

	t.Run("GetStatistics", func(t *testing.T) {
		resp, err := f.client.GetStatistics(f.as(t, "office"), &archivev1.GetStatisticsRequest{Parent: "regions/141181"})
		if err != nil {
			t.Fatal(err)
		}
		want := &archivev1.GetStatisticsResponse{
			Total:        2,
			ByCategory:   []*archivev1.Count{{Key: "CATEGORY_BENEFITS", Value: 1}, {Key: "CATEGORY_LATE_FEE", Value: 1}},
			ByChannel:    []*archivev1.Count{{Key: "CHANNEL_WINDOW", Value: 2}},
			ByState:      []*archivev1.Count{{Key: "DISPUTE_STATE_AT_OFFICE", Value: 1}, {Key: "DISPUTE_STATE_TRANSFERRED", Value: 1}},
			ByDepartment: []*archivev1.Count{{Key: "justice", Value: 1}, {Key: "tax", Value: 1}},
		}
		if diff := cmp.Diff(want, resp, protocmp.Transform(),
			protocmp.IgnoreFields(&archivev1.GetStatisticsResponse{}, "rows", "start_month", "end_month")); diff != "" {
			t.Fatalf("statistics (-want +got):\n%s", diff)
		}
		// The platform (政法委) counts the region's disputes, as the office does,
		// though it reads neither dossier.
		if plc, err := f.client.GetStatistics(f.as(t, "platform"), &archivev1.GetStatisticsRequest{Parent: "regions/141181"}); err != nil ||
			!proto.Equal(plc, resp) {
			t.Fatalf("platform statistics = %v, %v; want the office's %v", plc, err, resp)
		}
		if _, err := f.client.GetDossier(f.as(t, "platform"), &archivev1.GetDossierRequest{Name: name(1)}); status.Code(err) == codes.OK {
			t.Fatal("the platform reads a dossier it took no part in")
		}
		resp, err = f.client.GetStatistics(f.as(t, "hrss"), &archivev1.GetStatisticsRequest{Parent: "regions/141181",
			StartTime: timestamppb.New(t0.Add(-time.Minute)), EndTime: timestamppb.New(t0.Add(time.Hour))})
		if err != nil || resp.GetTotal() != 1 {
			t.Fatalf("hrss statistics = %v, %v", resp, err)
		}
		// hrss counts only what it may read: dispute 1, transferred to it.
		month := t0.In(time.FixedZone("CST", 8*3600)).Format("2006-01")
		wantRow := &archivev1.StatisticsRow{Dimension: "state", Key: "DISPUTE_STATE_TRANSFERRED", Month: month, Registered: 1}
		if !slices.ContainsFunc(resp.GetRows(), func(r *archivev1.StatisticsRow) bool { return proto.Equal(r, wantRow) }) ||
			slices.ContainsFunc(resp.GetRows(), func(r *archivev1.StatisticsRow) bool { return r.GetKey() == "justice" }) ||
			resp.GetStartMonth() != month || resp.GetEndMonth() != month {
			t.Fatalf("hrss rows = %v", resp)
		}
		_, err = f.client.GetStatistics(f.as(t, "office"), &archivev1.GetStatisticsRequest{Parent: "regions/141181",
			StartTime: timestamppb.New(t0), EndTime: timestamppb.New(t0)})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "end_time") {
			t.Fatalf("empty range: %v", err)
		}
	})
}

// TestRedisDown checks that a stopped Redis is UNAVAILABLE with reason
// BACKEND_UNAVAILABLE and a fixed message, never the backend's error.
func TestRedisDown(t *testing.T) {
	f := start(t)
	f.publish(t, "intake", registered(t, 1, "tax", typesv1.Category_CATEGORY_LATE_FEE, time.Now()))
	f.waitDossier(t, name(1), 1)

	f.redis.Kill()
	_, err := f.client.GetDossier(f.as(t, "office"), &archivev1.GetDossierRequest{Name: name(1)})
	f.redis.Restart(t)
	if status.Code(err) != codes.Unavailable || apierr.Reason(err) != apierr.ReasonBackendUnavailable ||
		status.Convert(err).Message() != apierr.MsgBackendUnavailable {
		t.Fatalf("GetDossier with Redis down = %v, want UNAVAILABLE %s %q", err, apierr.ReasonBackendUnavailable, apierr.MsgBackendUnavailable)
	}
}

// Free text over more dossiers than the bound is refused before anything is
// read, with a code and reason a client branches on and the limit named.
func TestSearchTooBroad(t *testing.T) {
	f := start(t)
	zs := make([]redis.Z, store.TextScanLimit+1)
	for i := range zs {
		zs[i] = redis.Z{Score: float64(i), Member: fmt.Sprintf("2026-%d", i+1)}
	}
	if err := f.rdb.ZAdd(context.Background(), "archive:{"+region+"}:idx:*:all", zs...).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := f.client.SearchDossiers(f.as(t, "office"), &archivev1.SearchDossiersRequest{Parent: "regions/141181", Query: "17"})
	if status.Code(err) != codes.FailedPrecondition || apierr.Reason(err) != "SEARCH_TOO_BROAD" ||
		!strings.Contains(status.Convert(err).Message(), fmt.Sprint(store.TextScanLimit)) {
		t.Fatalf("free text over the region: %v (reason %q)", err, apierr.Reason(err))
	}
	// hrss's own index is empty: the same text is searched there.
	resp, err := f.client.SearchDossiers(f.as(t, "hrss"), &archivev1.SearchDossiersRequest{Parent: "regions/141181", Query: "17"})
	if err != nil || len(resp.GetDossiers()) != 0 {
		t.Fatalf("hrss's free text: %v, %v", resp, err)
	}
}
