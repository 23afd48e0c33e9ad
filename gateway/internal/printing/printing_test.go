package printing

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// The backends below are real gRPC servers answering the three read RPCs
// the pages use with fixed data: the unit under test is the renderer and
// its error mapping, not the services' storage or rules.

const (
	token  = "Bearer test-token"
	name   = "regions/141181/disputes/2026-17"
	phone  = "13812345678"
	idNum  = "142301199001011234"
	region = "141181"
)

func at(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

func sampleDispute() *intakev1.Dispute {
	return &intakev1.Dispute{
		Name: name, Number: "2026年第17号",
		Claimant: &intakev1.Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL, Name: "张三",
			Phone: phone, IdNumber: idNum},
		Complaint:             "单位未按实际工资申报缴费基数",
		Category:              typesv1.Category_CATEGORY_BASE_DECLARATION,
		Channel:               typesv1.Channel_CHANNEL_WINDOW,
		RegisteringDepartment: "tax", RegisteringStaff: "wang", ProposedDepartment: "hrss",
		RegisterTime: at("2026-03-01T02:20:00Z"), FirstReceiver: "wang", LookupCode: "K7M2Q9",
		Jurisdiction: "141181001",
	}
}

func sampleTracking() *routingv1.Tracking {
	return &routingv1.Tracking{
		Name: name, Number: "2026年第17号", State: typesv1.DisputeState_DISPUTE_STATE_REPLIED,
		Clocks: []*routingv1.Clock{{Stage: routingv1.Stage_STAGE_ROUTING, DueTime: at("2026-03-16T09:00:00Z")},
			{Stage: routingv1.Stage_STAGE_HANDLING, DueTime: at("2026-05-21T15:59:59Z"), ExtensionDays: 20}},
		TransferSlips: []*routingv1.TransferSlip{
			{Number: "2026年第2号", RegisteringDepartment: "tax", RegisteringStaff: "wang", Opinion: "旧的流转意见",
				ReceivingDepartment: "finance", CreateTime: at("2026-03-01T03:00:00Z"), ReturnReason: "不属于本部门职责"},
			{Number: "2026年第3号", RegisteringDepartment: "tax", RegisteringStaff: "wang", Opinion: "属人社部门职责，请接收办理",
				ReceivingDepartment: "hrss", Receiver: "liu", ReceiveTime: at("2026-03-02T01:05:00Z"),
				CreateTime: at("2026-03-01T08:00:00Z")},
		},
		Reply: &routingv1.Reply{
			Outcome: "已责成用人单位按实际工资补报缴费基数", Text: "经核查，情况属实。\n用人单位已于3月20日补报。",
			Remedies: []*routingv1.RemedyDeadline{
				{Remedy: typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION, LastDate: "2026-05-25",
					Basis: "《中华人民共和国行政复议法》第二十条", Period: "自收到本告知书之日起六十日内申请行政复议",
					Authority: "孝义市人民政府"},
				{Remedy: typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION, LastDate: "2026-09-25",
					Basis: "《中华人民共和国行政诉讼法》第四十六条", Period: "自收到本告知书之日起六个月内提起行政诉讼",
					Authority: "孝义市人民法院"},
			},
			ReplyTime: at("2026-03-23T02:00:00Z"), Actor: &typesv1.Actor{Department: "hrss"},
			Issuer: routingv1.ReplyIssuer_REPLY_ISSUER_HOLDER,
			Delivery: &routingv1.Delivery{Method: routingv1.DeliveryMethod_DELIVERY_METHOD_MAIL, DeliveryDate: "2026-03-25",
				Recipient: "张三"},
		},
		// Internal records that must never reach the claimant's letter.
		Notes: []*routingv1.ProgressNote{{Text: "内部进展：已电话联系用人单位财务"}},
		Extension: &routingv1.Extension{Days: 20, Reason: "需调取用人单位三年工资台账", Decided: true, Approved: true,
			DecidedBy: &typesv1.Actor{Department: "hrss", StaffId: "wzm"}, DecideTime: at("2026-03-10T02:00:00Z"),
			Comment: "内部意见：抓紧办理"},
		History: []*routingv1.Transition{{Reason: "内部理由：职责不清"}},
	}
}

func sampleRoster() *rosterv1.Roster {
	return &rosterv1.Roster{Name: "regions/141181/roster", Units: []*rosterv1.MemberUnit{
		{Id: "tax", Name: "市税务局", Staff: []*rosterv1.StaffMember{{Id: "wang", DisplayName: "王小明", Roles: []string{"clerk"}}}},
		{Id: "hrss", Name: "市人力资源和社会保障局", Staff: []*rosterv1.StaffMember{{Id: "liu", DisplayName: "刘建平", Roles: []string{"handler"}}}},
		{Id: "finance", Name: "市财政局"},
	}, Jurisdictions: []*rosterv1.Jurisdiction{{Code: "141181001", Name: "新义街道", Kind: "街道"}}}
}

// backend is one fake deployment of the three services.
type backend struct {
	intakev1.UnimplementedIntakeServiceServer
	routingv1.UnimplementedRoutingServiceServer
	rosterv1.UnimplementedRosterServiceServer

	mu                               sync.Mutex
	dispute                          *intakev1.Dispute
	tracking                         *routingv1.Tracking
	roster                           *rosterv1.Roster
	intakeErr, routingErr, rosterErr error
	auth                             []string // authorization metadata seen, per call
}

func (b *backend) seen(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.auth = append(b.auth, strings.Join(md.Get("authorization"), ","))
}

func (b *backend) GetDispute(ctx context.Context, req *intakev1.GetDisputeRequest) (*intakev1.GetDisputeResponse, error) {
	b.seen(ctx)
	if b.intakeErr != nil {
		return nil, b.intakeErr
	}
	if req.GetName() != b.dispute.GetName() {
		return nil, status.Errorf(codes.NotFound, "dispute %s not found", req.GetName())
	}
	return &intakev1.GetDisputeResponse{Dispute: b.dispute}, nil
}

func (b *backend) GetTracking(ctx context.Context, req *routingv1.GetTrackingRequest) (*routingv1.GetTrackingResponse, error) {
	b.seen(ctx)
	if b.routingErr != nil {
		return nil, b.routingErr
	}
	return &routingv1.GetTrackingResponse{Tracking: b.tracking}, nil
}

func (b *backend) GetRoster(ctx context.Context, req *rosterv1.GetRosterRequest) (*rosterv1.GetRosterResponse, error) {
	b.seen(ctx)
	if b.rosterErr != nil {
		return nil, b.rosterErr
	}
	return &rosterv1.GetRosterResponse{Roster: b.roster}, nil
}

// start serves b on 127.0.0.1:0 and returns the print routes reading from it.
func start(t *testing.T, b *backend) http.Handler {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	intakev1.RegisterIntakeServiceServer(srv, b)
	routingv1.RegisterRoutingServiceServer(srv, b)
	rosterv1.RegisterRosterServiceServer(srv, b)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	mux := http.NewServeMux()
	New(intakev1.NewIntakeServiceClient(cc), routingv1.NewRoutingServiceClient(cc), rosterv1.NewRosterServiceClient(cc),
		slog.New(slog.NewTextHandler(io.Discard, nil))).Register(mux)
	return mux
}

func newBackend() *backend {
	return &backend{dispute: sampleDispute(), tracking: sampleTracking(), roster: sampleRoster()}
}

func get(t *testing.T, h http.Handler, path, auth string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.String()
}

const base = "/print/" + name + "/"

func TestPages(t *testing.T) {
	tests := []struct {
		page    string
		want    []string // in this order
		wantNot []string
		count   map[string]int
	}{
		{
			page: "registration-form",
			want: []string{"社会保险费征收争议事项登记表", "编号：2026年第17号", "诉求人<br>姓名", "张三", "手机号码", phone,
				"诉求反映<br>具体情况", "单位未按实际工资申报缴费基数", "登记部门", "市税务局", "登记人员", "<td>王小明</td>",
				"拟处理<br>部门", "市人力资源和社会保障局", "登记时间", "2026年3月1日 10:20",
				"补充信息", "个人", idNum, "缴费基数申报", "窗口来访", "所属乡镇（街道）", "<td>新义街道</td>",
				"首问责任人", "<td>王小明</td>"},
			wantNot: []string{"141181001"},
		},
		{
			page: "receipt",
			want: []string{"受理回执", "编号：2026年第17号", "张三", "138****5678", "2026年3月1日 10:20", "市税务局", "登记人员", "<dd>王小明</dd>", "K7M2Q9", "2026年3月16日前",
				"凭行政区划代码（141181）、编号和查询码", "/lookup"},
			wantNot: []string{phone, idNum},
		},
		{
			page: "transfer-slip",
			want: []string{
				"登记部门存根", "社会保险费征缴争议事项流转单", "编号：2026年第3号", "登记人员", "<td>王小明</td>", "属人社部门职责，请接收办理",
				"接收部门", "市人力资源和社会保障局", "接收人", "<td>刘建平</td>", "接收时间", "2026年3月2日 09:05",
				"备注：本流转单一式两份，登记部门、接收部门各执一份。本流转单同时附带登记部门的《社会保险费征缴争议事项登记表》复印件。",
				"接收部门联", "社会保险费征缴争议事项流转单", "编号：2026年第3号",
				"附：登记表复印件", "社会保险费征收争议事项登记表", "编号：2026年第17号",
			},
			wantNot: []string{"旧的流转意见", "2026年第2号"},
			count:   map[string]int{"<h1>社会保险费征缴争议事项流转单</h1>": 2, `class="sheet`: 3},
		},
		{
			page: "reply",
			want: []string{"书面告知书", "编号：2026年第17号", "张三：", "您于2026年3月1日向市税务局反映",
				"已责成用人单位按实际工资补报缴费基数", "<p>经核查，情况属实。</p>", "<p>用人单位已于3月20日补报。</p>",
				"<li>行政复议：自收到本告知书之日起六十日内申请行政复议，复议机关为孝义市人民政府；期限自送达之日起计算，最后一日为2026年5月25日",
				"《中华人民共和国行政复议法》第二十条",
				"<li>行政诉讼：自收到本告知书之日起六个月内提起行政诉讼，管辖法院为孝义市人民法院；期限自送达之日起计算，最后一日为2026年9月25日",
				"《中华人民共和国行政诉讼法》第四十六条",
				"本告知书于2026年3月25日以邮寄送达方式送达", "市人力资源和社会保障局（盖章）", "2026年3月23日"},
			wantNot: []string{phone, "内部进展", "内部意见", "内部理由", "需调取用人单位三年工资台账", "属人社部门职责"},
		},
		{
			page: "extension-notice",
			want: []string{"延期办理告知书", "编号：2026年第17号", "张三：", "您于2026年3月1日向市税务局反映",
				"因需调取用人单位三年工资台账，不能在规定期限内办结", "《信访工作条例》第三十二条", "经本单位负责人批准",
				"延长20日，将于2026年5月21日前办结", "市人力资源和社会保障局（盖章）", "2026年3月10日"},
			wantNot: []string{phone, "内部意见", "内部进展"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.page, func(t *testing.T) {
			b := newBackend()
			code, hdr, body := get(t, start(t, b), base+tt.page, token)
			if code != http.StatusOK {
				t.Fatalf("HTTP %d, want 200:\n%s", code, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy %q does not forbid scripts", csp)
			}
			// People by name only: no staff id anywhere on paper.
			for _, id := range []string{"wang", "liu"} {
				if strings.Contains(body, id) {
					t.Errorf("page shows the staff id %q", id)
				}
			}
			rest := body
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("page lacks %q (in order) in:\n%s", w, body)
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tt.wantNot {
				if strings.Contains(body, w) {
					t.Errorf("page shows %q, which it must not", w)
				}
			}
			for w, n := range tt.count {
				if got := strings.Count(body, w); got != n {
					t.Errorf("%q appears %d times, want %d", w, got, n)
				}
			}
			if strings.Contains(body, "<script") {
				t.Error("print page carries a script")
			}
			for i, a := range b.auth {
				if a != token {
					t.Errorf("backend call %d got authorization %q, want the caller's %q", i, a, token)
				}
			}
			if len(b.auth) == 0 {
				t.Error("no backend call was made")
			}
		})
	}
}

func TestPageEscapesText(t *testing.T) {
	b := newBackend()
	b.dispute.Complaint = `<script>alert(1)</script>`
	_, _, body := get(t, start(t, b), base+"registration-form", token)
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("complaint not escaped:\n%s", body)
	}
}

func TestBackendErrorsBecomeStatusPages(t *testing.T) {
	tests := []struct {
		name      string
		page      string
		set       func(b *backend)
		wantCode  int
		wantTitle string
	}{
		{"permission denied is 403", "registration-form", func(b *backend) {
			b.intakeErr = status.Error(codes.PermissionDenied, "department finance may not read "+name)
		}, http.StatusForbidden, "无权查看"},
		{"bad token is 401", "receipt", func(b *backend) {
			b.intakeErr = status.Error(codes.Unauthenticated, "token expired")
		}, http.StatusUnauthorized, "未登录或令牌无效"},
		{"unknown dispute is 404", "registration-form", func(b *backend) {
			b.dispute.Name = "regions/141181/disputes/2026-1"
		}, http.StatusNotFound, "未找到"},
		{"routing down is 503 for the slip", "transfer-slip", func(b *backend) {
			b.routingErr = status.Error(codes.Unavailable, "connection refused")
		}, http.StatusServiceUnavailable, "服务暂不可用"},
		{"routing refusal is 403 for the reply", "reply", func(b *backend) {
			b.routingErr = status.Error(codes.PermissionDenied, "not a holder")
		}, http.StatusForbidden, "无权查看"},
		{"no slip yet is 412", "transfer-slip", func(b *backend) {
			b.tracking.TransferSlips = nil
		}, http.StatusPreconditionFailed, "没有流转单"},
		{"no reply yet is 412", "reply", func(b *backend) {
			b.tracking.Reply = nil
		}, http.StatusPreconditionFailed, "尚未书面告知"},
		{"a failed precondition is 412 with the service's word", "reply", func(b *backend) {
			b.routingErr = status.Error(codes.FailedPrecondition, "dispute is ARCHIVED")
		}, http.StatusPreconditionFailed, "dispute is ARCHIVED"},
		{"bad number is 400", "registration-form", func(b *backend) {
			b.intakeErr = status.Error(codes.InvalidArgument, "name: does not match")
		}, http.StatusBadRequest, "编号格式有误"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend()
			tt.set(b)
			code, hdr, body := get(t, start(t, b), base+tt.page, token)
			if code != tt.wantCode {
				t.Errorf("HTTP %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(body, tt.wantTitle) {
				t.Errorf("page lacks %q:\n%s", tt.wantTitle, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestNoTokenIs401WithoutCallingBackends(t *testing.T) {
	b := newBackend()
	code, hdr, body := get(t, start(t, b), base+"registration-form", "")
	if code != http.StatusUnauthorized {
		t.Errorf("HTTP %d, want 401", code)
	}
	if hdr.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	if !strings.Contains(body, "未登录") {
		t.Errorf("page lacks 未登录:\n%s", body)
	}
	if len(b.auth) != 0 {
		t.Errorf("backends called %d times without credentials", len(b.auth))
	}
}

func TestRosterDownStillPrintsWithIDs(t *testing.T) {
	b := newBackend()
	b.rosterErr = status.Error(codes.Unavailable, "meeting down")
	code, _, body := get(t, start(t, b), base+"registration-form", token)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d, want 200", code)
	}
	if !strings.Contains(body, "<td>tax</td>") {
		t.Errorf("registering department not shown by id:\n%s", body)
	}
	// Without the roster no one has a name; the staff id is still not printed.
	if strings.Contains(body, "wang") || !strings.Contains(body, "<td>未登记人员</td>") {
		t.Errorf("registering staff not shown as 未登记人员:\n%s", body)
	}
}

func TestUnknownStaffPrintsNeutralName(t *testing.T) {
	b := newBackend()
	b.dispute.RegisteringStaff, b.dispute.FirstReceiver = "ghost", "ghost"
	b.tracking.TransferSlips[1].Receiver = "nobody"
	for _, page := range []string{"registration-form", "receipt", "transfer-slip"} {
		code, _, body := get(t, start(t, b), base+page, token)
		if code != http.StatusOK {
			t.Fatalf("%s: HTTP %d", page, code)
		}
		if strings.Contains(body, "ghost") || strings.Contains(body, "nobody") {
			t.Errorf("%s shows an unknown staff id", page)
		}
		if !strings.Contains(body, "未登记人员") {
			t.Errorf("%s lacks 未登记人员:\n%s", page, body)
		}
	}
}

func TestReceiptMasksEmployerNumbers(t *testing.T) {
	b := newBackend()
	b.dispute = proto.Clone(sampleDispute()).(*intakev1.Dispute)
	b.dispute.Claimant = &intakev1.Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER,
		Name: "孝义市某煤业有限公司", Phone: "0358-7654321", CreditCode: "91141181MA0K123456"}
	b.dispute.LookupCode = ""
	code, _, body := get(t, start(t, b), base+"receipt", token)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d", code)
	}
	if strings.Contains(body, "0358-7654321") || strings.Contains(body, "91141181MA0K123456") {
		t.Errorf("receipt shows a full number:\n%s", body)
	}
	if strings.Contains(body, "查询码") {
		t.Error("receipt shows a lookup code label though the dispute has none")
	}
}

// TestOfficeSlip prints the slip routing made to the joint-meeting office:
// the office, by its host unit, receives; of two slips made at once (a
// second return and the office's slip) the office's is printed.
func TestOfficeSlip(t *testing.T) {
	b := newBackend()
	b.roster.Leadership = &rosterv1.Leadership{OfficeHostUnit: "tax"}
	made := at("2026-03-03T02:00:00Z")
	b.tracking.TransferSlips = append(b.tracking.TransferSlips,
		&routingv1.TransferSlip{Number: "2026年第4号", RegisteringDepartment: "tax", Opinion: "第二次流转",
			ReceivingDepartment: "hrss", CreateTime: at("2026-03-02T02:00:00Z"), ReturnReason: "仍不属于本部门职责"},
		&routingv1.TransferSlip{Number: "2026年第5号", RegisteringDepartment: "hrss", Opinion: "仍不属于本部门职责",
			ReceivingDepartment: "finance", CreateTime: made, ReturnReason: "退回"},
		&routingv1.TransferSlip{Number: "2026年第6号", RegisteringDepartment: "finance", Opinion: "需多部门共同办理",
			ReceivingDepartment: "tax", CreateTime: made})
	code, _, body := get(t, start(t, b), base+"transfer-slip", token)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d:\n%s", code, body)
	}
	for _, w := range []string{"编号：2026年第6号", "需多部门共同办理", "联席会议办公室（市税务局）", "接收部门联"} {
		if !strings.Contains(body, w) {
			t.Fatalf("office slip lacks %q:\n%s", w, body)
		}
	}
	if strings.Contains(body, "2026年第5号") {
		t.Fatal("the returned slip printed instead of the office's")
	}
}
