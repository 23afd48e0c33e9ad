package printing

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
)

const meetingName = "regions/141181/meetings/06H3CKAKHH4TSN6827XBSTTDXM"

// meetingBackend answers GetMeeting with a fixed meeting, or err.
type meetingBackend struct {
	meetingv1.UnimplementedMeetingServiceServer
	*backend
	meeting *meetingv1.Meeting
	err     error
}

func (b *meetingBackend) GetMeeting(ctx context.Context, req *meetingv1.GetMeetingRequest) (*meetingv1.GetMeetingResponse, error) {
	b.seen(ctx)
	if b.err != nil {
		return nil, b.err
	}
	if req.GetName() != b.meeting.GetName() {
		return nil, status.Errorf(codes.NotFound, "meeting %s not found", req.GetName())
	}
	return &meetingv1.GetMeetingResponse{Meeting: b.meeting}, nil
}

func sampleMeeting() *meetingv1.Meeting {
	return &meetingv1.Meeting{
		Name: meetingName, Kind: meetingv1.MeetingKind_MEETING_KIND_JOINT_HANDLING,
		Disputes:     []string{"regions/141181/disputes/2026-17", "regions/141181/disputes/2026-18"},
		InvitedUnits: []string{"tax", "hrss", "finance"},
		StartTime:    at("2026-03-05T01:30:00Z"), Place: "市税务局三楼会议室", Agenda: "缴费基数争议联办",
		Minutes: &meetingv1.Minutes{
			Text:       "会议听取了联席会议办公室的汇报。\n与会单位逐件发表了意见。",
			Attendees:  []*meetingv1.Attendee{{Name: "任小俊", Title: "市政府副市长"}, {Unit: "hrss", Name: "刘洋", Title: "副局长"}},
			Decisions:  []string{"按上年度社平工资核定缴费基数", "人社局五个工作日内提交书面意见"},
			RecordTime: at("2026-03-05T06:00:00Z"), RecordedBy: "zhou",
		},
	}
}

func startMinutes(t *testing.T, b *meetingBackend) http.Handler {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	rosterv1.RegisterRosterServiceServer(srv, b.backend)
	meetingv1.RegisterMeetingServiceServer(srv, b)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	mux := http.NewServeMux()
	h := New(intakev1.NewIntakeServiceClient(cc), routingv1.NewRoutingServiceClient(cc), rosterv1.NewRosterServiceClient(cc),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.RegisterMinutes(mux, meetingv1.NewMeetingServiceClient(cc))
	return mux
}

func TestMinutesPage(t *testing.T) {
	path := "/print/" + meetingName + "/minutes"
	b := &meetingBackend{backend: newBackend(), meeting: sampleMeeting()}
	code, hdr, body := get(t, startMinutes(t, b), path, token)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d:\n%s", code, body)
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	rest := body
	for _, w := range []string{"社会保险费征缴争议联席会议纪要", "会议类型", "联办会议", "2026年3月5日 09:30", "市税务局三楼会议室",
		"缴费基数争议联办", "2026年第17号、2026年第18号", "市税务局、市人力资源和社会保障局、市财政局",
		"任小俊（市政府副市长）；刘洋（市人力资源和社会保障局，副局长）",
		"<p>会议听取了联席会议办公室的汇报。</p>", "<p>与会单位逐件发表了意见。</p>", "议定事项",
		"<li>按上年度社平工资核定缴费基数</li>", "<li>人社局五个工作日内提交书面意见</li>",
		"社会保险费征缴争议联席会议办公室<br>2026年3月5日"} {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("page lacks %q (in order) in:\n%s", w, body)
		}
		rest = rest[i+len(w):]
	}
	for _, w := range []string{"zhou", "regions/141181/disputes", "<script"} {
		if strings.Contains(body, w) {
			t.Errorf("page shows %q", w)
		}
	}
	for i, a := range b.auth {
		if a != token {
			t.Errorf("backend call %d got authorization %q", i, a)
		}
	}

	plenary := sampleMeeting()
	plenary.Kind, plenary.Disputes = meetingv1.MeetingKind_MEETING_KIND_PLENARY, nil
	b = &meetingBackend{backend: newBackend(), meeting: plenary}
	if code, _, body := get(t, startMinutes(t, b), path, token); code != http.StatusOK ||
		!strings.Contains(body, "全体会议纪要") || strings.Contains(body, "涉及争议事项") {
		t.Errorf("plenary minutes: HTTP %d:\n%s", code, body)
	}
}

func TestMinutesPageErrors(t *testing.T) {
	path := "/print/" + meetingName + "/minutes"
	noMinutes := sampleMeeting()
	noMinutes.Minutes = nil
	for _, tc := range []struct {
		name   string
		b      *meetingBackend
		auth   string
		status int
		text   string
	}{
		{"no token", &meetingBackend{backend: newBackend(), meeting: sampleMeeting()}, "", http.StatusUnauthorized, "未登录"},
		{"not recorded", &meetingBackend{backend: newBackend(), meeting: noMinutes}, token, http.StatusPreconditionFailed, "尚未记录会议纪要"},
		{"not invited", &meetingBackend{backend: newBackend(), err: status.Error(codes.NotFound, "meeting not found")}, token, http.StatusNotFound, "没有找到该会议"},
		{"meeting service down", &meetingBackend{backend: newBackend(), err: status.Error(codes.Unavailable, "down")}, token, http.StatusServiceUnavailable, "服务暂不可用"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := get(t, startMinutes(t, tc.b), path, tc.auth)
			if code != tc.status || !strings.Contains(body, tc.text) {
				t.Errorf("HTTP %d, want %d with %q:\n%s", code, tc.status, tc.text, body)
			}
		})
	}
}
