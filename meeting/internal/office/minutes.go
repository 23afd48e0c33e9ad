package office

import (
	"fmt"
	"slices"
	"time"
)

// Kind is what a meeting is for; the values match meeting.v1.MeetingKind.
type Kind int

// Kinds of meeting.
const (
	// KindJointHandling is a meeting on disputes of the agenda, each invited
	// unit giving a written opinion on each (联办会议).
	KindJointHandling Kind = 1
	// KindPlenary is a plenary meeting on focal and difficult issues
	// (焦点、难点问题) with no dispute on its agenda.
	KindPlenary Kind = 2
)

// Minutes are a meeting's minutes (会议纪要).
type Minutes struct {
	Text       string     `json:"text"`
	Attendees  []Attendee `json:"attendees"`
	Decisions  []string   `json:"decisions,omitempty"`
	Time       time.Time  `json:"time"`
	RecordedBy string     `json:"recorded_by"`
}

// Attendee is one person present at a meeting.
type Attendee struct {
	Unit  string `json:"unit,omitempty"`
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
}

// KindOf returns the meeting's kind; meetings stored before kinds existed
// are joint-handling meetings.
func (mt *Meeting) KindOf() Kind {
	if mt.Kind == KindPlenary {
		return KindPlenary
	}
	return KindJointHandling
}

// kindViolations checks the parts of a meeting that depend on its kind: a
// joint-handling meeting has disputes on its agenda, a plenary one none and
// an agenda in words.
func kindViolations(mt *Meeting, field string) []Violation {
	var vs []Violation
	switch mt.KindOf() {
	case KindPlenary:
		if len(mt.Disputes) > 0 {
			vs = append(vs, Violation{Field: field + ".disputes", Reason: "a plenary meeting has no dispute on its agenda: convene a joint-handling meeting for disputes"})
		}
		if mt.Agenda == "" {
			vs = append(vs, Violation{Field: field + ".agenda", Reason: "a plenary meeting needs its agenda (the focal or difficult issues it discusses)"})
		}
	default:
		if len(mt.Disputes) == 0 {
			vs = append(vs, Violation{Field: field + ".disputes", Reason: "at least one dispute is required (a meeting without disputes is MEETING_KIND_PLENARY)"})
		}
	}
	return vs
}

// ValidateMinutes checks minutes against the roster: an attendee's unit, when
// given, is a member unit. field is the request path of the minutes.
func ValidateMinutes(mn *Minutes, isUnit func(string) bool, field string) error {
	var vs []Violation
	for i, a := range mn.Attendees {
		if a.Unit != "" && !isUnit(a.Unit) {
			vs = append(vs, Violation{Field: fmt.Sprintf("%s.attendees[%d].unit", field, i),
				Reason: fmt.Sprintf("%q is not a member unit of the roster", a.Unit)})
		}
	}
	if len(vs) > 0 {
		return &ValidationError{Violations: vs}
	}
	return nil
}

// RecordMinutes records the meeting's minutes, replacing earlier ones: the
// office corrects its minutes by recording them again.
func RecordMinutes(mt *Meeting, mn Minutes) { mt.Minutes = &mn }

// Reader is who reads the office's records: their unit and whether they
// see the whole region (the office and the convenor).
type Reader struct {
	Unit       string
	RegionWide bool
	// Platform is the one-stop mediation platform's staff, who read the
	// approvals of matters sent to it.
	Platform bool
}

// CanRead reports whether r may read the meeting: the region-wide roles
// every meeting, a unit the meetings it is invited to.
func (r Reader) CanRead(mt *Meeting) bool { return r.RegionWide || mt.Invites(r.Unit) }

// View returns the meeting as r may see it: a unit that is not region-wide
// sees the meeting, its agenda and minutes, and of the opinions only its
// own; the other units' opinions are for the office to consolidate.
func (r Reader) View(mt *Meeting) *Meeting {
	if r.RegionWide {
		return mt
	}
	out := *mt
	out.Opinions = slices.DeleteFunc(slices.Clone(mt.Opinions), func(o Opinion) bool { return o.Unit != r.Unit })
	return &out
}

// CanReadApproval reports whether r may read the approval: the region-wide
// roles every one, the platform those approved (matters sent to it).
func (r Reader) CanReadApproval(a *Approval) bool {
	return r.RegionWide || (r.Platform && a.Decided && a.Approved)
}
