package tracker

import (
	"errors"
	"slices"
	"time"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/remedy"
)

// Why a dispute closed; values of Tracking.close_cause and DisputeClosed.cause.
const (
	CauseWithdrawn            = "withdrawn"
	CauseObjection            = "objection"
	CauseObjectionWindowEnded = "objection_window_ended"
	CauseClosedByHolder       = "closed_by_holder"
)

// Actions that record something without moving the dispute; they are
// refused, naming the state, outside the states that allow them.
const (
	ActAddNote  Action = "add_note"
	ActFollowUp Action = "follow_up"
)

// ErrPrecondition is a refusal that is neither an illegal transition nor
// a permission problem: the dispute is in the right state but lacks what
// the action needs (e.g. redo without a dissatisfied follow-up). Every
// *RefusedError matches it.
var ErrPrecondition = errors.New("failed precondition")

// Reply is the written reply to the claimant (书面告知).
type Reply struct {
	Outcome  string            `json:"outcome"`
	Text     string            `json:"text"`
	Remedies []remedy.Deadline `json:"remedies"`
	Time     time.Time         `json:"time"`
	Actor    Actor             `json:"actor"`
	// Issuer is who issues the letter (Issuer*), by the action that
	// recorded it.
	Issuer Issuer `json:"issuer,omitempty"`
	// IssuerName is the issuer's name from the region's legal data; empty
	// means the issuing unit's roster name.
	IssuerName string `json:"issuer_name,omitempty"`
	// Delivery is the record of the reply reaching the claimant (送达).
	Delivery *Delivery `json:"delivery,omitempty"`
}

// Note is one note of handling progress (办理进展).
type Note struct {
	Text  string    `json:"text"`
	Actor Actor     `json:"actor"`
	Time  time.Time `json:"time"`
}

// FollowUp is a follow-up call after the reply (回访).
type FollowUp struct {
	Satisfied bool      `json:"satisfied"`
	Note      string    `json:"note,omitempty"`
	Actor     Actor     `json:"actor"`
	Time      time.Time `json:"time"`
}

// Handled is what handling adds to a tracker.
type Handled struct {
	Notes     []Note     `json:"notes,omitempty"`
	Reply     *Reply     `json:"reply,omitempty"`
	FollowUps []FollowUp `json:"follow_ups,omitempty"`
	RedoCount int32      `json:"redo_count,omitempty"`
	// ObjectionWindowEnd is when a REPLIED dispute closes unless the
	// claimant objects first; zero in every other state.
	ObjectionWindowEnd time.Time `json:"objection_window_end,omitzero"`
	// ObjectionRemedy is the remedy the claimant chose on objection.
	ObjectionRemedy typesv1.Remedy `json:"objection_remedy,omitempty"`
	// CloseCause says why the dispute closed (Cause*).
	CloseCause string `json:"close_cause,omitempty"`
}

// ReplyInput is a written reply as given by its author.
type ReplyInput struct {
	Outcome, Text string
	// Remedies to state; none means remedy.Default.
	Remedies []typesv1.Remedy
}

// require refuses act, naming the state, unless the dispute is in one of states.
func (t *Tracker) require(act Action, states ...State) error {
	if !slices.Contains(states, t.State) {
		return &TransitionError{From: t.State, Action: act}
	}
	return nil
}

func (t *Tracker) mustHold(c Caller, what string) error {
	if c.Department != t.Holder {
		return deny("only the holding department %s may %s %s", t.Holder, what, t.Name)
	}
	return nil
}

// recordReply stores the reply with the remedies' last dates on the
// region's business calendar, stops the clocks and opens the objection
// window. Dates and window count from the reply until its delivery is
// recorded (RecordDelivery), which counts them again from the delivery date.
func (t *Tracker) recordReply(act Action, a Actor, in ReplyInput, cal Calendar, now time.Time, eventID string) (*Reply, error) {
	to, err := Next(t.State, act)
	if err != nil {
		return nil, err
	}
	if in.Outcome == "" {
		return nil, &ValidationError{Field: "outcome", Reason: "is required"}
	}
	if in.Text == "" {
		return nil, &ValidationError{Field: "text", Reason: "is required"}
	}
	rs, err := remedy.Deadlines(in.Remedies, now, cal.Rules(t.Region).Calendar)
	if err != nil {
		return nil, &ValidationError{Field: "remedies", Reason: err.Error()}
	}
	r := &Reply{Outcome: in.Outcome, Text: in.Text, Remedies: rs, Time: now, Actor: a, Issuer: issuerOf(act)}
	t.Reply = r
	// The window is counted in calendar days; its last day rolls forward
	// to a working day and the window ends with that day.
	rules := cal.Rules(t.Region)
	t.ObjectionWindowEnd = rules.Calendar.AddCalendarDays(now, rules.ObjectionWindowDays)
	t.stopClocks(now)
	t.move(to, a, now, in.Outcome, eventID)
	return r, nil
}

// RecordReply records the holder's written reply to a dispute it handles
// (HANDLING to REPLIED) with the remedies' last dates.
func (t *Tracker) RecordReply(c Caller, in ReplyInput, cal Calendar, now time.Time) (*Reply, error) {
	if err := t.require(ActReply, Handling); err != nil {
		return nil, err
	}
	if err := t.mustHold(c, "reply to"); err != nil {
		return nil, err
	}
	return t.recordReply(ActReply, c.Actor, in, cal, now, "")
}

// AddNote records handling progress by the holder, or by the office while
// the dispute is at the office or in joint handling.
func (t *Tracker) AddNote(c Caller, text string, now time.Time) error {
	if err := t.require(ActAddNote, Handling, JointHandling, AtOffice); err != nil {
		return err
	}
	if c.Department != t.Holder && !(c.Office && t.State != Handling) {
		return deny("only the holding department %s may add progress notes to %s", t.Holder, t.Name)
	}
	if text == "" {
		return &ValidationError{Field: "text", Reason: "is required"}
	}
	if err := limitReached("progress notes", len(t.Notes), MaxNotes); err != nil {
		return err
	}
	t.Notes = append(t.Notes, Note{Text: text, Actor: c.Actor, Time: now})
	t.Version++
	return nil
}

// RecordFollowUp records a follow-up call after the reply (回访) by the
// holder or the office.
func (t *Tracker) RecordFollowUp(c Caller, satisfied bool, note string, now time.Time) (*FollowUp, error) {
	if err := t.require(ActFollowUp, Replied); err != nil {
		return nil, err
	}
	if c.Department != t.Holder && !c.Office {
		return nil, deny("only the holding department %s or the office may record a follow-up of %s", t.Holder, t.Name)
	}
	if err := limitReached("follow-ups", len(t.FollowUps), MaxFollowUps); err != nil {
		return nil, err
	}
	t.FollowUps = append(t.FollowUps, FollowUp{Satisfied: satisfied, Note: note, Actor: c.Actor, Time: now})
	t.Version++
	return &t.FollowUps[len(t.FollowUps)-1], nil
}

// dissatisfied reports whether the last follow-up since the reply found
// the claimant dissatisfied.
func (t *Tracker) dissatisfied() bool {
	if t.Reply == nil || len(t.FollowUps) == 0 {
		return false
	}
	last := t.FollowUps[len(t.FollowUps)-1]
	return !last.Satisfied && !last.Time.Before(t.Reply.Time)
}

// Redo sends a replied dispute back to its holder (发回重办): the office
// orders it after a follow-up found the claimant dissatisfied; the
// handling clock starts again.
func (t *Tracker) Redo(c Caller, reason string, cal Calendar, now time.Time) error {
	to, err := Next(t.State, ActRedo)
	if err != nil {
		return err
	}
	if !c.Office {
		return deny("only the office may send %s back for redo", t.Name)
	}
	if reason == "" {
		return &ValidationError{Field: "reason", Reason: "is required: say what must be redone"}
	}
	if !t.dissatisfied() {
		return refuse("NO_DISSATISFIED_FOLLOW_UP", "no follow-up since the reply of %s found the claimant dissatisfied", t.Number)
	}
	t.RedoCount++
	t.ObjectionWindowEnd = time.Time{}
	t.stopClocks(now)
	t.startClock(StageHandling, now, cal)
	t.move(to, c.Actor, now, reason, "")
	return nil
}

// mayObject reports whether c may record the claimant's objection: the
// holder, the registering department or the office.
func (t *Tracker) mayObject(c Caller) bool {
	return c.Office || c.Department == t.Holder || c.Department == t.RegisteringDepartment
}

// Object records the claimant's objection with the remedy chosen and
// closes the dispute.
func (t *Tracker) Object(c Caller, r typesv1.Remedy, note string, now time.Time) error {
	to, err := Next(t.State, ActObject)
	if err != nil {
		return err
	}
	if !t.mayObject(c) {
		return deny("only the holder %s, the registering department %s or the office may record an objection to %s", t.Holder, t.RegisteringDepartment, t.Name)
	}
	if r == typesv1.Remedy_REMEDY_UNSPECIFIED {
		return &ValidationError{Field: "remedy", Reason: "is required"}
	}
	t.ObjectionRemedy = r
	t.ObjectionWindowEnd = time.Time{}
	t.CloseCause = CauseObjection
	t.stopClocks(now)
	reason := "objection: " + r.String()
	if note != "" {
		reason += ": " + note
	}
	t.move(to, c.Actor, now, reason, "")
	return nil
}

// Close closes a replied dispute by its holder (办结).
func (t *Tracker) Close(c Caller, reason string, now time.Time) error {
	to, err := Next(t.State, ActClose)
	if err != nil {
		return err
	}
	if err := t.mustHold(c, "close"); err != nil {
		return err
	}
	if reason == "" {
		reason = "closed by the holder"
	}
	t.ObjectionWindowEnd = time.Time{}
	t.CloseCause = CauseClosedByHolder
	t.stopClocks(now)
	t.move(to, c.Actor, now, reason, "")
	return nil
}

// Triage applies the office's triage (from the meeting service): a general
// matter goes to joint handling, a major one awaits the convenor's
// approval with its clock running.
func (t *Tracker) Triage(major bool, a Actor, note string, cal Calendar, now time.Time, eventID string) error {
	act := ActTriageGeneral
	if major {
		act = ActTriageMajor
	}
	to, err := Next(t.State, act)
	if err != nil {
		return err
	}
	if t.OfficeReceiptPending {
		return refuse("OFFICE_RECEIPT_PENDING", "the office has not signed the transfer slip of %s yet", t.Number)
	}
	// The triage clock stops; the reply clock runs on. A major matter's
	// approval clock starts with the office's request, not here.
	t.stopHolderClock(now)
	t.move(to, a, now, note, eventID)
	return nil
}

// DecideApproval applies the convenor's decision on a major matter: to
// the platform when approved, back to the office when declined.
// The platform's clock starts on approval; a declined matter is triaged
// again, on a new triage clock.
func (t *Tracker) DecideApproval(approved bool, a Actor, comment string, cal Calendar, now time.Time, eventID string) error {
	act := ActDecline
	if approved {
		act = ActApprove
	}
	to, err := Next(t.State, act)
	if err != nil {
		return err
	}
	t.stopHolderClock(now)
	t.Approval = ""
	if approved {
		t.PlatformUnit = cal.Rules(t.Region).Platform()
		t.startClockFor(StagePlatform, t.PlatformUnit, now, cal)
	} else {
		t.startClock(StageTriage, now, cal)
	}
	t.move(to, a, now, comment, eventID)
	return nil
}

// RecordOutcome records the reply that ends joint handling (the office's
// decision) or the platform's outcome.
func (t *Tracker) RecordOutcome(platform bool, a Actor, in ReplyInput, cal Calendar, now time.Time, eventID string) (*Reply, error) {
	act := ActDecide
	if platform {
		act = ActPlatformOutcome
	}
	return t.recordReply(act, a, in, cal, now, eventID)
}
