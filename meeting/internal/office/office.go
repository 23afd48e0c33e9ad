// Package office holds the rules of the joint-meeting office (联席会议办公室):
// which disputes it may triage, how general matters are handled jointly by
// convened member units that each give a written opinion before the office
// decides, and how major matters go, with the convenor's approval, to the
// one-stop mediation platform. It is pure: storage and transport live
// elsewhere.
package office

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// Class is the office's classification of a matter (梳理分类).
type Class int

// Classes of matter; the values match meeting.v1.MatterClass.
const (
	ClassNone    Class = 0
	ClassGeneral Class = 1
	ClassMajor   Class = 2
)

func (c Class) String() string {
	switch c {
	case ClassGeneral:
		return "GENERAL"
	case ClassMajor:
		return "MAJOR"
	}
	return "untriaged"
}

// Matter is the office's view of one dispute: where routing says it is, and
// what the office has done with it since it arrived.
type Matter struct {
	// Name is the dispute's resource name.
	Name string `json:"name"`
	// Number is the dispute's form number (编号), from routing.
	Number string `json:"number,omitempty"`
	// RegisteringDepartment registered the dispute.
	RegisteringDepartment string `json:"registering_department,omitempty"`
	// State is the dispute's lifecycle state as far as the office knows it:
	// routing's transitions as observed, the office's own as made.
	State typesv1.DisputeState `json:"state"`
	// Class is set by triage and cleared when the dispute comes back to the office.
	Class Class `json:"class,omitempty"`
	// Meetings lists the ids of the meetings with the dispute on their agenda
	// since its triage, oldest first.
	Meetings []string `json:"meetings,omitempty"`
	// PendingApproval is the id of the approval request awaiting the convenor.
	PendingApproval string `json:"pending_approval,omitempty"`
	// Version is the version of routing's account last followed.
	Version int64 `json:"version,omitempty"`
}

// Meeting is one joint meeting (联席会议).
type Meeting struct {
	ID           string    `json:"id"`
	Disputes     []string  `json:"disputes"`
	InvitedUnits []string  `json:"invited_units"`
	StartTime    time.Time `json:"start_time,omitzero"`
	Place        string    `json:"place,omitempty"`
	Agenda       string    `json:"agenda,omitempty"`
	Opinions     []Opinion `json:"opinions,omitempty"`
	ConvenedAt   time.Time `json:"convened_at"`
	// Kind is unset (joint handling) on meetings stored before plenary
	// meetings existed.
	Kind    Kind     `json:"kind,omitempty"`
	Minutes *Minutes `json:"minutes,omitempty"`
}

// Opinion is a co-handling unit's written opinion (书面意见) on one dispute.
type Opinion struct {
	Dispute string    `json:"dispute"`
	Unit    string    `json:"unit"`
	Text    string    `json:"text"`
	Staff   string    `json:"staff"`
	Time    time.Time `json:"time"`
}

// Approval is the office's request to the convenor to send a major matter
// to the mediation platform (报请召集人同意).
type Approval struct {
	ID          string    `json:"id"`
	Dispute     string    `json:"dispute"`
	Summary     string    `json:"summary"`
	Decided     bool      `json:"decided,omitempty"`
	Approved    bool      `json:"approved,omitempty"`
	Comment     string    `json:"comment,omitempty"`
	RequestTime time.Time `json:"request_time"`
	DecideTime  time.Time `json:"decide_time,omitzero"`
}

// ErrNotFound is matched by every *NotFoundError.
var ErrNotFound = errors.New("not found")

// NotFoundError names what does not exist.
type NotFoundError struct {
	// Reason is the ErrorInfo reason, e.g. "MEETING_NOT_FOUND".
	Reason string
	What   string
}

func (e *NotFoundError) Error() string { return e.What + " not found" }

// Unwrap makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// ErrPrecondition is matched by every *PreconditionError.
var ErrPrecondition = errors.New("failed precondition")

// PreconditionError refuses an action the dispute's state or the meeting's
// progress does not allow; the message names the current state.
type PreconditionError struct {
	// Reason is the ErrorInfo reason, e.g. "ILLEGAL_STATE", "OPINIONS_MISSING".
	Reason string
	Msg    string
}

func (e *PreconditionError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrPrecondition) hold.
func (e *PreconditionError) Unwrap() error { return ErrPrecondition }

// ErrDenied is matched by every *DeniedError.
var ErrDenied = errors.New("permission denied")

// DeniedError refuses a caller who may not act on this resource.
type DeniedError struct{ Msg string }

func (e *DeniedError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrDenied) hold.
func (e *DeniedError) Unwrap() error { return ErrDenied }

// Violation is one problem with the input: a request field path and why.
type Violation struct{ Field, Reason string }

// ValidationError lists everything wrong with the input.
type ValidationError struct{ Violations []Violation }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Reason
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Reasons of refusals.
const (
	ReasonIllegalState     = "ILLEGAL_STATE"
	ReasonOpinionsMissing  = "OPINIONS_MISSING"
	ReasonNoMeeting        = "NO_MEETING"
	ReasonApprovalPending  = "APPROVAL_PENDING"
	ReasonApprovalDecided  = "APPROVAL_ALREADY_DECIDED"
	ReasonDisputeNotFound  = "DISPUTE_NOT_FOUND"
	ReasonMeetingNotFound  = "MEETING_NOT_FOUND"
	ReasonApprovalNotFound = "APPROVAL_NOT_FOUND"
	ReasonWarningNotFound  = "MASS_WARNING_NOT_FOUND"
	ReasonAcknowledged     = "MASS_WARNING_ALREADY_ACKNOWLEDGED"
)

func illegal(m *Matter, action, want string) error {
	return &PreconditionError{Reason: ReasonIllegalState, Msg: fmt.Sprintf(
		"cannot %s %s: it is %s (%s needs %s)", action, m.label(), m.State, action, want)}
}

func (m *Matter) label() string {
	if m.Number != "" {
		return m.Name + " (" + m.Number + ")"
	}
	return m.Name
}

// NotFound is the error for a dispute the office has not heard of from routing.
func NotFound(name string) error {
	return &NotFoundError{Reason: ReasonDisputeNotFound, What: "dispute " + name + " (not known to the office: not yet routed, or routing's events not yet received)"}
}

// Observe applies a state routing reports for the dispute. Arriving at the
// office (routed there, escalated, or returned a second time) starts the
// office's work afresh: a dispute that comes back may be triaged again.
func (m *Matter) Observe(s typesv1.DisputeState) {
	if s == typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE && m.State != s {
		m.Class = ClassNone
		m.Meetings = nil
		m.PendingApproval = ""
	}
	m.State = s
}

// Follow takes routing's account of the dispute at version: its state,
// form number and registering department. An account no newer than the one
// followed last changes nothing, and Follow reports false.
func (m *Matter) Follow(version int64, s typesv1.DisputeState, number, registeringDepartment string) bool {
	if version <= m.Version {
		return false
	}
	m.Version = version
	if number != "" {
		m.Number = number
	}
	if registeringDepartment != "" {
		m.RegisteringDepartment = registeringDepartment
	}
	m.Observe(s)
	return true
}

// Triage classifies a dispute at the office: a general matter goes to
// joint handling, a major one awaits the convenor's approval.
func (m *Matter) Triage(c Class) error {
	if c != ClassGeneral && c != ClassMajor {
		return &ValidationError{Violations: []Violation{{Field: "class", Reason: "must be MATTER_CLASS_GENERAL or MATTER_CLASS_MAJOR"}}}
	}
	if m.State != typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE {
		return illegal(m, "triage", "DISPUTE_STATE_AT_OFFICE, not yet triaged")
	}
	m.Class = c
	if c == ClassMajor {
		m.State = typesv1.DisputeState_DISPUTE_STATE_AWAITING_APPROVAL
	} else {
		m.State = typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING
	}
	return nil
}

// ValidateMeeting checks a meeting to convene: its agenda lists distinct
// disputes (at least one, or none for a plenary meeting), and it invites at
// least two distinct member units of the roster (isUnit). field is the
// request path of the meeting.
func ValidateMeeting(mt *Meeting, isUnit func(string) bool, field string) error {
	vs := kindViolations(mt, field)
	seen := map[string]bool{}
	for i, d := range mt.Disputes {
		if seen[d] {
			vs = append(vs, Violation{Field: fmt.Sprintf("%s.disputes[%d]", field, i), Reason: fmt.Sprintf("dispute %s is listed twice", d)})
		}
		seen[d] = true
	}
	units, valid := map[string]bool{}, 0
	for i, u := range mt.InvitedUnits {
		f := fmt.Sprintf("%s.invited_units[%d]", field, i)
		switch {
		case units[u]:
			vs = append(vs, Violation{Field: f, Reason: fmt.Sprintf("unit %q is invited twice", u)})
		case !isUnit(u):
			vs = append(vs, Violation{Field: f, Reason: fmt.Sprintf("%q is not a member unit of the roster", u)})
		default:
			valid++
		}
		units[u] = true
	}
	if valid < 2 {
		vs = append(vs, Violation{Field: field + ".invited_units", Reason: "a joint meeting invites at least two member units"})
	}
	if len(vs) > 0 {
		return &ValidationError{Violations: vs}
	}
	return nil
}

// Convene puts the meeting on the agenda of each matter; every matter must
// be a general matter in joint handling.
func Convene(mt *Meeting, matters []*Matter) error {
	for _, m := range matters {
		if m.State != typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING || m.Class != ClassGeneral {
			return illegal(m, "convene a joint meeting on", "a GENERAL matter in DISPUTE_STATE_JOINT_HANDLING")
		}
	}
	for _, m := range matters {
		m.Meetings = append(m.Meetings, mt.ID)
	}
	return nil
}

// SubmitOpinion records unit's written opinion on a dispute of the meeting's
// agenda, replacing the unit's earlier opinion on it; only invited units
// give opinions, and only until the office decides.
func SubmitOpinion(mt *Meeting, m *Matter, op Opinion) error {
	if err := MayGiveOpinion(mt, op); err != nil {
		return err
	}
	if m.State != typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING {
		return illegal(m, "submit an opinion on", "DISPUTE_STATE_JOINT_HANDLING, before the decision")
	}
	i := slices.IndexFunc(mt.Opinions, func(o Opinion) bool { return o.Dispute == op.Dispute && o.Unit == op.Unit })
	if i >= 0 {
		mt.Opinions[i] = op
	} else {
		mt.Opinions = append(mt.Opinions, op)
	}
	return nil
}

// Invites reports whether unit is invited to the meeting.
func (mt *Meeting) Invites(unit string) bool { return slices.Contains(mt.InvitedUnits, unit) }

// MayGiveOpinion checks that op's unit is invited to the meeting and its
// dispute on the meeting's agenda.
func MayGiveOpinion(mt *Meeting, op Opinion) error {
	if !mt.Invites(op.Unit) {
		return &DeniedError{Msg: fmt.Sprintf("unit %s is not invited to meeting %s (invited: %s)", op.Unit, mt.ID, strings.Join(mt.InvitedUnits, ", "))}
	}
	if !slices.Contains(mt.Disputes, op.Dispute) {
		return &ValidationError{Violations: []Violation{{Field: "opinion.dispute",
			Reason: fmt.Sprintf("%s is not on the agenda of meeting %s", op.Dispute, mt.ID)}}}
	}
	return nil
}

// Missing returns the invited units that have not given an opinion on dispute.
func (mt *Meeting) Missing(dispute string) []string {
	var out []string
	for _, u := range mt.InvitedUnits {
		if !slices.ContainsFunc(mt.Opinions, func(o Opinion) bool { return o.Dispute == dispute && o.Unit == u }) {
			out = append(out, u)
		}
	}
	return out
}

// Decide consolidates the opinions into the office's decision (REPLIED):
// the dispute must be in joint handling with a meeting, among meetings
// (those on its agenda), whose invited units all gave their opinion on it.
func Decide(m *Matter, meetings []*Meeting) error {
	if m.State != typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING {
		return illegal(m, "decide", "DISPUTE_STATE_JOINT_HANDLING")
	}
	if len(meetings) == 0 {
		return &PreconditionError{Reason: ReasonNoMeeting, Msg: fmt.Sprintf(
			"cannot decide %s: no joint meeting has been convened on it", m.label())}
	}
	for _, mt := range meetings {
		if len(mt.Missing(m.Name)) == 0 {
			m.State = typesv1.DisputeState_DISPUTE_STATE_REPLIED
			return nil
		}
	}
	last := meetings[len(meetings)-1]
	return &PreconditionError{Reason: ReasonOpinionsMissing, Msg: fmt.Sprintf(
		"cannot decide %s: written opinions missing from %s (meeting %s)",
		m.label(), strings.Join(last.Missing(m.Name), ", "), last.ID)}
}

// RequestApproval asks the convenor about a major matter awaiting approval;
// one request may be pending at a time.
func RequestApproval(m *Matter, a *Approval) error {
	if m.State != typesv1.DisputeState_DISPUTE_STATE_AWAITING_APPROVAL || m.Class != ClassMajor {
		return illegal(m, "request approval for", "a MAJOR matter in DISPUTE_STATE_AWAITING_APPROVAL")
	}
	if m.PendingApproval != "" {
		return &PreconditionError{Reason: ReasonApprovalPending, Msg: fmt.Sprintf(
			"cannot request approval for %s: approval %s is still pending", m.label(), m.PendingApproval)}
	}
	m.PendingApproval = a.ID
	return nil
}

// DecideApproval records the convenor's decision: approved sends the matter
// to the mediation platform, declined returns it to the office, where it
// may be triaged again.
func DecideApproval(m *Matter, a *Approval, approve bool, comment string, now time.Time) error {
	if a.Decided {
		verdict := "declined"
		if a.Approved {
			verdict = "approved"
		}
		return &PreconditionError{Reason: ReasonApprovalDecided, Msg: fmt.Sprintf(
			"approval %s was already %s", a.ID, verdict)}
	}
	if m.State != typesv1.DisputeState_DISPUTE_STATE_AWAITING_APPROVAL {
		return illegal(m, "decide the approval of", "DISPUTE_STATE_AWAITING_APPROVAL")
	}
	a.Decided, a.Approved, a.Comment, a.DecideTime = true, approve, comment, now
	m.PendingApproval = ""
	if approve {
		m.State = typesv1.DisputeState_DISPUTE_STATE_AT_PLATFORM
		return nil
	}
	m.Observe(typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE)
	return nil
}

// PlatformOutcome records the mediation platform's outcome (REPLIED).
func PlatformOutcome(m *Matter) error {
	if m.State != typesv1.DisputeState_DISPUTE_STATE_AT_PLATFORM {
		return illegal(m, "record the platform's outcome of", "DISPUTE_STATE_AT_PLATFORM")
	}
	m.State = typesv1.DisputeState_DISPUTE_STATE_REPLIED
	return nil
}
