package e2e

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
)

// authzRow is one RPC of the authorization matrix.
type authzRow struct {
	// rpc is the method without the "disputes." of its package.
	rpc string
	// on is the fixture the request names.
	on fixtureKind
	// dept is the own department of the role cells; tax when empty.
	dept string
	// actor is the role that acts in this RPC: the expired, wrongly signed
	// and wrong-audience tokens are its, and the other department and
	// other region cells are a holder of it there.
	actor string
	// changes says an allowed call changes the fixture: each allowed cell
	// gets a fixture of its own.
	changes bool
	// want is the code of each cell: clerk, handler, office, convenor,
	// platform and admin of the own department, the actor of another
	// department (justice, no part in any fixture) and of another region;
	// OK, PD (PERMISSION_DENIED), NF (NOT_FOUND) or FP
	// (FAILED_PRECONDITION). "public" is OK for every cell, tokens too.
	// A token that is missing, expired, wrongly signed or for another
	// audience is UNAUTHENTICATED on every RPC that is not public.
	want string
	// req is a well-formed request about f.
	req func(m *matrix, f fixture) proto.Message
}

const parent = "regions/" + region

// authzRows is the matrix: every RPC of the platform has a row
// (TestAuthorizationMatrixCoversEveryRPC), and docs/SECURITY.md shows it
// (TestAuthorizationMatrixDocumented).
var authzRows = []authzRow{
	// intake
	{rpc: "intake.v1.IntakeService/RegisterDispute", actor: authn.RoleClerk, changes: true,
		want: "OK PD PD PD PD PD PD PD PD",
		req:  func(m *matrix, _ fixture) proto.Message { return registrationRequest(m.next()) }},
	{rpc: "intake.v1.IntakeService/GetDispute", on: registered, actor: authn.RoleClerk,
		want: "OK OK OK OK OK PD OK NF PD",
		req:  func(_ *matrix, f fixture) proto.Message { return &intakev1.GetDisputeRequest{Name: f.dispute} }},
	// A batch leaves out what the caller may not read: the other
	// department's answer is empty, not a refusal.
	{rpc: "intake.v1.IntakeService/BatchGetDisputes", on: registered, actor: authn.RoleClerk,
		want: "OK OK OK OK OK PD OK OK PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &intakev1.BatchGetDisputesRequest{Parent: parent, Names: []string{f.dispute}}
		}},
	// A list names the fixture only to those who may read it: a page as
	// long as the run's disputes shows every dispute the caller may read.
	{rpc: "intake.v1.IntakeService/ListDisputes", on: registered, actor: authn.RoleClerk,
		want: "OK OK OK OK PD PD PD OK PD",
		req: func(*matrix, fixture) proto.Message {
			return &intakev1.ListDisputesRequest{Parent: parent, PageSize: 500}
		}},
	{rpc: "intake.v1.IntakeService/WithdrawDispute", on: registered, actor: authn.RoleClerk, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &intakev1.WithdrawDisputeRequest{Name: f.dispute, Reason: "缴费人申请撤回"}
		}},
	// The claimant's lookup: the number and the receipt's code are the
	// credential, whatever token comes with them.
	{rpc: "intake.v1.IntakeService/LookupDispute", on: registered, actor: authn.RoleClerk, want: "public",
		req: func(_ *matrix, f fixture) proto.Message {
			return &intakev1.LookupDisputeRequest{Name: f.dispute, LookupCode: f.lookupCode}
		}},

	// routing
	{rpc: "routing.v1.RoutingService/RouteDispute", on: registered, actor: authn.RoleClerk, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.RouteDisputeRequest{Name: f.dispute, Kind: routingv1.RouteKind_ROUTE_KIND_SELF, Opinion: "属本单位职责"}
		}},
	{rpc: "routing.v1.RoutingService/ReceiveTransfer", on: transferred, dept: "hrss", actor: authn.RoleHandler, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req:  func(_ *matrix, f fixture) proto.Message { return &routingv1.ReceiveTransferRequest{Name: f.dispute} }},
	{rpc: "routing.v1.RoutingService/ReturnTransfer", on: transferred, dept: "hrss", actor: authn.RoleHandler, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.ReturnTransferRequest{Name: f.dispute, Reason: "不属于本部门职责"}
		}},
	{rpc: "routing.v1.RoutingService/ListWorklist", actor: authn.RoleClerk,
		want: "OK OK OK OK OK PD OK PD PD",
		req: func(*matrix, fixture) proto.Message {
			return &routingv1.ListWorklistRequest{Parent: parent + "/departments/tax"}
		}},
	{rpc: "routing.v1.RoutingService/RecordReply", on: handling, actor: authn.RoleHandler, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.RecordReplyRequest{Name: f.dispute, Outcome: "已核实", Text: "经核查，单位已补申报。"}
		}},
	{rpc: "routing.v1.RoutingService/RecordObjection", on: replied, actor: authn.RoleHandler, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.RecordObjectionRequest{Name: f.dispute, Remedy: typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION}
		}},
	{rpc: "routing.v1.RoutingService/GetTracking", on: registered, actor: authn.RoleClerk,
		want: "OK OK OK OK OK PD OK NF PD",
		req:  func(_ *matrix, f fixture) proto.Message { return &routingv1.GetTrackingRequest{Name: f.dispute} }},
	// Every staff role learns which calendar years are missing.
	{rpc: "routing.v1.RoutingService/GetCalendarStatus", actor: authn.RoleClerk,
		want: "OK OK OK OK OK OK OK OK PD",
		req: func(*matrix, fixture) proto.Message {
			return &routingv1.GetCalendarStatusRequest{Name: parent + "/calendarStatus"}
		}},
	{rpc: "routing.v1.RoutingService/AddProgressNote", on: handling, actor: authn.RoleHandler,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.AddProgressNoteRequest{Name: f.dispute, Text: "已调取工资台账"}
		}},
	{rpc: "routing.v1.RoutingService/PauseClock", on: handling, actor: authn.RoleHandler, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.PauseClockRequest{Name: f.dispute, Reason: "等待缴费人补充材料"}
		}},
	{rpc: "routing.v1.RoutingService/ResumeClock", on: paused, actor: authn.RoleHandler, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req:  func(_ *matrix, f fixture) proto.Message { return &routingv1.ResumeClockRequest{Name: f.dispute} }},
	{rpc: "routing.v1.RoutingService/RequestExtension", on: handling, actor: authn.RoleHandler, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.RequestExtensionRequest{Name: f.dispute, Days: 10, Reason: "需调取历年工资台账"}
		}},
	// The head of the handling unit decides: the head cell, the head the
	// roster lists for tax; another unit's head may not read it.
	{rpc: "routing.v1.RoutingService/DecideExtension", on: extensionAsked, actor: authn.RoleHead, changes: true,
		want: "PD PD PD PD PD PD OK NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.DecideExtensionRequest{Name: f.dispute, Approve: true, Comment: "同意延期"}
		}},
	{rpc: "routing.v1.RoutingService/RecordFollowUp", on: replied, actor: authn.RoleHandler,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.RecordFollowUpRequest{Name: f.dispute, Satisfied: true, Note: "缴费人满意"}
		}},
	{rpc: "routing.v1.RoutingService/RedoDispute", on: dissatisfied, actor: authn.RoleOffice, changes: true,
		want: "PD PD OK PD PD PD PD OK PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.RedoDisputeRequest{Name: f.dispute, Reason: "答复未回应诉求"}
		}},
	{rpc: "routing.v1.RoutingService/RecordDelivery", on: replied, actor: authn.RoleHandler, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.RecordDeliveryRequest{Name: f.dispute, Method: routingv1.DeliveryMethod_DELIVERY_METHOD_DIRECT,
				DeliveryDate: time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02"), Recipient: "张三"}
		}},
	{rpc: "routing.v1.RoutingService/CloseDispute", on: replied, actor: authn.RoleHandler, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &routingv1.CloseDisputeRequest{Name: f.dispute, Reason: "办结"}
		}},

	// meeting: the joint-meeting office, the convenor and the platform
	{rpc: "meeting.v1.MeetingService/TriageMatter", on: atOffice, actor: authn.RoleOffice, changes: true,
		want: "PD PD OK PD PD PD PD OK PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &meetingv1.TriageMatterRequest{Name: f.dispute, Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL, Note: "梳理分类"}
		}},
	{rpc: "meeting.v1.MeetingService/ConveneMeeting", on: jointHandling, actor: authn.RoleOffice,
		want: "PD PD OK PD PD PD PD OK PD",
		req: func(m *matrix, f fixture) proto.Message {
			return &meetingv1.ConveneMeetingRequest{Parent: parent, RequestId: fmt.Sprintf("authz-meeting-%d", m.next()),
				Meeting: &meetingv1.Meeting{Disputes: []string{f.dispute}, InvitedUnits: []string{"tax", "hrss"},
					Place: "市税务局三楼会议室", Agenda: "缴费基数争议联办"}}
		}},
	{rpc: "meeting.v1.MeetingService/SubmitOpinion", on: inMeeting, actor: authn.RoleHandler,
		want: "PD OK OK PD PD PD PD NF PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &meetingv1.SubmitOpinionRequest{Parent: f.meeting, Opinion: &meetingv1.Opinion{Dispute: f.dispute, Text: "同意补缴"}}
		}},
	{rpc: "meeting.v1.MeetingService/IssueDecision", on: opinionsIn, actor: authn.RoleOffice, changes: true,
		want: "PD PD OK PD PD PD PD OK PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &meetingv1.IssueDecisionRequest{Name: f.dispute, Outcome: "责令补缴", Text: "经联席会议研究，单位应补申报缴费基数。"}
		}},
	{rpc: "meeting.v1.MeetingService/RequestApproval", on: awaitingApproval, actor: authn.RoleOffice, changes: true,
		want: "PD PD OK PD PD PD PD OK PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &meetingv1.RequestApprovalRequest{Parent: parent, Dispute: f.dispute, Summary: "涉及多家单位，拟纳入一站式平台"}
		}},
	{rpc: "meeting.v1.MeetingService/DecideApproval", on: approvalAsked, dept: "gov_office", actor: authn.RoleConvenor, changes: true,
		want: "PD PD PD OK PD PD PD OK PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &meetingv1.DecideApprovalRequest{Name: f.approval, Approve: true, Comment: "同意"}
		}},
	{rpc: "meeting.v1.MeetingService/RecordPlatformOutcome", on: atPlatform, dept: "plc", actor: authn.RolePlatform, changes: true,
		want: "PD PD PD PD OK PD PD OK PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &meetingv1.RecordPlatformOutcomeRequest{Name: f.dispute, Outcome: "调解成功", Text: "双方达成分期补缴协议。"}
		}},

	// The office's records: meetings are read by the office, the convenor
	// and the units invited (a unit not invited gets the answer for a
	// meeting that does not exist); minutes are recorded by the office.
	{rpc: "meeting.v1.MeetingService/GetMeeting", on: minuted, actor: authn.RoleHandler,
		want: "OK OK OK OK OK PD PD NF PD",
		req:  func(_ *matrix, f fixture) proto.Message { return &meetingv1.GetMeetingRequest{Name: f.meeting} }},
	{rpc: "meeting.v1.MeetingService/ListMeetings", on: minuted, actor: authn.RoleHandler,
		want: "OK OK OK OK OK PD PD OK PD",
		req: func(*matrix, fixture) proto.Message {
			return &meetingv1.ListMeetingsRequest{Parent: parent, PageSize: 500}
		}},
	{rpc: "meeting.v1.MeetingService/RecordMinutes", on: inMeeting, actor: authn.RoleOffice, changes: true,
		want: "PD PD OK PD PD PD PD OK PD",
		req: func(_ *matrix, f fixture) proto.Message {
			return &meetingv1.RecordMinutesRequest{Name: f.meeting, Minutes: minutes()}
		}},
	// Approvals: the office and the convenor read every one, the platform
	// those approved (a pending one is not found for it).
	{rpc: "meeting.v1.MeetingService/GetApproval", on: approvalAsked, actor: authn.RoleOffice,
		want: "PD PD OK OK NF PD PD OK PD",
		req:  func(_ *matrix, f fixture) proto.Message { return &meetingv1.GetApprovalRequest{Name: f.approval} }},
	{rpc: "meeting.v1.MeetingService/ListApprovals", on: atPlatform, actor: authn.RoleOffice,
		want: "PD PD OK OK OK PD PD OK PD",
		req: func(*matrix, fixture) proto.Message {
			return &meetingv1.ListApprovalsRequest{Parent: parent, PageSize: 500}
		}},
	// Mass-dispute warnings: read by the units addressed (the petition
	// bureau, and tax as the office's host), the office and the convenor;
	// acknowledged by the petition bureau. Another unit gets the answer for
	// a warning that does not exist.
	{rpc: "meeting.v1.MeetingService/GetMassWarning", on: warned, dept: "petition", actor: authn.RoleHandler,
		want: "OK OK OK OK PD PD PD NF PD",
		req:  func(_ *matrix, f fixture) proto.Message { return &meetingv1.GetMassWarningRequest{Name: f.warning} }},
	{rpc: "meeting.v1.MeetingService/ListMassWarnings", on: warned, dept: "petition", actor: authn.RoleHandler,
		want: "OK OK OK OK PD PD PD OK PD",
		req: func(*matrix, fixture) proto.Message {
			return &meetingv1.ListMassWarningsRequest{Parent: parent, PageSize: 500}
		}},
	{rpc: "meeting.v1.MeetingService/AcknowledgeMassWarning", on: warned, dept: "petition", actor: authn.RoleHandler, changes: true,
		want: "OK OK OK PD PD PD PD NF PD",
		req: func(m *matrix, f fixture) proto.Message {
			return &meetingv1.AcknowledgeMassWarningRequest{Name: f.warning, RequestId: fmt.Sprintf("authz-ack-%d", m.next()),
				Note: "已安排专人提前介入"}
		}},

	// roster
	{rpc: "roster.v1.RosterService/GetRoster", actor: authn.RoleClerk,
		want: "OK OK OK OK OK OK OK OK PD",
		req:  func(*matrix, fixture) proto.Message { return &rosterv1.GetRosterRequest{Name: parent + "/roster"} }},
	{rpc: "roster.v1.RosterService/UpdateRoster", actor: authn.RoleAdmin, changes: true,
		want: "PD PD PD PD PD OK PD OK PD",
		req: func(m *matrix, _ fixture) proto.Message {
			// The region's name as it is, under the current etag: a
			// change that changes nothing.
			r := m.roster()
			return &rosterv1.UpdateRosterRequest{
				Roster:     &rosterv1.Roster{Name: r.GetName(), RegionName: r.GetRegionName(), Etag: r.GetEtag()},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"region_name"}}, Reason: "核对地区名称",
			}
		}},

	{rpc: "roster.v1.RosterService/ListRosterChanges", actor: authn.RoleAdmin,
		want: "PD PD OK PD PD OK PD OK PD",
		req: func(*matrix, fixture) proto.Message {
			return &rosterv1.ListRosterChangesRequest{Parent: parent + "/roster", PageSize: 20}
		}},

	// archive
	{rpc: "archive.v1.ArchiveService/GetDossier", on: registered, actor: authn.RoleClerk,
		want: "OK OK OK OK OK PD PD NF PD",
		req:  func(_ *matrix, f fixture) proto.Message { return &archivev1.GetDossierRequest{Name: f.dispute} }},
	{rpc: "archive.v1.ArchiveService/SearchDossiers", on: registered, actor: authn.RoleClerk,
		want: "OK OK OK OK OK PD PD OK PD",
		req: func(*matrix, fixture) proto.Message {
			return &archivev1.SearchDossiersRequest{Parent: parent, PageSize: 500}
		}},
	{rpc: "archive.v1.ArchiveService/GetStatistics", actor: authn.RoleClerk,
		want: "OK OK OK OK OK PD PD OK PD",
		req:  func(*matrix, fixture) proto.Message { return &archivev1.GetStatisticsRequest{Parent: parent} }},
	{rpc: "archive.v1.ArchiveService/GetInclusionProof", on: sealed, actor: authn.RoleClerk,
		want: "OK OK OK OK OK PD PD NF PD",
		req:  func(_ *matrix, f fixture) proto.Message { return &archivev1.GetInclusionProofRequest{Name: f.dispute} }},
	{rpc: "archive.v1.ArchiveService/ExportDossier", on: sealed, actor: authn.RoleClerk,
		want: "OK OK OK OK OK PD PD NF PD",
		req:  func(_ *matrix, f fixture) proto.Message { return &archivev1.ExportDossierRequest{Name: f.dispute} }},
	// The sealed log's checkpoints and tiles hold hashes only: public.
	{rpc: "archive.v1.ArchiveService/GetCheckpoint", on: sealed, actor: authn.RoleClerk, want: "public",
		req: func(*matrix, fixture) proto.Message { return &archivev1.GetCheckpointRequest{Parent: parent} }},
	{rpc: "archive.v1.ArchiveService/ListCheckpoints", on: sealed, actor: authn.RoleClerk, want: "public",
		req: func(*matrix, fixture) proto.Message { return &archivev1.ListCheckpointsRequest{Parent: parent} }},
	{rpc: "archive.v1.ArchiveService/GetConsistencyProof", on: sealed, actor: authn.RoleClerk, want: "public",
		req: func(*matrix, fixture) proto.Message {
			return &archivev1.GetConsistencyProofRequest{Parent: parent, FromSize: 1}
		}},
	{rpc: "archive.v1.ArchiveService/GetLogTile", on: sealed, actor: authn.RoleClerk, want: "public",
		req: func(m *matrix, _ fixture) proto.Message {
			// The first tile, as wide as the latest tree.
			return &archivev1.GetLogTileRequest{Parent: parent, Level: 0, Index: 0, Width: int32(m.treeSize() % 256)}
		}},
}

// roster reads the region's roster as an administrator.
func (m *matrix) roster() *rosterv1.Roster {
	m.t.Helper()
	c := m.as(context.Background(), m.staff(region, "tax", authn.RoleAdmin))
	resp, err := rosterv1.NewRosterServiceClient(m.conns["meeting"]).GetRoster(c.ctx, &rosterv1.GetRosterRequest{Name: parent + "/roster"})
	if err != nil {
		m.t.Fatalf("read the roster: %v", err)
	}
	return resp.GetRoster()
}

// treeSize is the size of the region's latest checkpoint.
func (m *matrix) treeSize() int64 {
	m.t.Helper()
	resp, err := archivev1.NewArchiveServiceClient(m.conns["archive"]).GetCheckpoint(context.Background(),
		&archivev1.GetCheckpointRequest{Parent: parent})
	if err != nil {
		m.t.Fatalf("read the checkpoint: %v", err)
	}
	return resp.GetTreeSize()
}

// TestAuthorizationMatrixCoversEveryRPC fails for an RPC without a row, and
// for a service declared in proto/ whose generated package this test does
// not import (its RPCs would go unseen).
func TestAuthorizationMatrixCoversEveryRPC(t *testing.T) {
	packageRE := regexp.MustCompile(`(?m)^package\s+([\w.]+)\s*;`)
	serviceRE := regexp.MustCompile(`(?m)^service\s+(\w+)\s*\{`)
	var declared int
	err := filepath.WalkDir("../proto/disputes", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".proto") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pkg := packageRE.FindSubmatch(src)
		for _, svc := range serviceRE.FindAllSubmatch(src, -1) {
			declared++
			name := string(pkg[1]) + "." + string(svc[1])
			if _, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name)); err != nil {
				t.Errorf("%s declares %s, which is not registered: import its generated package in e2e/authz_harness_test.go", path, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if declared == 0 {
		t.Fatal("no service declared under ../proto/disputes")
	}
	checkCoverage(t, authzRows, platformRPCs())
}

// TestAuthorizationMatrix calls every RPC of the platform as every cell of
// its row (authzRows), over gRPC and through the gateway, against the
// real processes, and asserts each answer's code.
func TestAuthorizationMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	rpcs := platformRPCs()
	checkCoverage(t, authzRows, rpcs)
	if t.Failed() {
		t.FailNow()
	}
	p := startPlatform(t)
	m := newMatrix(t, p)
	ctx := context.Background()
	m.prepare(ctx, authzRows, rpcs)
	for _, r := range authzRows {
		t.Run(r.rpc, func(t *testing.T) {
			t.Parallel()
			m.run(t, ctx, r, rpcs[r.rpc])
		})
	}
}

var updateDocs = flag.Bool("update-docs", false, "rewrite the authorization matrix in docs/SECURITY.md from authzRows")

// The table sits between these lines of docs/SECURITY.md.
const (
	matrixBegin = "<!-- authorization matrix: generated from e2e/authz_matrix_test.go; go test ./e2e -run TestAuthorizationMatrixDocumented -update-docs -->"
	matrixEnd   = "<!-- end of the authorization matrix -->"
)

var docWords = map[codes.Code]string{
	codes.OK:                 "allowed",
	codes.PermissionDenied:   "403 denied",
	codes.NotFound:           "404 not found",
	codes.FailedPrecondition: "400 precondition",
}

// matrixTable renders authzRows as the Markdown table of docs/SECURITY.md.
func matrixTable() string {
	rpcs := platformRPCs()
	var b strings.Builder
	b.WriteString("| RPC | the dispute it names | own department | clerk | handler | office | convenor | platform | admin | head | actor | other department | other region |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range authzRows {
		want, err := parseWant(r.want)
		if err != nil {
			panic(err)
		}
		name := r.rpc
		if md, ok := rpcs[r.rpc]; ok && httpRule(md) == nil {
			name += " (gRPC only)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |", name, fixtureText[r.on], r.department())
		if r.want == "public" {
			b.WriteString(" public: allowed to anyone, with or without a token | | | | | | | | | |\n")
			continue
		}
		for _, c := range wantCells[:7] {
			fmt.Fprintf(&b, " %s |", docWords[want[c]])
		}
		fmt.Fprintf(&b, " %s | %s | %s |\n", r.actor, docWords[want[cellOtherDepartment]], docWords[want[cellOtherRegion]])
	}
	return b.String()
}

// TestAuthorizationMatrixDocumented checks that docs/SECURITY.md shows the
// matrix the end-to-end test asserts.
func TestAuthorizationMatrixDocumented(t *testing.T) {
	const file = "../docs/SECURITY.md"
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	begin, end := strings.Index(doc, matrixBegin), strings.Index(doc, matrixEnd)
	if begin < 0 || end < begin {
		t.Fatalf("%s lacks the lines\n%s\n%s\naround the authorization matrix", file, matrixBegin, matrixEnd)
	}
	table := matrixTable()
	current := strings.TrimSpace(doc[begin+len(matrixBegin) : end])
	if current == strings.TrimSpace(table) {
		return
	}
	if *updateDocs {
		doc = doc[:begin+len(matrixBegin)] + "\n" + table + doc[end:]
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the authorization matrix in %s differs from authzRows; run go test ./e2e -run TestAuthorizationMatrixDocumented -update-docs, or paste:\n%s", file, table)
}
