package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	_ "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
)

// This file is the machinery of the authorization matrix
// (authz_matrix_test.go): the RPCs read from the registered descriptors,
// the cells and their tokens, the fixtures, and one call of an RPC over
// gRPC or through the gateway, built from the request message and the
// RPC's HTTP rule.

// processOf is the process serving each service of the platform.
var processOf = map[string]string{
	"disputes.intake.v1.IntakeService":   "intake",
	"disputes.routing.v1.RoutingService": "routing",
	"disputes.meeting.v1.MeetingService": "meeting",
	"disputes.roster.v1.RosterService":   "meeting",
	"disputes.archive.v1.ArchiveService": "archive",
}

// platformRPCs returns every method of every service the generated code
// registers under the disputes.* packages, keyed by its matrix name
// ("intake.v1.IntakeService/GetDispute").
func platformRPCs() map[string]protoreflect.MethodDescriptor {
	out := map[string]protoreflect.MethodDescriptor{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "disputes.") {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				out[rpcName(md)] = md
			}
		}
		return true
	})
	return out
}

// rpcName is a method's name in the matrix: its full name without the
// "disputes." every package starts with.
func rpcName(md protoreflect.MethodDescriptor) string {
	return strings.TrimPrefix(string(md.Parent().FullName()), "disputes.") + "/" + string(md.Name())
}

// fullMethod is the gRPC path of md.
func fullMethod(md protoreflect.MethodDescriptor) string {
	return "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
}

// httpRule is md's google.api.http binding, nil when it has none.
func httpRule(md protoreflect.MethodDescriptor) *annotations.HttpRule {
	opts := md.Options()
	if opts == nil || !proto.HasExtension(opts, annotations.E_Http) {
		return nil
	}
	rule, _ := proto.GetExtension(opts, annotations.E_Http).(*annotations.HttpRule)
	return rule
}

// The cells of a row: four tokens that must not pass, each role of the own
// department, and the row's actor in another department and another region.
type cell int

const (
	cellNoToken cell = iota
	cellExpired
	cellBadSignature
	cellWrongAudience
	cellClerk
	cellHandler
	cellOffice
	cellConvenor
	cellPlatform
	cellAdmin
	cellHead
	cellOtherDepartment
	cellOtherRegion
	cellCount
)

// tokenCells are refused by the interceptor before the handler runs
// (UNAUTHENTICATED), except on a public RPC.
var tokenCells = []cell{cellNoToken, cellExpired, cellBadSignature, cellWrongAudience}

// wantCells are the cells a row's want spells out, in its order.
var wantCells = []cell{cellClerk, cellHandler, cellOffice, cellConvenor, cellPlatform, cellAdmin, cellHead, cellOtherDepartment, cellOtherRegion}

var cellNames = [cellCount]string{
	"no token", "expired token", "wrong signature", "wrong audience",
	authn.RoleClerk, authn.RoleHandler, authn.RoleOffice, authn.RoleConvenor, authn.RolePlatform, authn.RoleAdmin, authn.RoleHead,
	"other department", "other region",
}

func (c cell) String() string { return cellNames[c] }

// role is the role a role cell holds ("" for the other cells).
func (c cell) role() string {
	if c >= cellClerk && c <= cellHead {
		return cellNames[c]
	}
	return ""
}

// The departments and region of the cells that have no part in any
// fixture: no fixture registers, routes to, invites or hosts justice.
const (
	outsiderDepartment = "justice"
	otherRegion        = "141102"
)

// Expected answers as a row's want spells them.
var wantCodes = map[string]codes.Code{
	"OK": codes.OK,
	"PD": codes.PermissionDenied,
	"NF": codes.NotFound,
	"FP": codes.FailedPrecondition,
}

// parseWant reads a row's want: "public" (every cell, tokens included, is
// OK) or one code per cell of wantCells. Token cells are UNAUTHENTICATED
// unless public.
func parseWant(want string) ([cellCount]codes.Code, error) {
	var out [cellCount]codes.Code
	if want == "public" {
		return out, nil
	}
	f := strings.Fields(want)
	if len(f) != len(wantCells) {
		return out, fmt.Errorf("want %q: %d codes, want %d (%v)", want, len(f), len(wantCells), wantCells)
	}
	for _, c := range tokenCells {
		out[c] = codes.Unauthenticated
	}
	for i, c := range wantCells {
		code, ok := wantCodes[f[i]]
		if !ok {
			return out, fmt.Errorf("want %q: %q is none of OK, PD, NF, FP", want, f[i])
		}
		out[c] = code
	}
	return out, nil
}

// tokenReason is the ErrorInfo reason of each refused token.
var tokenReason = map[cell]string{
	cellNoToken:       apierr.ReasonUnauthenticated,
	cellExpired:       apierr.ReasonTokenExpired,
	cellBadSignature:  apierr.ReasonTokenInvalid,
	cellWrongAudience: apierr.ReasonTokenInvalid,
}

// httpStatus is the gateway's status for a code (grpc-gateway's mapping).
var httpStatus = map[codes.Code]int{
	codes.OK:                 http.StatusOK,
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.FailedPrecondition: http.StatusBadRequest,
	codes.Unauthenticated:    http.StatusUnauthorized,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.NotFound:           http.StatusNotFound,
	codes.AlreadyExists:      http.StatusConflict,
	codes.Aborted:            http.StatusConflict,
	codes.ResourceExhausted:  http.StatusTooManyRequests,
	codes.Unavailable:        http.StatusServiceUnavailable,
	codes.Internal:           http.StatusInternalServerError,
}

// fixtureKind is the state of the dispute a row's request names.
type fixtureKind int

const (
	noDispute fixtureKind = iota
	registered
	transferred
	handling
	paused
	extensionAsked
	replied
	dissatisfied
	sealed
	atOffice
	jointHandling
	inMeeting
	opinionsIn
	awaitingApproval
	approvalAsked
	atPlatform
	minuted
	warned
)

// fixtureText describes each fixture in the documentation's table.
var fixtureText = map[fixtureKind]string{
	noDispute:        "—",
	registered:       "registered by tax",
	transferred:      "transferred by tax to hrss",
	handling:         "handled by tax (routed SELF)",
	paused:           "handled by tax, clock paused",
	extensionAsked:   "handled by tax, extension asked",
	replied:          "replied by tax",
	dissatisfied:     "replied by tax, claimant dissatisfied",
	sealed:           "closed and sealed",
	atOffice:         "at the office (host: tax)",
	jointHandling:    "triaged general",
	inMeeting:        "in a meeting of tax and hrss",
	opinionsIn:       "meeting's opinions all in",
	awaitingApproval: "triaged major",
	approvalAsked:    "approval asked",
	atPlatform:       "approved, at the platform",
	minuted:          "meeting of tax and hrss, minutes recorded",
	warned:           "registered by tax for six people: a mass-dispute warning to petition and tax",
}

// fixture names what a request may refer to.
type fixture struct {
	dispute, meeting, approval, warning string
	// lookupCode is the receipt's lookup code of the dispute.
	lookupCode string
}

// ghost is a fixture naming a dispute, a meeting and an approval that do
// not exist.
func ghost() fixture {
	year := time.Now().In(time.FixedZone("CST", 8*3600)).Year()
	return fixture{
		dispute:  fmt.Sprintf("regions/%s/disputes/%d-987654321", region, year),
		meeting:  "regions/" + region + "/meetings/ghost-0",
		approval: "regions/" + region + "/approvals/ghost-0",
		warning:  "regions/" + region + "/massWarnings/ghost-0",
	}
}

// hide replaces the fixture's names in msg, so answers about two fixtures
// compare equal when they differ only in the name asked for.
func (f fixture) hide(msg string) string {
	for _, n := range []string{f.warning, f.approval, f.meeting, f.dispute} {
		if n != "" {
			msg = strings.ReplaceAll(msg, n, "<name>")
		}
	}
	return msg
}

// answer is what one call got.
type answer struct {
	code   codes.Code
	reason string
	msg    string
	http   int    // the HTTP status through the gateway; 0 over gRPC
	body   string // the answer, as JSON
}

func (a answer) String() string {
	s := fmt.Sprintf("%v %q %q", a.code, a.reason, a.msg)
	if a.http != 0 {
		s = fmt.Sprintf("HTTP %d, %s", a.http, s)
	}
	return s
}

// matrix is one running platform with the clients, tokens and fixtures of
// the authorization matrix.
type matrix struct {
	t     *testing.T
	p     *platform
	conns map[string]*grpc.ClientConn // process -> connection, no token of its own
	priv  ed25519.PrivateKey
	kid   string
	other ed25519.PrivateKey // a key the platform does not know
	seq   atomic.Int64

	mu    sync.Mutex
	fresh map[string][]fixture // row -> fixtures of its own, one per allowed call
	own   map[string]fixture   // row -> the fixture of its refused calls
}

func newMatrix(t *testing.T, p *platform) *matrix {
	t.Helper()
	priv, err := authn.LoadPrivateKey(p.key)
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m := &matrix{t: t, p: p, conns: map[string]*grpc.ClientConn{}, priv: priv,
		kid: authn.KeyID(priv.Public().(ed25519.PublicKey)), other: other,
		fresh: map[string][]fixture{}, own: map[string]fixture{}}
	for _, svc := range services {
		c, err := grpc.NewClient(p.grpc[svc], clientTLS(t, p.certs, "client", svc))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		m.conns[svc] = c
	}
	return m
}

// next returns a number no other call of the run uses.
func (m *matrix) next() int { return int(m.seq.Add(1)) }

// mint signs a token for id with the platform's key (or s's changes).
func (m *matrix) mint(s authn.Signer, id authn.Identity) string {
	m.t.Helper()
	if s.Key == nil {
		s.Key = m.priv
	}
	tok, err := s.Issue(id, time.Hour)
	if err != nil {
		m.t.Fatal(err)
	}
	return tok
}

// staff returns a valid token of dept in region with roles, for a staff
// id of its own, so no two kinds of caller share a staff id.
func (m *matrix) staff(region, dept string, roles ...string) string {
	id := fmt.Sprintf("%s-%s-%s", region, dept, strings.Join(roles, "-"))
	return m.mint(authn.Signer{}, authn.Identity{Region: region, Department: dept, Staff: id, Roles: roles})
}

// token returns the token of cell c of row r ("" for no token).
func (m *matrix) token(r authzRow, c cell) string {
	own := authn.Identity{Region: region, Department: r.department(), Staff: r.department() + "-" + r.actor, Roles: []string{r.actor}}
	switch c {
	case cellNoToken:
		return ""
	case cellExpired:
		hoursAgo := func() time.Time { return time.Now().Add(-2 * time.Hour) }
		return m.mint(authn.Signer{Now: hoursAgo}, own)
	case cellBadSignature:
		// Our key's id, another key's signature.
		return m.mint(authn.Signer{Key: m.other, KeyID: m.kid}, own)
	case cellWrongAudience:
		return m.mint(authn.Signer{Audience: "payroll"}, own)
	case cellOtherDepartment:
		return m.staff(region, outsiderDepartment, r.actor)
	case cellOtherRegion:
		return m.staff(otherRegion, r.department(), r.actor)
	}
	if c == cellHead {
		if head, ok := rosterHeads[r.department()]; ok {
			return m.mint(authn.Signer{}, authn.Identity{Region: region, Department: r.department(), Staff: head, Roles: []string{authn.RoleHead}})
		}
	}
	return m.staff(region, r.department(), c.role())
}

// rosterHeads are the heads deploy/roster/141181.json lists for the units
// that list their staff: the head cell of such a unit is its head, who
// decides its extensions (routing checks the roster).
var rosterHeads = map[string]string{"tax": "wangxj", "hrss": "wangzm"}

// transport is how a call reaches its service: over gRPC (rule nil) or
// through the gateway by one of the RPC's HTTP bindings.
type transport struct {
	name string
	rule *annotations.HttpRule
}

// transports are gRPC and every HTTP binding of md, additional ones too.
func transports(md protoreflect.MethodDescriptor) []transport {
	out := []transport{{name: "gRPC"}}
	rule := httpRule(md)
	if rule == nil {
		return out
	}
	for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
		verb, pattern := binding(r)
		out = append(out, transport{name: "HTTP " + verb + " " + pattern, rule: r})
	}
	return out
}

// binding returns the HTTP method and path pattern of rule.
func binding(rule *annotations.HttpRule) (verb, pattern string) {
	switch {
	case rule.GetGet() != "":
		return http.MethodGet, rule.GetGet()
	case rule.GetPost() != "":
		return http.MethodPost, rule.GetPost()
	case rule.GetPatch() != "":
		return http.MethodPatch, rule.GetPatch()
	case rule.GetPut() != "":
		return http.MethodPut, rule.GetPut()
	case rule.GetDelete() != "":
		return http.MethodDelete, rule.GetDelete()
	}
	return "", ""
}

// call makes one call of md with req by tr.
func (m *matrix) call(ctx context.Context, md protoreflect.MethodDescriptor, tr transport, token string, req proto.Message) answer {
	m.t.Helper()
	if tr.rule != nil {
		return m.httpCall(ctx, tr.rule, token, req)
	}
	return m.grpcCall(ctx, md, token, req)
}

func (m *matrix) grpcCall(ctx context.Context, md protoreflect.MethodDescriptor, token string, req proto.Message) answer {
	m.t.Helper()
	conn := m.conns[processOf[string(md.Parent().FullName())]]
	if token != "" {
		ctx = authn.WithToken(ctx, token)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp := dynamicpb.NewMessage(md.Output())
	err := conn.Invoke(ctx, fullMethod(md), req, resp)
	st := status.Convert(err)
	a := answer{code: st.Code(), reason: apierr.Reason(err), msg: st.Message()}
	if err == nil {
		b, _ := protojson.Marshal(resp)
		a.body = string(b)
	}
	return a
}

var pathVarRE = regexp.MustCompile(`\{([a-z_.]+)(?:=[^}]*)?\}`)

// httpRequest builds the gateway request of req by an HTTP rule: path
// variables from the fields they name, the body the rule names, and, for a
// rule without a body, the remaining fields as query parameters.
func httpRequest(rule *annotations.HttpRule, req proto.Message) (verb, target string, body []byte, err error) {
	verb, pattern := binding(rule)
	if pattern == "" {
		return "", "", nil, fmt.Errorf("%s: HTTP rule without a pattern", req.ProtoReflect().Descriptor().FullName())
	}
	var inPath []string
	target = pathVarRE.ReplaceAllStringFunc(pattern, func(v string) string {
		field := pathVarRE.FindStringSubmatch(v)[1]
		inPath = append(inPath, field)
		val, ferr := fieldString(req.ProtoReflect(), field)
		if ferr != nil && err == nil {
			err = ferr
		}
		return val
	})
	if err != nil {
		return "", "", nil, err
	}
	switch rule.GetBody() {
	case "*":
		body, err = protojson.Marshal(req)
	case "":
		var fields map[string]any
		raw, merr := protojson.MarshalOptions{UseProtoNames: true}.Marshal(req)
		if merr != nil {
			return "", "", nil, merr
		}
		if err := json.Unmarshal(raw, &fields); err != nil {
			return "", "", nil, err
		}
		for _, f := range inPath {
			delete(fields, f)
		}
		q := url.Values{}
		flatten("", fields, q)
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
	default:
		fd := req.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(rule.GetBody()))
		if fd == nil || fd.Message() == nil {
			return "", "", nil, fmt.Errorf("%s: body field %q", req.ProtoReflect().Descriptor().FullName(), rule.GetBody())
		}
		body, err = protojson.Marshal(req.ProtoReflect().Get(fd).Message().Interface())
	}
	return verb, target, body, err
}

// fieldString reads the string field at a dotted path of m.
func fieldString(m protoreflect.Message, path string) (string, error) {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(p))
		if fd == nil {
			return "", fmt.Errorf("%s has no field %q", m.Descriptor().FullName(), path)
		}
		if i == len(parts)-1 {
			return m.Get(fd).String(), nil
		}
		m = m.Get(fd).Message()
	}
	return "", nil
}

// flatten adds the JSON value v as query parameters: nested objects by
// dotted names, lists as repeated parameters.
func flatten(prefix string, v any, q url.Values) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, x[k], q)
		}
	case []any:
		for _, e := range x {
			flatten(prefix, e, q)
		}
	default:
		q.Add(prefix, fmt.Sprint(x))
	}
}

func (m *matrix) httpCall(ctx context.Context, rule *annotations.HttpRule, token string, req proto.Message) answer {
	m.t.Helper()
	verb, target, body, err := httpRequest(rule, req)
	if err != nil {
		m.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, verb, m.p.gateway+target, bytes.NewReader(body))
	if err != nil {
		m.t.Fatal(err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return answer{code: codes.Unavailable, msg: err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{http: resp.StatusCode, body: string(raw)}
	if resp.StatusCode == http.StatusOK {
		return a
	}
	var st spb.Status
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &st); err != nil {
		a.code, a.msg = codes.Unknown, fmt.Sprintf("body not a google.rpc.Status: %v: %s", err, raw)
		return a
	}
	a.code, a.msg = codes.Code(st.GetCode()), st.GetMessage()
	for _, d := range st.GetDetails() {
		var info errdetails.ErrorInfo
		if d.MessageIs(&info) && d.UnmarshalTo(&info) == nil {
			a.reason = info.GetReason()
		}
	}
	return a
}

// Fixtures are made over gRPC by the staff who would make them.

// staffClients are the typed clients of one caller.
type staffClients struct {
	ctx     context.Context
	intake  intakev1.IntakeServiceClient
	routing routingv1.RoutingServiceClient
	meeting meetingv1.MeetingServiceClient
	archive archivev1.ArchiveServiceClient
}

func (m *matrix) as(ctx context.Context, token string) staffClients {
	return staffClients{
		ctx:     authn.WithToken(ctx, token),
		intake:  intakev1.NewIntakeServiceClient(m.conns["intake"]),
		routing: routingv1.NewRoutingServiceClient(m.conns["routing"]),
		meeting: meetingv1.NewMeetingServiceClient(m.conns["meeting"]),
		archive: archivev1.NewArchiveServiceClient(m.conns["archive"]),
	}
}

// registration returns a well-formed registration form of a tax clerk
// for claimant number n (a phone of its own, so no two fixtures link).
func registrationRequest(n int) *intakev1.RegisterDisputeRequest {
	return &intakev1.RegisterDisputeRequest{
		Parent: "regions/" + region, RequestId: fmt.Sprintf("authz-%d", n),
		Dispute: &intakev1.Dispute{
			Claimant: &intakev1.Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL,
				Name: "赵六", Phone: fmt.Sprintf("139%08d", n)},
			Complaint: "单位未按实际工资申报缴费基数", Category: typesv1.Category_CATEGORY_BASE_DECLARATION,
			Channel: typesv1.Channel_CHANNEL_WINDOW, RegisteringDepartment: "tax",
		},
	}
}

// retry runs step until it succeeds, while it fails with a code that says
// another service has not yet applied what the fixture did so far (or
// that the caller should slow down).
func retry(ctx context.Context, what string, step func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := step()
		switch status.Code(err) {
		case codes.OK:
			return nil
		case codes.NotFound, codes.FailedPrecondition, codes.Unavailable, codes.ResourceExhausted:
			if time.Now().Before(deadline) && ctx.Err() == nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
		}
		return fmt.Errorf("%s: %w", what, err)
	}
}

// minutes are a meeting's minutes as the office records them.
func minutes() *meetingv1.Minutes {
	return &meetingv1.Minutes{Text: "会议听取了联席会议办公室的汇报，各成员单位逐一发表意见。",
		Attendees: []*meetingv1.Attendee{{Unit: "hrss", Name: "刘洋", Title: "副局长"}},
		Decisions: []string{"按上年度社平工资核定缴费基数"}}
}

// makeFixture drives a new dispute to kind.
func (m *matrix) makeFixture(ctx context.Context, kind fixtureKind) (fixture, error) {
	taxClerk := m.as(ctx, m.staff(region, "tax", authn.RoleClerk, authn.RoleHandler))
	office := m.as(ctx, m.staff(region, "tax", authn.RoleOffice))
	var f fixture
	var err error
	step := func(what string, fn func() error) {
		if err == nil {
			// A step refused for the caller's rate changed nothing: again.
			for range 100 {
				if err = fn(); status.Code(err) != codes.ResourceExhausted {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				err = fmt.Errorf("fixture %s: %s: %w", fixtureText[kind], what, err)
			}
		}
	}
	route := func(kind routingv1.RouteKind, target string) {
		step("route", func() error {
			_, err := taxClerk.routing.RouteDispute(taxClerk.ctx, &routingv1.RouteDisputeRequest{
				Name: f.dispute, Kind: kind, TargetDepartment: target, Opinion: "分类流转"})
			return err
		})
	}
	reply := func() {
		step("reply", func() error {
			_, err := taxClerk.routing.RecordReply(taxClerk.ctx, &routingv1.RecordReplyRequest{
				Name: f.dispute, Outcome: "已核实", Text: "经核查，单位已按实际工资补申报。"})
			return err
		})
	}
	triage := func(class meetingv1.MatterClass) {
		step("triage", func() error {
			return retry(ctx, "the office learns of the dispute", func() error {
				_, err := office.meeting.TriageMatter(office.ctx, &meetingv1.TriageMatterRequest{
					Name: f.dispute, Class: class, Note: "梳理分类"})
				return err
			})
		})
	}

	if kind == noDispute {
		return f, nil
	}
	step("register", func() error {
		req := registrationRequest(m.next())
		if kind == warned {
			// Over the region's people threshold (5): intake warns the
			// petition bureau and the office's host unit.
			req.Dispute.PeopleInvolved = 6
		}
		resp, err := taxClerk.intake.RegisterDispute(taxClerk.ctx, req)
		f.dispute, f.lookupCode = resp.GetDispute().GetName(), resp.GetDispute().GetLookupCode()
		return err
	})
	switch kind {
	case transferred:
		route(routingv1.RouteKind_ROUTE_KIND_TRANSFER, "hrss")
	case handling, paused, extensionAsked, replied, dissatisfied, sealed:
		route(routingv1.RouteKind_ROUTE_KIND_SELF, "")
	case atOffice, jointHandling, inMeeting, opinionsIn, minuted, awaitingApproval, approvalAsked, atPlatform:
		route(routingv1.RouteKind_ROUTE_KIND_OFFICE, "")
		step("the office signs its slip", func() error {
			_, err := office.routing.ReceiveTransfer(office.ctx, &routingv1.ReceiveTransferRequest{Name: f.dispute})
			return err
		})
	}
	switch kind {
	case paused:
		step("pause", func() error {
			_, err := taxClerk.routing.PauseClock(taxClerk.ctx, &routingv1.PauseClockRequest{Name: f.dispute, Reason: "等待缴费人补充材料"})
			return err
		})
	case extensionAsked:
		step("ask for an extension", func() error {
			_, err := taxClerk.routing.RequestExtension(taxClerk.ctx, &routingv1.RequestExtensionRequest{
				Name: f.dispute, Days: 10, Reason: "需调取历年工资台账"})
			return err
		})
	case replied:
		reply()
	case dissatisfied:
		reply()
		step("follow up", func() error {
			_, err := taxClerk.routing.RecordFollowUp(taxClerk.ctx, &routingv1.RecordFollowUpRequest{
				Name: f.dispute, Satisfied: false, Note: "缴费人不满意"})
			return err
		})
	case sealed:
		reply()
		step("object", func() error {
			_, err := taxClerk.routing.RecordObjection(taxClerk.ctx, &routingv1.RecordObjectionRequest{
				Name: f.dispute, Remedy: typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION})
			return err
		})
		step("seal", func() error {
			return retry(ctx, "the archive seals the dossier", func() error {
				resp, err := taxClerk.archive.GetDossier(taxClerk.ctx, &archivev1.GetDossierRequest{Name: f.dispute})
				if err == nil && !resp.GetDossier().GetSealed() {
					return status.Error(codes.FailedPrecondition, "not sealed yet")
				}
				return err
			})
		})
	case warned:
		step("find the warning", func() error {
			return retry(ctx, "the office records the warning", func() error {
				resp, err := office.meeting.ListMassWarnings(office.ctx, &meetingv1.ListMassWarningsRequest{
					Parent: "regions/" + region, PageSize: 500})
				if err != nil {
					return err
				}
				for _, w := range resp.GetMassWarnings() {
					if w.GetDispute() == f.dispute {
						f.warning = w.GetName()
						return nil
					}
				}
				return status.Error(codes.NotFound, "no warning on "+f.dispute+" yet")
			})
		})
	case jointHandling, inMeeting, opinionsIn, minuted:
		triage(meetingv1.MatterClass_MATTER_CLASS_GENERAL)
		if kind == jointHandling {
			break
		}
		step("convene", func() error {
			resp, err := office.meeting.ConveneMeeting(office.ctx, &meetingv1.ConveneMeetingRequest{
				Parent: "regions/" + region, RequestId: fmt.Sprintf("authz-meeting-%d", m.next()),
				Meeting: &meetingv1.Meeting{Disputes: []string{f.dispute}, InvitedUnits: []string{"tax", "hrss"},
					Place: "市税务局三楼会议室", Agenda: "缴费基数争议联办"}})
			f.meeting = resp.GetMeeting().GetName()
			return err
		})
		if kind == inMeeting {
			break
		}
		if kind == minuted {
			step("record the minutes", func() error {
				_, err := office.meeting.RecordMinutes(office.ctx, &meetingv1.RecordMinutesRequest{Name: f.meeting, Minutes: minutes()})
				return err
			})
			break
		}
		for _, unit := range []string{"tax", "hrss"} {
			handler := m.as(ctx, m.staff(region, unit, authn.RoleHandler))
			step("opinion of "+unit, func() error {
				_, err := handler.meeting.SubmitOpinion(handler.ctx, &meetingv1.SubmitOpinionRequest{
					Parent: f.meeting, Opinion: &meetingv1.Opinion{Dispute: f.dispute, Text: unit + "意见：同意补缴"}})
				return err
			})
		}
	case awaitingApproval, approvalAsked, atPlatform:
		triage(meetingv1.MatterClass_MATTER_CLASS_MAJOR)
		if kind == awaitingApproval {
			break
		}
		step("ask for approval", func() error {
			resp, err := office.meeting.RequestApproval(office.ctx, &meetingv1.RequestApprovalRequest{
				Parent: "regions/" + region, Dispute: f.dispute, Summary: "涉及多家单位，拟纳入一站式平台"})
			f.approval = resp.GetApproval().GetName()
			return err
		})
		if kind == approvalAsked {
			break
		}
		convenor := m.as(ctx, m.staff(region, "gov_office", authn.RoleConvenor))
		step("approve", func() error {
			_, err := convenor.meeting.DecideApproval(convenor.ctx, &meetingv1.DecideApprovalRequest{
				Name: f.approval, Approve: true, Comment: "同意"})
			return err
		})
	}
	return f, err
}

// prepare makes every row's fixtures, a few at a time: one the row's
// refused calls name, and one of its own for each allowed call of a row
// whose calls change the dispute. It returns once every service has
// applied every event, so each service's view of each fixture is current.
func (m *matrix) prepare(ctx context.Context, rows []authzRow, rpcs map[string]protoreflect.MethodDescriptor) {
	m.t.Helper()
	type job struct {
		row   string
		kind  fixtureKind
		fresh bool
	}
	var jobs []job
	for _, r := range rows {
		if r.on == noDispute {
			continue
		}
		jobs = append(jobs, job{r.rpc, r.on, false})
		if !r.changes {
			continue
		}
		want, _ := parseWant(r.want)
		for _, c := range wantCells {
			if want[c] == codes.OK {
				for range transports(rpcs[r.rpc]) {
					jobs = append(jobs, job{r.rpc, r.on, true})
				}
			}
		}
	}
	// The sealed fixtures wait longest: start them first.
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].kind == sealed && jobs[j].kind != sealed })

	work := make(chan job)
	var wg sync.WaitGroup
	var failed atomic.Bool
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				if failed.Load() {
					continue
				}
				f, err := m.makeFixture(ctx, j.kind)
				if err != nil {
					failed.Store(true)
					m.t.Errorf("%s: %v", j.row, err)
					continue
				}
				m.mu.Lock()
				if j.fresh {
					m.fresh[j.row] = append(m.fresh[j.row], f)
				} else {
					m.own[j.row] = f
				}
				m.mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	if failed.Load() {
		m.t.FailNow()
	}
	m.settle(ctx)
	m.t.Logf("%d fixtures made", len(jobs))
}

// freshFixture takes one of row's own fixtures.
func (m *matrix) freshFixture(row string) (fixture, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fs := m.fresh[row]
	if len(fs) == 0 {
		return fixture{}, false
	}
	m.fresh[row] = fs[1:]
	return fs[0], true
}

// settle waits until every consumer group of the platform's streams has
// applied (acknowledged) every entry: then intake's readers, the office's
// matters and the archive's dossiers all reflect every fixture.
func (m *matrix) settle(ctx context.Context) {
	m.t.Helper()
	rdb := redis.NewClient(m.p.redis.Options())
	defer rdb.Close()
	streams := []string{events.Stream("intake", region), events.Stream("routing", region), events.Stream("meeting", region)}
	eventually(m.t, "every consumer group applies every event", 60*time.Second, func() error {
		for _, s := range streams {
			last, err := rdb.XRevRangeN(ctx, s, "+", "-", 1).Result()
			if err != nil {
				return err
			}
			if len(last) == 0 {
				continue
			}
			gs, err := rdb.XInfoGroups(ctx, s).Result()
			if err != nil {
				return err
			}
			for _, g := range gs {
				if g.Pending != 0 || events.CompareIDs(g.LastDeliveredID, last[0].ID) < 0 {
					return fmt.Errorf("%s group %s: pending %d, delivered %s of %s", s, g.Name, g.Pending, g.LastDeliveredID, last[0].ID)
				}
			}
		}
		return nil
	})
}

// run asserts every cell of row r over gRPC and through the gateway by
// every HTTP binding the RPC has.
func (m *matrix) run(t *testing.T, ctx context.Context, r authzRow, md protoreflect.MethodDescriptor) {
	want, err := parseWant(r.want)
	if err != nil {
		t.Fatal(err)
	}
	own := m.own[r.rpc]
	for _, tr := range transports(md) {
		for c := range cellCount {
			what := tr.name + ", " + c.String()
			f := own
			if r.changes && want[c] == codes.OK && r.on != noDispute {
				var ok bool
				if f, ok = m.freshFixture(r.rpc); !ok {
					t.Fatalf("%s: no fixture of its own left", what)
				}
			}
			token := m.token(r, c)
			got := m.call(ctx, md, tr, token, r.req(m, f))
			m.check(t, what, md, c, want[c], got)
			if r.on == noDispute {
				continue
			}
			// A caller who may not read the fixture finds nothing of it
			// in an answer it gets.
			if got.code == codes.OK && !r.mayRead(c) {
				// The name as a JSON string, the number as printed.
				for _, n := range []string{`"` + f.dispute + `"`, number(f.dispute)} {
					if n != `""` && n != "" && strings.Contains(got.body, n) {
						t.Errorf("%s: the answer names %s, which the caller may not read: %s", what, n, got.body)
					}
				}
			}
			// A refusal says nothing of whether what it names exists:
			// the answer about the fixture is the answer about one that
			// does not exist. (In this table every refusal is of a
			// caller who may not read the fixture, or by role before
			// anything is read.)
			if want[c] != codes.OK && want[c] != codes.FailedPrecondition {
				g := ghost()
				none := m.call(ctx, md, tr, token, r.req(m, g))
				if none.code != got.code || none.reason != got.reason || g.hide(none.msg) != f.hide(got.msg) || none.http != got.http {
					t.Errorf("%s: an existing dispute (%s) is answered\n\t%v\nbut one that does not exist\n\t%v",
						what, fixtureText[r.on], got, none)
				}
			}
		}
	}
}

// mayRead reports whether the caller of cell c may read row r's fixture:
// a refused token and another region never; another department only as
// the office or the convenor, who read their whole region.
func (r authzRow) mayRead(c cell) bool {
	switch {
	case slices.Contains(tokenCells, c), c == cellOtherRegion:
		return false
	case c == cellOtherDepartment:
		return r.actor == authn.RoleOffice || r.actor == authn.RoleConvenor
	}
	return true
}

// number is the form number ("2026年第15号") of a dispute name, "" for none.
func number(name string) string {
	id, ok := strings.CutPrefix(name, "regions/"+region+"/disputes/")
	if !ok {
		return ""
	}
	year, n, ok := strings.Cut(id, "-")
	if !ok {
		return ""
	}
	return year + "年第" + n + "号"
}

// notFoundReason is each process's one reason for "not found" and "may not
// read" alike (docs/SECURITY.md, "No existence oracle"); the meeting
// service answers so for a meeting the caller's unit is not invited to.
var notFoundReason = map[string]string{
	"intake":  "DISPUTE_NOT_FOUND",
	"routing": "TRACKING_NOT_FOUND",
	"archive": "DOSSIER_NOT_FOUND",
	"meeting": "MEETING_NOT_FOUND",
}

// notFoundOf is the reason of "not found" for the requests that name an
// approval or a mass-dispute warning rather than a meeting.
var notFoundOf = map[string]string{
	"disputes.meeting.v1.GetApprovalRequest":            "APPROVAL_NOT_FOUND",
	"disputes.meeting.v1.GetMassWarningRequest":         "MASS_WARNING_NOT_FOUND",
	"disputes.meeting.v1.AcknowledgeMassWarningRequest": "MASS_WARNING_NOT_FOUND",
}

// check asserts one cell's answer: its code, the HTTP status the gateway
// maps it to, and the reason of refused tokens and of not found.
func (m *matrix) check(t *testing.T, what string, md protoreflect.MethodDescriptor, c cell, want codes.Code, got answer) {
	t.Helper()
	if got.code != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
		return
	}
	if got.http != 0 && got.http != httpStatus[want] {
		t.Errorf("%s: got %v, want HTTP %d", what, got, httpStatus[want])
	}
	if want == codes.Unauthenticated && got.reason != tokenReason[c] {
		t.Errorf("%s: reason %q, want %q", what, got.reason, tokenReason[c])
	}
	if want == codes.NotFound {
		r := notFoundReason[processOf[string(md.Parent().FullName())]]
		if nf, ok := notFoundOf[string(md.Input().FullName())]; ok {
			r = nf
		}
		if got.reason != r {
			t.Errorf("%s: reason %q, want %q", what, got.reason, r)
		}
	}
	if want == codes.PermissionDenied && got.reason == "" {
		t.Errorf("%s: %v carries no ErrorInfo reason", what, got)
	}
}

// department is a row's own department.
func (r authzRow) department() string {
	if r.dept == "" {
		return "tax"
	}
	return r.dept
}

// checkCoverage fails for every RPC without a row and every row without
// an RPC, and for a row whose want does not parse or whose service no
// process serves.
func checkCoverage(t *testing.T, rows []authzRow, rpcs map[string]protoreflect.MethodDescriptor) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.rpc] {
			t.Errorf("two rows for %s", r.rpc)
		}
		seen[r.rpc] = true
		md, ok := rpcs[r.rpc]
		if !ok {
			t.Errorf("row %s names no RPC the protos define", r.rpc)
			continue
		}
		if _, ok := processOf[string(md.Parent().FullName())]; !ok {
			t.Errorf("row %s: no process serves %s; add it to processOf", r.rpc, md.Parent().FullName())
		}
		if _, err := parseWant(r.want); err != nil {
			t.Errorf("row %s: %v", r.rpc, err)
		}
		if r.actor == "" {
			t.Errorf("row %s has no actor", r.rpc)
		}
		if r.req == nil {
			t.Errorf("row %s has no request", r.rpc)
		}
	}
	var missing []string
	for name := range rpcs {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	for _, name := range missing {
		t.Errorf("RPC %s has no row in the authorization matrix (authzRows in e2e/authz_matrix_test.go): add one", name)
	}
}
