// Package printing renders the platform's paper: the registration form
// (登记表, 附件1), the claimant's receipt (受理回执), the transfer slip
// (流转单, 附件2) in two copies with the registration form attached, the
// written reply (书面告知书) and a joint meeting's minutes (会议纪要). Pages are HTML for the browser's print dialog
// (A4, serif, ruled tables like the seed's forms). The data comes from the
// services over gRPC with the caller's own Authorization header, so a page
// shows exactly what the caller may read through the API.
package printing

import (
	"cmp"
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/xiaoyi-disputes/disputes/platform/names"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
)

//go:embed templates/*.html
var templateFiles embed.FS

// Handler serves the printable pages.
type Handler struct {
	intake  intakev1.IntakeServiceClient
	routing routingv1.RoutingServiceClient
	roster  rosterv1.RosterServiceClient
	log     *slog.Logger
	pages   map[string]*template.Template
	timeout time.Duration

	// meeting and minutesPage serve the minutes page (minutes.go).
	meeting     meetingv1.MeetingServiceClient
	minutesPage *template.Template
}

// pageNames are the templates that are pages; the rest are shared parts.
var pageNames = []string{"registration-form", "receipt", "transfer-slip", "reply", "extension-notice", "error"}

// New returns a Handler that reads through the given service clients (the
// gateway's long-lived connections).
func New(intake intakev1.IntakeServiceClient, routing routingv1.RoutingServiceClient,
	roster rosterv1.RosterServiceClient, log *slog.Logger) *Handler {
	h := &Handler{intake: intake, routing: routing, roster: roster, log: log,
		pages: map[string]*template.Template{}, timeout: 10 * time.Second}
	funcs := template.FuncMap{"paragraphs": paragraphs}
	for _, p := range pageNames {
		// Parsed at start from embedded files: an error is a build defect.
		h.pages[p] = template.Must(template.New(p).Funcs(funcs).ParseFS(templateFiles,
			"templates/layout.html", "templates/form.html", "templates/"+p+".html"))
	}
	return h
}

// Register adds the routes to mux. They live outside /v1/ so they cannot
// collide with the JSON API.
func (h *Handler) Register(mux *http.ServeMux) {
	const base = "GET /print/regions/{region}/disputes/{id}/"
	mux.HandleFunc(base+"registration-form", h.registrationForm)
	mux.HandleFunc(base+"receipt", h.receipt)
	mux.HandleFunc(base+"transfer-slip", h.transferSlip)
	mux.HandleFunc(base+"reply", h.reply)
	mux.HandleFunc(base+"extension-notice", h.extensionNotice)
}

// outgoing returns a context for the backend calls made for r: its deadline,
// and the caller's Authorization header as outgoing gRPC metadata (the only
// header forwarded, as for the JSON API).
func (h *Handler) outgoing(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	if auth := r.Header.Get("Authorization"); auth != "" {
		ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", auth))
	}
	return ctx, cancel
}

// request is what every page needs: the names and the backend context.
type request struct {
	ctx         context.Context
	region      string
	disputeName string
}

// begin checks the caller sent credentials at all (the services decide
// whether they are good) and returns the request's context.
func (h *Handler) begin(w http.ResponseWriter, r *http.Request) (*request, context.CancelFunc, bool) {
	if r.Header.Get("Authorization") == "" {
		h.fail(w, r, &pageError{status: http.StatusUnauthorized, title: "未登录",
			detail: "请先在工作台登录后再打印：打印页面需要随请求携带令牌。"})
		return nil, nil, false
	}
	ctx, cancel := h.outgoing(r)
	region := r.PathValue("region")
	return &request{ctx: ctx, region: region,
		disputeName: names.Dispute(region, r.PathValue("id"))}, cancel, true
}

// fetched holds what a page was built from.
type fetched struct {
	dispute  *intakev1.Dispute
	tracking *routingv1.Tracking
	units    map[string]string // member unit id -> name
	staff    map[string]string // staff id -> display name
	places   map[string]string // jurisdiction code -> name
	// officeHost hosts the joint-meeting office (联席会议办公室).
	officeHost string
	// regionName is the roster's name of the region, e.g. "孝义市".
	regionName string
}

// trackingNeed says whether a page needs routing's tracking.
type trackingNeed int

const (
	noTracking trackingNeed = iota
	// optionalTracking enriches the page when routing answers; the page
	// still prints when it cannot.
	optionalTracking
	requiredTracking
)

// fetch reads the dispute, the tracking (per need) and the roster in
// parallel. A failed roster read is not fatal: the page then shows
// department ids instead of names, and unregisteredStaff for every person.
func (h *Handler) fetch(q *request, need trackingNeed) (*fetched, error) {
	var (
		wg                   sync.WaitGroup
		f                    = &fetched{units: map[string]string{}, staff: map[string]string{}, places: map[string]string{}}
		disputeErr, trackErr error
	)
	wg.Go(func() {
		resp, err := h.intake.GetDispute(q.ctx, &intakev1.GetDisputeRequest{Name: q.disputeName})
		f.dispute, disputeErr = resp.GetDispute(), err
	})
	if need != noTracking {
		wg.Go(func() {
			resp, err := h.routing.GetTracking(q.ctx, &routingv1.GetTrackingRequest{Name: q.disputeName})
			f.tracking, trackErr = resp.GetTracking(), err
		})
	}
	wg.Go(func() {
		resp, err := h.roster.GetRoster(q.ctx, &rosterv1.GetRosterRequest{Name: "regions/" + q.region + "/roster"})
		if err != nil {
			h.log.WarnContext(q.ctx, "print without roster names", "region", q.region, "error", err)
			return
		}
		for _, u := range resp.GetRoster().GetUnits() {
			f.units[u.GetId()] = u.GetName()
			for _, p := range u.GetStaff() {
				f.staff[p.GetId()] = p.GetDisplayName()
			}
		}
		for _, j := range resp.GetRoster().GetJurisdictions() {
			f.places[j.GetCode()] = j.GetName()
		}
		f.officeHost = resp.GetRoster().GetLeadership().GetOfficeHostUnit()
		f.regionName = resp.GetRoster().GetRegionName()
	})
	wg.Wait()
	if disputeErr != nil {
		return nil, backendError("intake", disputeErr)
	}
	if trackErr != nil {
		if need == requiredTracking {
			return nil, backendError("routing", trackErr)
		}
		h.log.WarnContext(q.ctx, "print without tracking", "dispute", q.disputeName, "error", trackErr)
	}
	return f, nil
}

// unit is the Chinese name of a member unit, or its id when unknown.
func (f *fetched) unit(id string) string {
	if n, ok := f.units[id]; ok && n != "" {
		return n
	}
	return id
}

// unregisteredStaff is printed for a person the roster does not name: paper
// shows people by name, never by the staff id their tokens carry.
const unregisteredStaff = "未登记人员"

// person is the display name of staff id from the roster, unregisteredStaff
// when the roster does not name it, "" when there is no one.
func (f *fetched) person(id string) string {
	if id == "" {
		return ""
	}
	if n, ok := f.staff[id]; ok && n != "" {
		return n
	}
	return unregisteredStaff
}

// place is the name of the jurisdiction (乡镇/街道) with code, or the code
// when the roster does not know it.
func (f *fetched) place(code string) string {
	if n, ok := f.places[code]; ok && n != "" {
		return n
	}
	return code
}

func (h *Handler) registrationForm(w http.ResponseWriter, r *http.Request) {
	q, cancel, ok := h.begin(w, r)
	if !ok {
		return
	}
	defer cancel()
	f, err := h.fetch(q, noTracking)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	form := formView(f, false)
	h.render(w, r, "registration-form", page{Title: "社会保险费征收争议事项登记表 " + form.Number, Form: form})
}

func (h *Handler) receipt(w http.ResponseWriter, r *http.Request) {
	q, cancel, ok := h.begin(w, r)
	if !ok {
		return
	}
	defer cancel()
	// The receipt's promise of a date comes from routing's clock when it is
	// already running; the page still prints when routing cannot say.
	f, err := h.fetch(q, optionalTracking)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := receiptView(f)
	h.render(w, r, "receipt", page{Title: "受理回执 " + v.Number, Receipt: v})
}

func (h *Handler) transferSlip(w http.ResponseWriter, r *http.Request) {
	q, cancel, ok := h.begin(w, r)
	if !ok {
		return
	}
	defer cancel()
	f, err := h.fetch(q, requiredTracking)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	slips := f.tracking.GetTransferSlips()
	if len(slips) == 0 {
		h.fail(w, r, &pageError{status: http.StatusPreconditionFailed, title: "没有流转单",
			detail: "争议事项 " + f.dispute.GetNumber() + " 尚未流转到其他部门，没有流转单可以打印。"})
		return
	}
	// The newest; of slips made at once (a second return and the office's
	// slip it makes) the one made last, which routing lists last.
	latest := slips[0]
	for _, s := range slips[1:] {
		if cmp.Compare(s.GetCreateTime().AsTime().UnixNano(), latest.GetCreateTime().AsTime().UnixNano()) >= 0 {
			latest = s
		}
	}
	s := slipView(f, latest)
	h.render(w, r, "transfer-slip", page{Title: "社会保险费征缴争议事项流转单 " + s.Number,
		Slip: s, Copies: []string{"登记部门存根", "接收部门联"}, Form: formView(f, false)})
}

func (h *Handler) reply(w http.ResponseWriter, r *http.Request) {
	q, cancel, ok := h.begin(w, r)
	if !ok {
		return
	}
	defer cancel()
	f, err := h.fetch(q, requiredTracking)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if f.tracking.GetReply() == nil {
		h.fail(w, r, &pageError{status: http.StatusPreconditionFailed, title: "尚未书面告知",
			detail: "争议事项 " + f.dispute.GetNumber() + " 还没有登记书面告知（回复）内容，无法打印告知书。"})
		return
	}
	v := replyView(f)
	h.render(w, r, "reply", page{Title: "书面告知书 " + v.Number, Reply: v})
}

// extensionNotice is the notice telling the claimant that the handling
// period was extended, why and until when (延期告知书, 《信访工作条例》第三十二条).
func (h *Handler) extensionNotice(w http.ResponseWriter, r *http.Request) {
	q, cancel, ok := h.begin(w, r)
	if !ok {
		return
	}
	defer cancel()
	f, err := h.fetch(q, requiredTracking)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if e := f.tracking.GetExtension(); !e.GetDecided() || !e.GetApproved() {
		h.fail(w, r, &pageError{status: http.StatusPreconditionFailed, title: "没有批准的延期",
			detail: "争议事项 " + f.dispute.GetNumber() + " 没有经单位负责人批准的延期，无法打印延期告知书。"})
		return
	}
	v := extensionView(f)
	h.render(w, r, "extension-notice", page{Title: "延期办理告知书 " + v.Number, Extension: v})
}

// securityHeaders keep printed pages inert: no scripts, nothing fetched
// from elsewhere, not framed, not cached by shared caches.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	securityHeaders(w)
	if err := h.pages[name].ExecuteTemplate(w, "layout", p); err != nil {
		// Headers are gone once the body started; log it and stop.
		h.log.ErrorContext(r.Context(), "render print page", "page", name, "error", err)
	}
}
