// Package lookup serves the claimant's lookup page (办理进度查询): with the
// number and the lookup code printed on the receipt, and without a login,
// a claimant sees the state of their dispute, the dates of its stages and
// the date by which the current stage is due, and nothing personal. The
// page calls intake's LookupDispute, which decides everything: a wrong code
// and an unknown number get the same answer, and wrong codes are limited
// per number and per client address (429 with Retry-After here).
package lookup

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/names"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// ClientAddressHeader is the metadata intake counts a lookup's client by
// (intake/internal/grpcapi.ClientAddressHeader).
const ClientAddressHeader = "x-disputes-client-address"

//go:embed lookup.html
var files embed.FS

var page = template.Must(template.ParseFS(files, "lookup.html"))

// Handler serves GET /lookup (the form) and POST /lookup (the answer).
type Handler struct {
	intake  intakev1.IntakeServiceClient
	log     *slog.Logger
	timeout time.Duration
}

// New returns the handler reading through intake.
func New(intake intakev1.IntakeServiceClient, log *slog.Logger) *Handler {
	return &Handler{intake: intake, log: log, timeout: 10 * time.Second}
}

// Register adds the routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /lookup", h.form)
	mux.HandleFunc("POST /lookup", h.lookup)
}

// view is what the page shows.
type view struct {
	Region, Number string
	// Message is an answer without a result (not found, too many tries).
	Message string
	Result  *result
}

type result struct {
	Number, State, Registered, Due string
	Stages                         []stage
}

type stage struct{ State, Date string }

var regionRE = regexp.MustCompile(`^[0-9]{6}$`)

func (h *Handler) form(w http.ResponseWriter, r *http.Request) {
	region := r.URL.Query().Get("region")
	if !regionRE.MatchString(region) {
		region = ""
	}
	h.render(w, http.StatusOK, view{Region: region})
}

// numberRE reads a number as printed ("2026年第17号") or as in the API ("2026-17").
var numberRE = regexp.MustCompile(`^\s*([0-9]{4})\s*(?:年\s*第|-)\s*([0-9]{1,9})\s*号?\s*$`)

func (h *Handler) lookup(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.render(w, http.StatusBadRequest, view{Message: "请求格式不正确。"})
		return
	}
	v := view{Region: strings.TrimSpace(r.PostForm.Get("region")), Number: strings.TrimSpace(r.PostForm.Get("number"))}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	m := numberRE.FindStringSubmatch(v.Number)
	var seq int
	if m != nil {
		seq, _ = strconv.Atoi(m[2])
	}
	if !regionRE.MatchString(v.Region) || m == nil || seq < 1 || code == "" || len(code) > 16 {
		v.Message = "请填写六位行政区划代码、编号（如 2026年第17号）和回执上的查询码。"
		h.render(w, http.StatusBadRequest, v)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	// No Authorization is forwarded: the number and the code are the
	// credential. Intake counts wrong codes against the browser's address.
	ctx = metadata.AppendToOutgoingContext(ctx, ClientAddressHeader, clientAddress(r))
	resp, err := h.intake.LookupDispute(ctx, &intakev1.LookupDisputeRequest{
		Name: names.Dispute(v.Region, m[1]+"-"+strconv.Itoa(seq)), LookupCode: code,
	})
	switch status.Code(err) {
	case codes.OK:
		v.Result = resultOf(resp)
		// The answer names nothing the claimant did not send: the number is theirs.
		v.Result.Number = m[1] + "年第" + strconv.Itoa(seq) + "号"
		h.render(w, http.StatusOK, v)
	case codes.NotFound, codes.InvalidArgument:
		v.Message = "未查到：编号或查询码不正确。请核对受理回执上的编号和查询码。"
		h.render(w, http.StatusNotFound, v)
	case codes.ResourceExhausted:
		wait := retryAfter(err)
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		v.Message = fmt.Sprintf("查询码错误次数过多，请约 %d 分钟后再试。", int(math.Ceil(float64(wait)/60)))
		h.render(w, http.StatusTooManyRequests, v)
	default:
		h.log.WarnContext(r.Context(), "lookup failed", "error", err)
		v.Message = "查询服务暂时不可用，请稍后再试。"
		h.render(w, http.StatusServiceUnavailable, v)
	}
}

// retryAfter is the seconds intake asked to wait (at least one).
func retryAfter(err error) int {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return max(1, int(math.Ceil(ri.GetRetryDelay().AsDuration().Seconds())))
		}
	}
	return 60
}

// clientAddress is the browser's address as this gateway sees it. A
// deployment behind a proxy terminates at the proxy; this gateway does not
// trust forwarded headers a client could set itself.
func clientAddress(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func resultOf(resp *intakev1.LookupDisputeResponse) *result {
	out := &result{State: stateName(resp.GetState()),
		Registered: day(resp.GetRegisterTime()), Due: day(resp.GetDueTime())}
	for _, s := range resp.GetStages() {
		out.Stages = append(out.Stages, stage{State: stateName(s.GetState()), Date: day(s.GetTime())})
	}
	return out
}

// stateNames are the states as a claimant reads them.
var stateNames = map[typesv1.DisputeState]string{
	typesv1.DisputeState_DISPUTE_STATE_REGISTERED:        "已登记，待分类流转",
	typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED:       "已流转至职能部门，待接收",
	typesv1.DisputeState_DISPUTE_STATE_HANDLING:          "办理中",
	typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE:         "已提交联席会议办公室",
	typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING:    "联合办理中",
	typesv1.DisputeState_DISPUTE_STATE_AWAITING_APPROVAL: "待召集人审批",
	typesv1.DisputeState_DISPUTE_STATE_AT_PLATFORM:       "在一站式矛盾纠纷调处平台办理",
	typesv1.DisputeState_DISPUTE_STATE_REPLIED:           "已书面告知处理结果",
	typesv1.DisputeState_DISPUTE_STATE_CLOSED:            "已办结",
	typesv1.DisputeState_DISPUTE_STATE_ARCHIVED:          "已办结归档",
}

func stateName(s typesv1.DisputeState) string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return "办理中"
}

// day writes a date in China: "2026年3月1日"; "" for none.
func day(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	t := ts.AsTime().In(names.China)
	return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
}

func (h *Handler) render(w http.ResponseWriter, code int, v view) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(code)
	if err := page.Execute(w, v); err != nil {
		h.log.Error("render lookup page", "error", err)
	}
}
