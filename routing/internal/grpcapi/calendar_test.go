package grpcapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
	"github.com/xiaoyi-disputes/disputes/routing/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/routing/internal/timerules"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// etcdRules runs routing's time rules from etcd, as the process does, after
// putting the given years' calendars there.
func etcdRules(t *testing.T, years ...*configv1.BusinessCalendar) func(ctx context.Context, cli *clientv3.Client) tracker.Calendar {
	return func(ctx context.Context, cli *clientv3.Client) tracker.Calendar {
		for _, y := range years {
			if err := regionconfig.Put(ctx, cli, regionconfig.CalendarSpec, region, strconv.Itoa(int(y.GetYear())), y); err != nil {
				t.Fatal(err)
			}
		}
		src := timerules.New(cli, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		for _, loop := range src.Loops() {
			go loop(ctx)
		}
		select {
		case <-src.Loaded():
		case <-time.After(10 * time.Second):
			t.Fatal("time rules not loaded")
		}
		return src
	}
}

// TestDeadlineIntoMissingYearRefused: on 20 December 2026, with a 2026
// calendar and none for 2027, handling's 60 days would end on 18 February
// 2027, counted without 2027's holidays. The route is refused, naming the
// year; once an administrator puts 2027 in etcd the same call succeeds and
// the due time honours 2027's holidays.
func TestDeadlineIntoMissingYearRefused(t *testing.T) {
	now := time.Date(2026, 12, 20, 10, 0, 0, 0, clock.China)
	y2026 := &configv1.BusinessCalendar{Year: 2026, Holidays: []string{"2026-10-01"}}
	f := startWith(t, func() time.Time { return now }, etcdRules(t, y2026))

	ev := registered(t, 31, "tax")
	f.publish(t, ev)
	name := ev.GetDispute()
	f.waitTracking(t, name, exists)

	self := &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_SELF,
		Opinion: "属本部门职责", ReasonCode: "OWN_DUTY"}
	_, err := f.client.RouteDispute(f.as(t, "tax"), self)
	wantCode(t, err, codes.FailedPrecondition, grpcapi.ReasonCalendarMissing, "no business calendar for 2027")
	var info *errdetails.ErrorInfo
	for _, d := range status.Convert(err).Details() {
		if e, ok := d.(*errdetails.ErrorInfo); ok {
			info = e
		}
	}
	if info.GetMetadata()["year"] != "2027" || info.GetMetadata()["region"] != region {
		t.Errorf("ErrorInfo metadata %v, want year 2027 and region %s", info.GetMetadata(), region)
	}
	tr, err := f.client.GetTracking(f.as(t, "tax"), &routingv1.GetTrackingRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if tr.GetTracking().GetState() != typesv1.DisputeState_DISPUTE_STATE_REGISTERED {
		t.Fatalf("a refused route changed the state to %v", tr.GetTracking().GetState())
	}

	// The administrator loads 2027 (here 18 and 19 February off); the
	// watchers take it live and the route goes through.
	y2027 := &configv1.BusinessCalendar{Year: 2027, Holidays: []string{"2027-02-18", "2027-02-19"}}
	if err := regionconfig.Put(f.as(t, "tax"), f.etcd, regionconfig.CalendarSpec, region, "2027", y2027); err != nil {
		t.Fatal(err)
	}
	var resp *routingv1.RouteDisputeResponse
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err = f.client.RouteDispute(f.as(t, "tax"), self)
		if err == nil || apierr.Reason(err) != grpcapi.ReasonCalendarMissing || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("route after the 2027 calendar was loaded: %v", err)
	}
	var due time.Time
	for _, c := range resp.GetTracking().GetClocks() {
		if c.GetStage() == routingv1.Stage_STAGE_HANDLING {
			due = c.GetDueTime().AsTime().In(clock.China)
		}
	}
	// 18 Feb (Thu) and 19 Feb (Fri) off, then the weekend: Monday 22 Feb.
	if got := due.Format(time.DateOnly); got != "2027-02-22" {
		t.Errorf("handling due %s, want 2027-02-22 (the holidays of the loaded calendar)", got)
	}

	// 2027 taken out again: a change that moves the due time is refused,
	// one that sets no deadline goes on, the clock set earlier stays.
	if _, err := f.etcd.Delete(f.as(t, "tax"), regionconfig.CalendarSpec.Key(region, "2027")); err != nil {
		t.Fatal(err)
	}
	// Routing has seen the deletion once a fresh dispute's route is
	// refused (a route that went through in between used its own dispute).
	deadline = time.Now().Add(15 * time.Second)
	for n := 32; ; n++ {
		probe := registered(t, n, "tax")
		f.publish(t, probe)
		f.waitTracking(t, probe.GetDispute(), exists)
		req := &routingv1.RouteDisputeRequest{Name: probe.GetDispute(), Kind: routingv1.RouteKind_ROUTE_KIND_SELF,
			Opinion: "属本部门职责", ReasonCode: "OWN_DUTY"}
		_, err := f.client.RouteDispute(f.as(t, "tax"), req)
		if apierr.Reason(err) == grpcapi.ReasonCalendarMissing {
			break
		}
		if err != nil {
			t.Fatalf("probe route: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("routing did not see 2027 removed: %v", err)
		}
	}
	if _, err := f.client.RequestExtension(f.as(t, "tax"), &routingv1.RequestExtensionRequest{Name: name, Days: 10, Reason: "需补充调取缴费记录"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.DecideExtension(f.as(t, "tax_head"), &routingv1.DecideExtensionRequest{Name: name, Approve: true, Comment: "同意"})
	wantCode(t, err, codes.FailedPrecondition, grpcapi.ReasonCalendarMissing, "no business calendar for 2027")
	note, err := f.client.AddProgressNote(f.as(t, "tax"), &routingv1.AddProgressNoteRequest{Name: name, Text: "已调取缴费记录"})
	if err != nil {
		t.Fatalf("a note, which sets no deadline, while 2027 is missing: %v", err)
	}
	for _, c := range note.GetTracking().GetClocks() {
		if c.GetStage() == routingv1.Stage_STAGE_HANDLING && !c.GetDueTime().AsTime().Equal(due) {
			t.Errorf("handling due moved to %v", c.GetDueTime().AsTime())
		}
	}
}

// TestGetCalendarStatus: on 2 December 2026 with only 2026 loaded, 2027 is
// reported missing (within 60 days of its start) to every staff role of the
// region; once loaded it is not; another region's caller is refused.
func TestGetCalendarStatus(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, clock.China)
	y2026 := &configv1.BusinessCalendar{Year: 2026, Holidays: []string{"2026-10-01"}}
	f := startWith(t, func() time.Time { return now }, etcdRules(t, y2026))
	name := "regions/" + region + "/calendarStatus"
	for _, who := range []string{"tax", "hrss", "office", "convenor", "plc", "tax_head"} {
		resp, err := f.client.GetCalendarStatus(f.as(t, who), &routingv1.GetCalendarStatusRequest{Name: name})
		if err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		st := resp.GetCalendarStatus()
		if fmt.Sprint(st.GetMissingYears()) != "[2027]" || fmt.Sprint(st.GetLoadedYears()) != "[2026]" {
			t.Errorf("%s: missing %v, loaded %v; want [2027] and [2026]", who, st.GetMissingYears(), st.GetLoadedYears())
		}
	}
	_, err := f.client.GetCalendarStatus(f.as(t, "other_region"), &routingv1.GetCalendarStatusRequest{Name: name})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("another region's caller: %v, want PERMISSION_DENIED", err)
	}
	_, err = f.client.GetCalendarStatus(f.as(t, "tax"), &routingv1.GetCalendarStatusRequest{Name: "regions/" + region + "/calendar"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("a bad name: %v, want INVALID_ARGUMENT", err)
	}

	y2027 := &configv1.BusinessCalendar{Year: 2027, Holidays: []string{"2027-01-01"}}
	if err := regionconfig.Put(f.as(t, "tax"), f.etcd, regionconfig.CalendarSpec, region, "2027", y2027); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := f.client.GetCalendarStatus(f.as(t, "tax"), &routingv1.GetCalendarStatusRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetCalendarStatus().GetMissingYears()) == 0 {
			if fmt.Sprint(resp.GetCalendarStatus().GetLoadedYears()) != "[2026 2027]" {
				t.Errorf("loaded %v, want [2026 2027]", resp.GetCalendarStatus().GetLoadedYears())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2027 still missing after it was loaded: %v", resp.GetCalendarStatus())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
