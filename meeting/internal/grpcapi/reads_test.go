package grpcapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// sameNotFound asserts that hidden (a resource the caller may not read) and
// unknown (one that does not exist) answer alike but for the name asked.
func sameNotFound(t *testing.T, what string, hidden error, hiddenName string, unknown error, unknownName string) {
	t.Helper()
	if status.Code(hidden) != codes.NotFound {
		t.Errorf("%s: %v, want NOT_FOUND", what, hidden)
		return
	}
	u := status.Convert(unknown).Proto()
	u.Message = strings.ReplaceAll(u.Message, unknownName, "<name>")
	h := status.Convert(hidden).Proto()
	h.Message = strings.ReplaceAll(h.Message, hiddenName, "<name>")
	if d := cmp.Diff(u, h, protocmp.Transform()); d != "" {
		t.Errorf("%s: not readable vs unknown (-unknown +not readable):\n%s", what, d)
	}
}

// invalid asserts err is INVALID_ARGUMENT naming field.
func invalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument || !slices.Contains(fields(err), field) {
		t.Errorf("%s: %v (fields %v), want INVALID_ARGUMENT naming %s", what, err, fields(err), field)
	}
}

// anyOrder compares lists of names as sets: ids made in the same
// millisecond list in either order.
var anyOrder = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func meetingNames(ms []*meetingv1.Meeting) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.GetName())
	}
	return out
}

// general routes dispute n to the office and triages it a general matter.
func (f *fixture) general(t *testing.T, n int) string {
	t.Helper()
	name, _ := f.toOffice(t, n)
	if _, err := f.meeting.TriageMatter(f.as(t, region, "tax", authn.RoleOffice), &meetingv1.TriageMatterRequest{
		Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL}); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestMeetingReads(t *testing.T) {
	f := startOffice(t)
	office := f.as(t, region, "tax", authn.RoleOffice, authn.RoleHandler)
	a, b := f.general(t, 51), f.general(t, 52)
	convene := func(reqID string, disputes []string, units ...string) *meetingv1.Meeting {
		t.Helper()
		resp, err := f.meeting.ConveneMeeting(office, &meetingv1.ConveneMeetingRequest{Parent: "regions/" + region, RequestId: reqID,
			Meeting: &meetingv1.Meeting{Disputes: disputes, InvitedUnits: units, Place: "三楼会议室", Agenda: "联办"}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetMeeting()
	}
	m1 := convene("r-1", []string{a}, "tax", "hrss", "finance")
	m2 := convene("r-2", []string{b}, "tax", "justice")
	m3 := convene("r-3", []string{a, b}, "hrss", "finance")
	if m1.GetKind() != meetingv1.MeetingKind_MEETING_KIND_JOINT_HANDLING || m1.GetConveneTime() == nil {
		t.Errorf("convened meeting %v: want kind JOINT_HANDLING and a convene time", m1)
	}

	units := map[string]context.Context{
		"tax":      f.as(t, region, "tax", authn.RoleHandler),
		"hrss":     f.as(t, region, "hrss", authn.RoleHandler),
		"finance":  f.as(t, region, "finance", authn.RoleClerk),
		"justice":  f.as(t, region, "justice", authn.RoleHandler),
		"petition": f.as(t, region, "petition", authn.RoleHandler),
	}
	list := func(ctx context.Context, req *meetingv1.ListMeetingsRequest) ([]string, error) {
		t.Helper()
		req.Parent = "regions/" + region
		var out []string
		for {
			resp, err := f.meeting.ListMeetings(ctx, req)
			if err != nil {
				return out, err
			}
			out = append(out, meetingNames(resp.GetMeetings())...)
			if resp.GetNextPageToken() == "" {
				return out, nil
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
	for unit, want := range map[string][]string{
		"tax":      {m1.GetName(), m2.GetName()},
		"hrss":     {m1.GetName(), m3.GetName()},
		"finance":  {m1.GetName(), m3.GetName()},
		"justice":  {m2.GetName()},
		"petition": nil,
	} {
		got, err := list(units[unit], &meetingv1.ListMeetingsRequest{})
		if err != nil {
			t.Fatalf("%s lists: %v", unit, err)
		}
		if d := cmp.Diff(want, got, anyOrder); d != "" {
			t.Errorf("meetings listed by %s (-want +got):\n%s", unit, d)
		}
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		req  *meetingv1.ListMeetingsRequest
		want []string
	}{
		{"office, all, a page of one", office, &meetingv1.ListMeetingsRequest{PageSize: 1}, []string{m1.GetName(), m2.GetName(), m3.GetName()}},
		{"office, by dispute", office, &meetingv1.ListMeetingsRequest{Dispute: b}, []string{m2.GetName(), m3.GetName()}},
		{"office, by unit", office, &meetingv1.ListMeetingsRequest{InvitedUnit: "justice"}, []string{m2.GetName()}},
		{"office, by dispute and unit", office, &meetingv1.ListMeetingsRequest{Dispute: a, InvitedUnit: "finance", PageSize: 1}, []string{m1.GetName(), m3.GetName()}},
		{"office, joint handling", office, &meetingv1.ListMeetingsRequest{Kind: meetingv1.MeetingKind_MEETING_KIND_JOINT_HANDLING, PageSize: 2}, []string{m1.GetName(), m2.GetName(), m3.GetName()}},
		{"finance, joint handling", units["finance"], &meetingv1.ListMeetingsRequest{Kind: meetingv1.MeetingKind_MEETING_KIND_JOINT_HANDLING}, []string{m1.GetName(), m3.GetName()}},
		{"convenor, plenary", f.as(t, region, "gov_office", authn.RoleConvenor), &meetingv1.ListMeetingsRequest{Kind: meetingv1.MeetingKind_MEETING_KIND_PLENARY}, nil},
		{"hrss, by dispute", units["hrss"], &meetingv1.ListMeetingsRequest{Dispute: b}, []string{m3.GetName()}},
		{"hrss naming itself", units["hrss"], &meetingv1.ListMeetingsRequest{InvitedUnit: "hrss", PageSize: 1}, []string{m1.GetName(), m3.GetName()}},
	} {
		got, err := list(tc.ctx, tc.req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d := cmp.Diff(tc.want, got, anyOrder); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}

	// Each invited unit reads the meeting with its own opinion only; the
	// office reads them all.
	for _, u := range []string{"hrss", "finance"} {
		if _, err := f.meeting.SubmitOpinion(f.as(t, region, u, authn.RoleHandler), &meetingv1.SubmitOpinionRequest{Parent: m1.GetName(),
			Opinion: &meetingv1.Opinion{Dispute: a, Text: u + " 的意见"}}); err != nil {
			t.Fatal(err)
		}
	}
	for unit, want := range map[string][]string{"hrss": {"hrss"}, "finance": {"finance"}, "tax": nil} {
		resp, err := f.meeting.GetMeeting(units[unit], &meetingv1.GetMeetingRequest{Name: m1.GetName()})
		if err != nil {
			t.Fatalf("%s reads its meeting: %v", unit, err)
		}
		var got []string
		for _, o := range resp.GetMeeting().GetOpinions() {
			got = append(got, o.GetUnit())
		}
		if d := cmp.Diff(want, got); d != "" || resp.GetMeeting().GetAgenda() != "联办" {
			t.Errorf("%s reads %v: opinions of (-want +got):\n%s", unit, resp.GetMeeting(), d)
		}
	}
	full, err := f.meeting.GetMeeting(office, &meetingv1.GetMeetingRequest{Name: m1.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(full.GetMeeting().GetOpinions()); n != 2 {
		t.Errorf("the office reads %d opinions, want 2", n)
	}

	unknownName := "regions/" + region + "/meetings/NOPE"
	_, unknown := f.meeting.GetMeeting(units["justice"], &meetingv1.GetMeetingRequest{Name: unknownName})
	_, hidden := f.meeting.GetMeeting(units["justice"], &meetingv1.GetMeetingRequest{Name: m1.GetName()})
	sameNotFound(t, "GetMeeting by a unit not invited", hidden, m1.GetName(), unknown, unknownName)
	if apierr.Reason(unknown) != "MEETING_NOT_FOUND" {
		t.Errorf("unknown meeting: reason %q", apierr.Reason(unknown))
	}
	_, err = f.meeting.GetMeeting(f.as(t, "140100", "hrss", authn.RoleHandler), &meetingv1.GetMeetingRequest{Name: "regions/140100/meetings/" + strings.TrimPrefix(m1.GetName(), "regions/"+region+"/meetings/")})
	if status.Code(err) != codes.NotFound {
		t.Errorf("another region's meeting of the same id: %v, want NOT_FOUND", err)
	}
	_, err = f.meeting.GetMeeting(f.as(t, "140100", "hrss", authn.RoleHandler), &meetingv1.GetMeetingRequest{Name: m1.GetName()})
	refused(t, "GetMeeting from another region", err, codes.PermissionDenied)
	_, err = f.meeting.GetMeeting(f.as(t, region, "tax", authn.RoleAdmin), &meetingv1.GetMeetingRequest{Name: m1.GetName()})
	refused(t, "GetMeeting by an administrator", err, codes.PermissionDenied)

	_, err = f.meeting.ListMeetings(units["justice"], &meetingv1.ListMeetingsRequest{Parent: "regions/" + region, InvitedUnit: "hrss"})
	refused(t, "a unit listing another's meetings", err, codes.PermissionDenied, "justice")
	_, err = f.meeting.ListMeetings(office, &meetingv1.ListMeetingsRequest{Parent: "regions/" + region, Dispute: "regions/140100/disputes/2026-1"})
	invalid(t, "dispute filter of another region", err, "dispute")
	_, err = f.meeting.ListMeetings(office, &meetingv1.ListMeetingsRequest{Parent: "regions/" + region, Dispute: "2026-1"})
	invalid(t, "dispute filter not a name", err, "dispute")
	_, err = f.meeting.ListMeetings(office, &meetingv1.ListMeetingsRequest{Parent: "regions/" + region, PageToken: "garbage"})
	invalid(t, "a page token not issued", err, "page_token")
	first, err := f.meeting.ListMeetings(office, &meetingv1.ListMeetingsRequest{Parent: "regions/" + region, PageSize: 1})
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatalf("first page: %v, %v", first, err)
	}
	_, err = f.meeting.ListMeetings(office, &meetingv1.ListMeetingsRequest{Parent: "regions/" + region, PageSize: 1, Dispute: a, PageToken: first.GetNextPageToken()})
	invalid(t, "a page token of other filters", err, "page_token")
	_, err = f.meeting.ListMeetings(office, &meetingv1.ListMeetingsRequest{Parent: "regions/" + region, PageSize: 501})
	invalid(t, "page size over 500", err, "page_size")
}

// major routes dispute n to the office and triages it a major matter.
func (f *fixture) major(t *testing.T, n int) string {
	t.Helper()
	name, _ := f.toOffice(t, n)
	if _, err := f.meeting.TriageMatter(f.as(t, region, "tax", authn.RoleOffice), &meetingv1.TriageMatterRequest{
		Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_MAJOR}); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestApprovalReads(t *testing.T) {
	f := startOffice(t)
	office := f.as(t, region, "tax", authn.RoleOffice)
	convenor := f.as(t, region, "gov_office", authn.RoleConvenor)
	plc := f.as(t, region, "plc", authn.RolePlatform)
	request := func(name string) *meetingv1.Approval {
		t.Helper()
		resp, err := f.meeting.RequestApproval(office, &meetingv1.RequestApprovalRequest{Parent: "regions/" + region, Dispute: name, Summary: "拟纳入一站式平台"})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetApproval()
	}
	x, y := f.major(t, 61), f.major(t, 62)
	ax, ay := request(x), request(y)
	list := func(ctx context.Context, state meetingv1.ApprovalState, dispute string) []string {
		t.Helper()
		req := &meetingv1.ListApprovalsRequest{Parent: "regions/" + region, State: state, Dispute: dispute, PageSize: 1}
		var out []string
		for {
			resp, err := f.meeting.ListApprovals(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range resp.GetApprovals() {
				out = append(out, a.GetName())
			}
			if resp.GetNextPageToken() == "" {
				return out
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
	pending := meetingv1.ApprovalState_APPROVAL_STATE_PENDING
	decided := meetingv1.ApprovalState_APPROVAL_STATE_DECIDED
	if d := cmp.Diff([]string{ax.GetName(), ay.GetName()}, list(convenor, pending, ""), anyOrder); d != "" {
		t.Errorf("the convenor's pending approvals (-want +got):\n%s", d)
	}
	got, err := f.meeting.GetApproval(convenor, &meetingv1.GetApprovalRequest{Name: ax.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ax, got.GetApproval(), protocmp.Transform()); d != "" {
		t.Errorf("GetApproval (-requested +read):\n%s", d)
	}
	unknownName := "regions/" + region + "/approvals/NOPE"
	_, unknown := f.meeting.GetApproval(plc, &meetingv1.GetApprovalRequest{Name: unknownName})
	_, hidden := f.meeting.GetApproval(plc, &meetingv1.GetApprovalRequest{Name: ax.GetName()})
	sameNotFound(t, "the platform reading a pending approval", hidden, ax.GetName(), unknown, unknownName)
	if apierr.Reason(unknown) != "APPROVAL_NOT_FOUND" {
		t.Errorf("unknown approval: reason %q", apierr.Reason(unknown))
	}
	if got := list(plc, 0, ""); len(got) != 0 {
		t.Errorf("the platform lists %v before any approval", got)
	}
	_, err = f.meeting.GetApproval(f.as(t, region, "hrss", authn.RoleHandler), &meetingv1.GetApprovalRequest{Name: ax.GetName()})
	refused(t, "a handler reading an approval", err, codes.PermissionDenied)
	_, err = f.meeting.ListApprovals(f.as(t, region, "hrss", authn.RoleClerk), &meetingv1.ListApprovalsRequest{Parent: "regions/" + region})
	refused(t, "a clerk listing approvals", err, codes.PermissionDenied)

	if _, err := f.meeting.DecideApproval(convenor, &meetingv1.DecideApprovalRequest{Name: ax.GetName(), Approve: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.meeting.DecideApproval(convenor, &meetingv1.DecideApprovalRequest{Name: ay.GetName(), Approve: false}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		state   meetingv1.ApprovalState
		dispute string
		want    []string
	}{
		{"convenor, pending", convenor, pending, "", nil},
		{"convenor, decided", convenor, decided, "", []string{ax.GetName(), ay.GetName()}},
		{"office, all of y", office, 0, y, []string{ay.GetName()}},
		{"platform, all", plc, 0, "", []string{ax.GetName()}},
		{"platform, decided of y", plc, decided, y, nil},
	} {
		if d := cmp.Diff(tc.want, list(tc.ctx, tc.state, tc.dispute), anyOrder); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	read, err := f.meeting.GetApproval(plc, &meetingv1.GetApprovalRequest{Name: ax.GetName()})
	if err != nil || !read.GetApproval().GetApproved() {
		t.Errorf("the platform reads the approved request: %v, %v", read, err)
	}
	_, err = f.meeting.GetApproval(plc, &meetingv1.GetApprovalRequest{Name: ay.GetName()})
	sameNotFound(t, "the platform reading a declined approval", err, ay.GetName(), unknown, unknownName)
}

func TestMinutesAndPlenaryMeetings(t *testing.T) {
	f := startOffice(t)
	office := f.as(t, region, "tax", authn.RoleOffice)
	convene := func(m *meetingv1.Meeting) (*meetingv1.Meeting, error) {
		resp, err := f.meeting.ConveneMeeting(office, &meetingv1.ConveneMeetingRequest{Parent: "regions/" + region, RequestId: fmt.Sprint(time.Now().UnixNano()), Meeting: m})
		return resp.GetMeeting(), err
	}
	plenaryKind := meetingv1.MeetingKind_MEETING_KIND_PLENARY
	a := f.general(t, 71)
	_, err := convene(&meetingv1.Meeting{Kind: plenaryKind, Disputes: []string{a}, InvitedUnits: []string{"tax", "hrss"}, Agenda: "x"})
	invalid(t, "a plenary meeting with a dispute", err, "meeting.disputes")
	_, err = convene(&meetingv1.Meeting{Kind: plenaryKind, InvitedUnits: []string{"tax", "hrss"}})
	invalid(t, "a plenary meeting without an agenda", err, "meeting.agenda")
	_, err = convene(&meetingv1.Meeting{InvitedUnits: []string{"tax", "hrss"}, Agenda: "x"})
	invalid(t, "a joint-handling meeting without a dispute", err, "meeting.disputes")
	_, err = convene(&meetingv1.Meeting{Kind: meetingv1.MeetingKind(9), InvitedUnits: []string{"tax", "hrss"}, Agenda: "x"})
	invalid(t, "an undefined kind", err, "meeting.kind")
	if n := len(f.meetingEvents(t)); n != 1 {
		t.Fatalf("%d events after refused meetings, want 1 (the triage)", n)
	}

	plenary, err := convene(&meetingv1.Meeting{Kind: plenaryKind, InvitedUnits: []string{"tax", "hrss", "petition"},
		Agenda: "研究缴费基数核定中的焦点、难点问题", Place: "市政府第一会议室"})
	if err != nil {
		t.Fatal(err)
	}
	joint, err := convene(&meetingv1.Meeting{Disputes: []string{a}, InvitedUnits: []string{"tax", "finance"}})
	if err != nil {
		t.Fatal(err)
	}
	minutes := &meetingv1.Minutes{
		Text: "会议听取了联席会议办公室的汇报，研究了缴费基数核定中的焦点问题。",
		Attendees: []*meetingv1.Attendee{{Name: "任小俊", Title: "市政府副市长"}, {Unit: "tax", Name: "王小军", Title: "市税务局局长"},
			{Unit: "petition", Name: "李明", Title: "市信访局副局长"}},
		Decisions: []string{"统一按上年度社平工资核定", "信访局提前介入集中反映事项"},
	}
	record := func(ctx context.Context, name string, mn *meetingv1.Minutes) (*meetingv1.Meeting, error) {
		resp, err := f.meeting.RecordMinutes(ctx, &meetingv1.RecordMinutesRequest{Name: name, Minutes: mn})
		return resp.GetMeeting(), err
	}
	_, err = record(f.as(t, region, "hrss", authn.RoleHandler), plenary.GetName(), minutes)
	refused(t, "minutes by a handler", err, codes.PermissionDenied)
	_, err = record(office, plenary.GetName(), &meetingv1.Minutes{Text: "x", Attendees: []*meetingv1.Attendee{{Unit: "market", Name: "张"}}})
	invalid(t, "an attendee of a unit not in the roster", err, "minutes.attendees[0].unit")
	_, err = record(office, plenary.GetName(), &meetingv1.Minutes{Attendees: minutes.Attendees})
	invalid(t, "minutes without text", err, "minutes.text")
	_, err = record(office, plenary.GetName(), &meetingv1.Minutes{Text: "x"})
	invalid(t, "minutes without attendees", err, "minutes.attendees")
	_, err = record(office, "regions/"+region+"/meetings/NOPE", minutes)
	refused(t, "minutes of an unknown meeting", err, codes.NotFound)
	if n := len(f.meetingEvents(t)); n != 3 {
		t.Fatalf("%d events after refused minutes, want 3", n)
	}

	rec, err := record(office, plenary.GetName(), minutes)
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetMinutes().GetRecordTime() == nil || rec.GetMinutes().GetRecordedBy() != "wang" || rec.GetKind() != plenaryKind {
		t.Errorf("recorded: %v", rec)
	}
	if _, err := record(office, joint.GetName(), &meetingv1.Minutes{Text: "联办会议纪要", Attendees: minutes.Attendees[1:2]}); err != nil {
		t.Fatal(err)
	}
	// The units invited read the minutes; a unit not invited does not.
	read, err := f.meeting.GetMeeting(f.as(t, region, "petition", authn.RoleHandler), &meetingv1.GetMeetingRequest{Name: plenary.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	want := cloneMinutes(minutes)
	want.RecordTime, want.RecordedBy = rec.GetMinutes().GetRecordTime(), "wang"
	if d := cmp.Diff(want, read.GetMeeting().GetMinutes(), protocmp.Transform()); d != "" {
		t.Errorf("minutes read by an invited unit (-recorded +read):\n%s", d)
	}
	_, err = f.meeting.GetMeeting(f.as(t, region, "finance", authn.RoleHandler), &meetingv1.GetMeetingRequest{Name: plenary.GetName()})
	refused(t, "a plenary meeting read by a unit not invited", err, codes.NotFound)
	ls, err := f.meeting.ListMeetings(office, &meetingv1.ListMeetingsRequest{Parent: "regions/" + region, Kind: plenaryKind})
	if err != nil || len(ls.GetMeetings()) != 1 || ls.GetMeetings()[0].GetName() != plenary.GetName() {
		t.Errorf("plenary meetings listed: %v, %v", ls, err)
	}

	evs := f.meetingEvents(t)
	if d := cmp.Diff([]string{"MatterTriaged", "MeetingConvened", "MeetingConvened", "MinutesRecorded", "MinutesRecorded"}, types(evs)); d != "" {
		t.Fatalf("events (-want +got):\n%s", d)
	}
	if evs[1].GetDispute() != "" || evs[3].GetDispute() != "" || evs[4].GetDispute() != a {
		t.Errorf("filed under %q, %q, %q; want the plenary meeting's under none, the joint meeting's minutes under %s",
			evs[1].GetDispute(), evs[3].GetDispute(), evs[4].GetDispute(), a)
	}
	mr, err := events.Payload[*meetingv1.MinutesRecorded](evs[3])
	if err != nil {
		t.Fatal(err)
	}
	if mr.GetMeeting() != plenary.GetName() || len(mr.GetMinutes().GetDecisions()) != 2 {
		t.Errorf("MinutesRecorded %v", mr)
	}
}

// cloneMinutes returns a copy of mn.
func cloneMinutes(mn *meetingv1.Minutes) *meetingv1.Minutes {
	out := &meetingv1.Minutes{Text: mn.GetText(), Decisions: slices.Clone(mn.GetDecisions())}
	for _, a := range mn.GetAttendees() {
		out.Attendees = append(out.Attendees, &meetingv1.Attendee{Unit: a.GetUnit(), Name: a.GetName(), Title: a.GetTitle()})
	}
	return out
}

// warn publishes intake's MassDisputeWarning on dispute n as intake did
// before warnings were kept per employer episode: no warning id, so each
// event is a warning of its own.
func (f *fixture) warn(t *testing.T, n int) *eventv1.Event {
	t.Helper()
	name := fmt.Sprintf("regions/%s/disputes/2026-%d", region, n)
	actor := &typesv1.Actor{Region: region, Department: "hrss", StaffId: "zhang", Roles: []typesv1.Role{typesv1.Role_ROLE_CLERK}}
	ev, err := events.New("intake", region, name, actor, "", &intakev1.MassDisputeWarning{
		Trigger: "same_employer", OpenDisputesSameEmployer: int32(n % 10), AddressedTo: []string{"petition", "tax"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rdb.TxPipelined(testCtx(t), func(pipe redis.Pipeliner) error {
		return events.Append(testCtx(t), pipe, events.Stream("intake", region), ev)
	}); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestMassWarnings(t *testing.T) {
	f := startOffice(t)
	petition := f.as(t, region, "petition", authn.RoleHandler)
	office := f.as(t, region, "tax", authn.RoleOffice)
	hrss := f.as(t, region, "hrss", authn.RoleHandler)
	w3, w4 := f.warn(t, 83), f.warn(t, 84)
	list := func(ctx context.Context, state meetingv1.MassWarningState) ([]*meetingv1.MassWarning, error) {
		req := &meetingv1.ListMassWarningsRequest{Parent: "regions/" + region, State: state, PageSize: 1}
		var out []*meetingv1.MassWarning
		for {
			resp, err := f.meeting.ListMassWarnings(ctx, req)
			if err != nil {
				return nil, err
			}
			out = append(out, resp.GetMassWarnings()...)
			if resp.GetNextPageToken() == "" {
				return out, nil
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
	pending := meetingv1.MassWarningState_MASS_WARNING_STATE_PENDING
	acked := meetingv1.MassWarningState_MASS_WARNING_STATE_ACKNOWLEDGED
	var ws []*meetingv1.MassWarning
	for deadline := time.Now().Add(15 * time.Second); len(ws) < 2; time.Sleep(20 * time.Millisecond) {
		var err error
		if ws, err = list(petition, pending); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the petition bureau lists %v, want two warnings", ws)
		}
	}
	name3 := "regions/" + region + "/massWarnings/" + w3.GetId()
	// Warnings raised in the same millisecond list in either order.
	slices.SortFunc(ws, func(a, b *meetingv1.MassWarning) int {
		return strings.Compare(a.GetDispute(), b.GetDispute()) // 2026-83 before 2026-84
	})
	want := &meetingv1.MassWarning{Name: name3, Dispute: w3.GetDispute(), Trigger: "same_employer", OpenDisputesSameEmployer: 3,
		AddressedTo: []string{"petition", "tax"}, AcknowledgingUnits: []string{"petition"}, RaiseTime: w3.GetTime(),
		State: pending, Disputes: []string{w3.GetDispute()}, DisputeCount: 1, LastRaiseTime: w3.GetTime()}
	if d := cmp.Diff(want, ws[0], protocmp.Transform()); d != "" {
		t.Errorf("warning listed (-want +got):\n%s", d)
	}
	if ws[1].GetDispute() != w4.GetDispute() {
		t.Errorf("second warning %v", ws[1])
	}
	if got, err := list(hrss, 0); err != nil || len(got) != 0 {
		t.Errorf("a unit not addressed lists %v, %v", got, err)
	}
	if got, err := list(office, pending); err != nil || len(got) != 2 {
		t.Errorf("the office lists %v, %v", got, err)
	}

	got, err := f.meeting.GetMassWarning(petition, &meetingv1.GetMassWarningRequest{Name: name3})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got.GetMassWarning(), protocmp.Transform()); d != "" {
		t.Errorf("GetMassWarning (-want +got):\n%s", d)
	}
	if _, err := f.meeting.GetMassWarning(office, &meetingv1.GetMassWarningRequest{Name: name3}); err != nil {
		t.Errorf("the office reads the warning: %v", err)
	}
	_, unknownGet := f.meeting.GetMassWarning(hrss, &meetingv1.GetMassWarningRequest{Name: "regions/" + region + "/massWarnings/NOPE"})
	_, hiddenGet := f.meeting.GetMassWarning(hrss, &meetingv1.GetMassWarningRequest{Name: name3})
	sameNotFound(t, "a unit not addressed reading", hiddenGet, name3, unknownGet, "regions/"+region+"/massWarnings/NOPE")

	ack := func(ctx context.Context, name, reqID string) (*meetingv1.MassWarning, error) {
		resp, err := f.meeting.AcknowledgeMassWarning(ctx, &meetingv1.AcknowledgeMassWarningRequest{Name: name, RequestId: reqID, Note: "已安排专人提前介入"})
		return resp.GetMassWarning(), err
	}
	unknownName := "regions/" + region + "/massWarnings/NOPE"
	_, unknown := ack(hrss, unknownName, "h-1")
	_, hidden := ack(hrss, name3, "h-1")
	sameNotFound(t, "a unit not addressed acknowledging", hidden, name3, unknown, unknownName)
	if apierr.Reason(unknown) != "MASS_WARNING_NOT_FOUND" {
		t.Errorf("unknown warning: reason %q", apierr.Reason(unknown))
	}
	_, err = ack(f.as(t, region, "tax", authn.RoleOffice), name3, "o-1")
	refused(t, "the office host acknowledging the petition bureau's warning", err, codes.PermissionDenied, "petition")
	_, err = ack(petition, name3, "")
	invalid(t, "acknowledgement without a request id", err, "request_id")
	_, err = ack(f.as(t, region, "petition", authn.RolePlatform), name3, "p-0")
	refused(t, "acknowledgement by the platform role", err, codes.PermissionDenied)

	first, err := ack(petition, name3, "p-1")
	if err != nil {
		t.Fatal(err)
	}
	if first.GetState() != acked || first.GetAcknowledgement().GetUnit() != "petition" || first.GetAcknowledgement().GetStaff() != "wang" ||
		first.GetAcknowledgement().GetNote() != "已安排专人提前介入" || first.GetAcknowledgement().GetAcknowledgeTime() == nil {
		t.Errorf("acknowledged: %v", first)
	}
	again, err := ack(petition, name3, "p-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(first, again, protocmp.Transform()); d != "" {
		t.Errorf("retried acknowledgement (-first +retry):\n%s", d)
	}
	_, err = ack(petition, name3, "p-2")
	refused(t, "a second acknowledgement", err, codes.FailedPrecondition, "already acknowledged")

	// Redelivered, intake's warning does not undo the acknowledgement.
	f.republish2(t, w3)
	f.warn(t, 85)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		all, err := list(petition, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("warnings %v, want 3", all)
		}
	}
	p, err := list(petition, pending)
	if err != nil || len(p) != 2 || !slices.ContainsFunc(p, func(w *meetingv1.MassWarning) bool { return w.GetDispute() == w4.GetDispute() }) ||
		slices.ContainsFunc(p, func(w *meetingv1.MassWarning) bool { return w.GetDispute() == w3.GetDispute() }) {
		t.Errorf("pending after the acknowledgement: %v, %v", p, err)
	}
	a, err := list(petition, acked)
	if err != nil || len(a) != 1 {
		t.Fatalf("acknowledged: %v, %v", a, err)
	}
	if d := cmp.Diff(first, a[0], protocmp.Transform()); d != "" {
		t.Errorf("acknowledged warning listed (-acknowledged +listed):\n%s", d)
	}

	evs := f.meetingEvents(t)
	if d := cmp.Diff([]string{"MassWarningAcknowledged"}, types(evs)); d != "" {
		t.Fatalf("events (-want +got):\n%s", d)
	}
	if evs[0].GetDispute() != w3.GetDispute() || evs[0].GetActor().GetDepartment() != "petition" || evs[0].GetReason() != "已安排专人提前介入" {
		t.Errorf("MassWarningAcknowledged envelope %v", evs[0])
	}
	pl, err := events.Payload[*meetingv1.MassWarningAcknowledged](evs[0])
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(first, pl.GetMassWarning(), protocmp.Transform()); d != "" {
		t.Errorf("MassWarningAcknowledged (-response +event):\n%s", d)
	}
}

// republish2 appends an intake event again, as a redelivery would present it.
func (f *fixture) republish2(t *testing.T, ev *eventv1.Event) {
	t.Helper()
	if _, err := f.rdb.TxPipelined(testCtx(t), func(pipe redis.Pipeliner) error {
		return events.Append(testCtx(t), pipe, events.Stream("intake", region), ev)
	}); err != nil {
		t.Fatal(err)
	}
}
