package tracker

import (
	"fmt"
	"time"

	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
)

// RefusedError is a request the tracker's current state does not allow
// that is not a lifecycle transition (a second extension, resuming a clock
// that is not paused). Reason is the machine-readable cause, e.g.
// "CLOCK_ALREADY_PAUSED"; the message says what stands in the way. It
// matches ErrPrecondition.
type RefusedError struct {
	Reason string
	Msg    string
}

func (e *RefusedError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrPrecondition) true.
func (e *RefusedError) Is(target error) bool { return target == ErrPrecondition }

func refuse(reason, format string, args ...any) error {
	return &RefusedError{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// date formats t as a China date.
func date(t time.Time) string { return t.In(clock.China).Format(time.DateOnly) }

// Extension is the one request to extend the handling stage (延期申请).
type Extension struct {
	Days        int       `json:"days"`
	Reason      string    `json:"reason"`
	RequestedBy Actor     `json:"requested_by"`
	RequestTime time.Time `json:"request_time"`
	Decided     bool      `json:"decided,omitempty"`
	Approved    bool      `json:"approved,omitempty"`
	DecidedBy   *Actor    `json:"decided_by,omitempty"`
	DecideTime  time.Time `json:"decide_time,omitzero"`
	Comment     string    `json:"comment,omitempty"`
}

// runningClock returns a pointer to the holder's clock still running, or
// nil. Opinion and reply clocks run beside it and are not the holder's.
func (t *Tracker) runningClock() *Clock {
	for i := range t.Clocks {
		if t.Clocks[i].Running() && !partyClock(t.Clocks[i].Stage) {
			return &t.Clocks[i]
		}
	}
	return nil
}

// holderClock checks that c is the holding department and returns the
// running clock.
func (t *Tracker) holderClock(c Caller, what string) (*Clock, error) {
	if !t.CanView(c) {
		return nil, deny("department %s has no part in %s", c.Department, t.Name)
	}
	if c.Department != t.Holder {
		return nil, deny("only the holding department %s may %s", t.Holder, what)
	}
	k := t.runningClock()
	if k == nil {
		return nil, refuse("NO_RUNNING_CLOCK", "dispute is in state %s and has no running clock", t.State)
	}
	return k, nil
}

// PauseClock stops the running clock with a reason (e.g. waiting for the
// claimant's documents). Only the holder may; one pause at a time; an
// overdue clock cannot be paused (that would move a deadline already missed).
func (t *Tracker) PauseClock(c Caller, reason string, now time.Time) (Clock, error) {
	if reason == "" {
		return Clock{}, &ValidationError{Field: "reason", Reason: "is required: say why the clock stands still"}
	}
	k, err := t.holderClock(c, "pause its clock")
	if err != nil {
		return Clock{}, err
	}
	if k.Paused() {
		return Clock{}, refuse("CLOCK_ALREADY_PAUSED", "the clock is paused since %s: %s", date(k.Pauses[len(k.Pauses)-1].Start), k.Pauses[len(k.Pauses)-1].Reason)
	}
	if now.After(k.Due) {
		return Clock{}, refuse("CLOCK_OVERDUE", "the clock was due on %s and cannot be paused", date(k.Due))
	}
	if err := limitReached("pauses of one clock", len(k.Pauses), MaxPausesPerClock); err != nil {
		return Clock{}, err
	}
	k.Pauses = append(k.Pauses, Pause{Start: now, Reason: reason, Actor: c.Actor})
	t.Version++
	return *k, nil
}

// ResumeClock ends the open pause; the days it gives back move the due time.
func (t *Tracker) ResumeClock(c Caller, cal Calendar, now time.Time) (Clock, error) {
	k, err := t.holderClock(c, "resume its clock")
	if err != nil {
		return Clock{}, err
	}
	if !k.Paused() {
		return Clock{}, refuse("CLOCK_NOT_PAUSED", "the %s clock is not paused", stageName(k.Stage))
	}
	k.Pauses[len(k.Pauses)-1].End = now
	k.reschedule(cal.Rules(t.Region), now)
	t.Version++
	return *k, nil
}

// RequestExtension asks for the one extension of the handling stage: by the
// holder, while HANDLING, once per dispute, at most the region's maximum.
func (t *Tracker) RequestExtension(c Caller, days int, reason string, cal Calendar, now time.Time) (*Extension, error) {
	if !t.CanView(c) {
		return nil, deny("department %s has no part in %s", c.Department, t.Name)
	}
	if t.State != Handling {
		return nil, &TransitionError{From: t.State, Action: "request_extension"}
	}
	if c.Department != t.Holder {
		return nil, deny("only the holding department %s may ask for an extension", t.Holder)
	}
	if t.Extension != nil {
		return nil, refuse("EXTENSION_ALREADY_REQUESTED", "the one extension of %s was requested on %s already", t.Number, date(t.Extension.RequestTime))
	}
	if reason == "" {
		return nil, &ValidationError{Field: "reason", Reason: "is required"}
	}
	if m := cal.Rules(t.Region).MaxExtensionDays; days <= 0 || days > m {
		return nil, &ValidationError{Field: "days", Reason: fmt.Sprintf("must be between 1 and %d, the longest extension region %s allows", m, t.Region)}
	}
	if k := t.runningClock(); k == nil || k.Stage != StageHandling {
		return nil, refuse("NO_RUNNING_CLOCK", "the handling clock of %s is not running", t.Number)
	}
	t.Extension = &Extension{Days: days, Reason: reason, RequestedBy: c.Actor, RequestTime: now}
	t.Version++
	return t.Extension, nil
}

// DecideExtension approves or declines the pending extension request: the
// head of the handling unit decides (《信访工作条例》第三十二条: 经本机关、
// 单位负责人批准). Approval adds the days to the handling clock.
func (t *Tracker) DecideExtension(c Caller, approve bool, comment string, cal Calendar, now time.Time) (*Extension, Clock, error) {
	if !t.CanView(c) {
		return nil, Clock{}, deny("department %s has no part in %s", c.Department, t.Name)
	}
	if !c.Head || c.Department != t.Holder {
		return nil, Clock{}, deny("only the head of the handling unit %s decides the extension of %s", t.Holder, t.Name)
	}
	switch {
	case t.Extension == nil:
		return nil, Clock{}, refuse("NO_EXTENSION_REQUESTED", "no extension of %s has been requested", t.Number)
	case t.Extension.Decided:
		return nil, Clock{}, refuse("EXTENSION_ALREADY_DECIDED", "the extension of %s was decided on %s already", t.Number, date(t.Extension.DecideTime))
	}
	k := t.runningClock()
	if t.State != Handling || k == nil || k.Stage != StageHandling {
		return nil, Clock{}, &TransitionError{From: t.State, Action: "decide_extension"}
	}
	e := t.Extension
	approver := c.Actor
	e.Decided, e.Approved, e.DecidedBy, e.DecideTime, e.Comment = true, approve, &approver, now, comment
	if approve {
		k.ExtensionDays = e.Days
		k.ExtensionApprover = &approver
		k.reschedule(cal.Rules(t.Region), now)
	}
	t.Version++
	return e, *k, nil
}

// NoticeKind is what the deadline scanner found.
type NoticeKind int

// Notice kinds.
const (
	NoticeWarning NoticeKind = iota + 1
	NoticeOverdue
	NoticeObjectionWindowEnded
)

// Notice is one thing the deadline scanner must publish.
type Notice struct {
	Kind  NoticeKind
	Clock Clock
}

// NextDeadline is the earliest moment at which Tick has something to do:
// a running, unpaused clock's warning or due time not yet raised, or the end
// of the objection window of a REPLIED dispute.
func (t *Tracker) NextDeadline() (time.Time, bool) {
	var next time.Time
	consider := func(at time.Time) {
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	for _, k := range t.Clocks {
		if !k.Running() || k.Paused() {
			continue
		}
		if !k.Overdue {
			consider(k.Due)
		}
		if !k.Warned && !k.Overdue {
			consider(k.WarnAt)
		}
	}
	if t.State == Replied {
		consider(t.ObjectionWindowEnd)
	}
	return next, !next.IsZero()
}

// ScannerActor is the actor of what the deadline scanner does.
func ScannerActor(region string) Actor { return Actor{Region: region, Staff: "deadline-scanner"} }

// Tick does what is due at now, each thing once: a DeadlineWarning from a
// clock's warning time on, Overdue once its due time (the last second of
// its last day) has passed (a clock found already overdue is not warned
// about any more), and the closing of a REPLIED dispute whose objection
// window has ended, after its last second. Warnings and Overdue do not change the etag: they record
// that something was said, not a change a client must have seen.
func (t *Tracker) Tick(now time.Time) ([]Notice, error) {
	var out []Notice
	for i := range t.Clocks {
		k := &t.Clocks[i]
		if !k.Running() || k.Paused() {
			continue
		}
		switch {
		case !k.Overdue && now.After(k.Due):
			k.Overdue, k.Warned = true, true
			out = append(out, Notice{Kind: NoticeOverdue, Clock: *k})
		case !k.Warned && !k.Overdue && !k.WarnAt.IsZero() && !now.Before(k.WarnAt):
			k.Warned = true
			out = append(out, Notice{Kind: NoticeWarning, Clock: *k})
		}
	}
	if t.State == Replied && !t.ObjectionWindowEnd.IsZero() && now.After(t.ObjectionWindowEnd) {
		to, err := Next(t.State, ActObjectionEnds)
		if err != nil {
			return nil, err
		}
		end := t.ObjectionWindowEnd
		t.ObjectionWindowEnd = time.Time{}
		t.CloseCause = CauseObjectionWindowEnded
		t.stopClocks(now)
		t.move(to, ScannerActor(t.Region), now, "objection window ended on "+date(end), "")
		out = append(out, Notice{Kind: NoticeObjectionWindowEnded})
	}
	return out, nil
}

func stageName(s Stage) string {
	switch s {
	case StageRouting:
		return "routing"
	case StageTransferReceipt:
		return "transfer receipt"
	case StageHandling:
		return "handling"
	case StageOpinion:
		return "opinion"
	case StageApproval:
		return "approval"
	case StageTriage:
		return "triage"
	case StagePlatform:
		return "platform"
	case StageReply:
		return "reply"
	}
	return fmt.Sprintf("stage %d", s)
}
