package printing

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/xiaoyi-disputes/disputes/platform/names"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// RegisterMinutes adds the meeting minutes page (会议纪要), read through the
// meeting service's client, to mux.
func (h *Handler) RegisterMinutes(mux *http.ServeMux, meeting meetingv1.MeetingServiceClient) {
	h.meeting = meeting
	// Parsed at start from embedded files: an error is a build defect.
	h.minutesPage = template.Must(template.New("minutes").Funcs(template.FuncMap{"paragraphs": paragraphs}).ParseFS(templateFiles,
		"templates/layout.html", "templates/minutes.html"))
	mux.HandleFunc("GET /print/regions/{region}/meetings/{id}/minutes", h.minutes)
}

// minutesView is the minutes page.
type minutesView struct {
	Heading, Kind, Time, Place, Agenda string
	Disputes, Units, Attendees         []string
	Text                               string
	Decisions                          []string
	Date                               string
}

// minutesPageData is what the layout renders for the minutes page.
type minutesPageData struct {
	Title   string
	Minutes *minutesView
}

// meetingError words a backend failure for a meeting rather than a dispute.
func meetingError(err error) error {
	err = backendError("meeting", err)
	var pe *pageError
	if errors.As(err, &pe) {
		switch pe.status {
		case http.StatusNotFound:
			pe.detail = "没有找到该会议，或本单位未受邀参加该会议。"
		case http.StatusBadRequest:
			pe.title, pe.detail = "会议编号格式有误", "地址中的行政区划或会议编号格式不正确。"
		}
	}
	return err
}

func (h *Handler) minutes(w http.ResponseWriter, r *http.Request) {
	q, cancel, ok := h.begin(w, r)
	if !ok {
		return
	}
	defer cancel()
	name := "regions/" + r.PathValue("region") + "/meetings/" + r.PathValue("id")
	resp, err := h.meeting.GetMeeting(q.ctx, &meetingv1.GetMeetingRequest{Name: name})
	if err != nil {
		h.fail(w, r, meetingError(err))
		return
	}
	mt := resp.GetMeeting()
	if mt.GetMinutes() == nil {
		h.fail(w, r, &pageError{status: http.StatusPreconditionFailed, title: "尚未记录会议纪要",
			detail: "联席会议办公室还没有记录该会议的会议纪要，无法打印。"})
		return
	}
	units := map[string]string{}
	if ros, err := h.roster.GetRoster(q.ctx, &rosterv1.GetRosterRequest{Name: "regions/" + q.region + "/roster"}); err != nil {
		h.log.WarnContext(q.ctx, "print without roster names", "region", q.region, "error", err)
	} else {
		for _, u := range ros.GetRoster().GetUnits() {
			units[u.GetId()] = u.GetName()
		}
	}
	v := minutesViewOf(mt, func(id string) string {
		if n := units[id]; n != "" {
			return n
		}
		return id
	})
	securityHeaders(w)
	if err := h.minutesPage.ExecuteTemplate(w, "layout", minutesPageData{Title: v.Heading, Minutes: v}); err != nil {
		h.log.ErrorContext(r.Context(), "render print page", "page", "minutes", "error", err)
	}
}

// minutesViewOf builds the page from the meeting, naming units by unit.
func minutesViewOf(mt *meetingv1.Meeting, unit func(string) string) *minutesView {
	mn := mt.GetMinutes()
	v := &minutesView{
		Heading: "社会保险费征缴争议联席会议纪要", Kind: "联办会议",
		Time: dateTime(mt.GetStartTime()), Place: mt.GetPlace(), Agenda: mt.GetAgenda(),
		Text: mn.GetText(), Decisions: mn.GetDecisions(), Date: date(mn.GetRecordTime()),
	}
	if mt.GetKind() == meetingv1.MeetingKind_MEETING_KIND_PLENARY {
		v.Heading, v.Kind = "社会保险费征缴争议联席会议全体会议纪要", "全体会议（研究焦点、难点问题）"
	}
	if v.Time == "" {
		v.Time = dateTime(mt.GetConveneTime())
	}
	for _, d := range mt.GetDisputes() {
		v.Disputes = append(v.Disputes, formNumber(d))
	}
	for _, u := range mt.GetInvitedUnits() {
		v.Units = append(v.Units, unit(u))
	}
	for _, a := range mn.GetAttendees() {
		s := a.GetName()
		var about []string
		if a.GetUnit() != "" {
			about = append(about, unit(a.GetUnit()))
		}
		if a.GetTitle() != "" {
			about = append(about, a.GetTitle())
		}
		if len(about) > 0 {
			s += "（" + strings.Join(about, "，") + "）"
		}
		v.Attendees = append(v.Attendees, s)
	}
	return v
}

// formNumber writes a dispute's name as its form number (编号 "2026年第17号"),
// the number series of registrations; a name it cannot read is kept.
func formNumber(name string) string {
	_, id, err := names.DisputeID(name)
	if err != nil {
		return name
	}
	year, n, ok := strings.Cut(id, "-")
	if !ok {
		return name
	}
	return year + "年第" + n + "号"
}
