package tracker

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// Errors the grpcapi error table maps to status codes.
var (
	// ErrNotFound: no tracker for the dispute.
	ErrNotFound = errors.New("tracking not found")
	// ErrPermissionDenied: the caller's department may not see or do this.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrEtagMismatch: the caller's etag is stale.
	ErrEtagMismatch = errors.New("etag mismatch")
	// ErrAlreadyClosed: the dispute is closed already (withdrawal redelivered
	// under a new id, or withdrawn after closing).
	ErrAlreadyClosed = errors.New("dispute already closed")
	// ErrNoOffice: the region's roster names no office host unit.
	ErrNoOffice = errors.New("roster names no office host unit")
)

// ValidationError is bad input found by a domain rule, for one field.
type ValidationError struct {
	Field, Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// deny returns ErrPermissionDenied with a reason.
func deny(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrPermissionDenied, fmt.Sprintf(format, args...))
}

// Actor is who caused a transition.
type Actor struct {
	Region     string   `json:"region,omitempty"`
	Department string   `json:"department,omitempty"`
	Staff      string   `json:"staff,omitempty"`
	Roles      []string `json:"roles,omitempty"`
}

// Caller is the identity acting through an RPC.
type Caller struct {
	Actor
	// RegionWide is set for the office and convenor roles, who see every
	// dispute of their region.
	RegionWide bool
	// Office is set for the office role, who orders redo.
	Office bool
	// Head is set for the head of a unit (单位负责人), who approves the
	// extension of a dispute the unit handles.
	Head bool
}

// Transition is one recorded step of the lifecycle.
type Transition struct {
	From    State     `json:"from"`
	To      State     `json:"to"`
	Actor   Actor     `json:"actor"`
	Time    time.Time `json:"time"`
	Reason  string    `json:"reason,omitempty"`
	EventID string    `json:"event_id,omitempty"`
}

// Slip is a transfer slip (流转单).
type Slip struct {
	Name                  string    `json:"name"`
	Number                string    `json:"number"`
	Dispute               string    `json:"dispute"`
	RegisteringDepartment string    `json:"registering_department"`
	RegisteringStaff      string    `json:"registering_staff"`
	Opinion               string    `json:"opinion"`
	ReceivingDepartment   string    `json:"receiving_department"`
	Receiver              string    `json:"receiver,omitempty"`
	ReceiveTime           time.Time `json:"receive_time,omitzero"`
	CreateTime            time.Time `json:"create_time"`
	ReturnReason          string    `json:"return_reason,omitempty"`
}

// Tracker is where one dispute is and who must act by when.
type Tracker struct {
	Name                  string           `json:"name"`
	Region                string           `json:"region"`
	Number                string           `json:"number"`
	State                 State            `json:"state"`
	Holder                string           `json:"holder"`
	RegisteringDepartment string           `json:"registering_department"`
	FirstReceiver         string           `json:"first_receiver"`
	Category              typesv1.Category `json:"category"`
	Clocks                []Clock          `json:"clocks,omitempty"`
	History               []Transition     `json:"history"`
	Slips                 []Slip           `json:"slips,omitempty"`
	ReturnCount           int32            `json:"return_count,omitempty"`
	PastHolders           []string         `json:"past_holders,omitempty"`
	// RouteReasonCode is the reason code of the last routing.
	RouteReasonCode string `json:"route_reason_code,omitempty"`
	// Extension is the one request to extend the handling stage, once asked.
	Extension *Extension `json:"extension,omitempty"`
	// Handled is the handling record: notes, reply, follow-ups, redo,
	// objection and why it closed.
	Handled
	// Office is the office path's record: receipt, invitations, approval,
	// platform and the parties reading the dispute for one stage.
	Office
	// Version grows by one on every change; its decimal form is the etag.
	Version int64 `json:"version"`
}

// Etag is the tracker's version for optimistic concurrency.
func (t *Tracker) Etag() string { return strconv.FormatInt(t.Version, 10) }

// CheckEtag returns ErrEtagMismatch when etag is given and not current.
func (t *Tracker) CheckEtag(etag string) error {
	if etag != "" && etag != t.Etag() {
		return fmt.Errorf("%w: given %q, current %q", ErrEtagMismatch, etag, t.Etag())
	}
	return nil
}

// Registration is what routing learns from intake's DisputeRegistered.
type Registration struct {
	Name                  string
	RegisteringDepartment string
	FirstReceiver         string
	Category              typesv1.Category
	RegisterTime          time.Time
	Actor                 Actor
	EventID               string
}

// Open starts tracking a registered dispute: REGISTERED, held by the
// registering department, with the routing clock running from registration.
func Open(r Registration, cal Calendar) (*Tracker, error) {
	region, _, _, err := names.ParseDispute(r.Name)
	if err != nil {
		return nil, err
	}
	number, _ := names.NumberOf(r.Name)
	if r.RegisteringDepartment == "" {
		return nil, &ValidationError{Field: "dispute.registering_department", Reason: "is empty"}
	}
	to, err := Next(Unspecified, ActRegister)
	if err != nil {
		return nil, err
	}
	t := &Tracker{
		Name:                  r.Name,
		Region:                region,
		Number:                number,
		State:                 to,
		Holder:                r.RegisteringDepartment,
		RegisteringDepartment: r.RegisteringDepartment,
		FirstReceiver:         r.FirstReceiver,
		Category:              r.Category,
		History: []Transition{{
			From: Unspecified, To: to, Actor: r.Actor, Time: r.RegisterTime, Reason: "registered", EventID: r.EventID,
		}},
		Version: 1,
	}
	t.startClock(StageRouting, r.RegisterTime, cal)
	return t, nil
}

// CanView reports whether c may see the tracker: its own region's office
// and convenor, or a department that registered, holds or held it.
func (t *Tracker) CanView(c Caller) bool {
	if c.Region != t.Region {
		return false
	}
	if c.RegionWide {
		return true
	}
	return slices.Contains(t.Readers(), c.Department)
}

// Readers returns the departments that may read the dispute now: the
// registering department, the holder and the past holders, then the guest
// readers, each once. It is what routing's events tell other services
// (Lifecycle.readers).
func (t *Tracker) Readers() []string {
	return append(t.parties(), t.GuestReaders()...)
}

// parties are the registering department, the holder and the past holders:
// the departments that read a dispute for good (首问到底: the registering
// department keeps reading a dispute it passed on).
func (t *Tracker) parties() []string {
	out := make([]string, 0, 2+len(t.PastHolders))
	for _, d := range append([]string{t.RegisteringDepartment, t.Holder}, t.PastHolders...) {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// RunningClock returns the holder's clock still running, if any.
func (t *Tracker) RunningClock() (Clock, bool) {
	if k := t.runningClock(); k != nil {
		return *k, true
	}
	return Clock{}, false
}

// startClock starts stage s's clock, the holder's, with the region's limit
// in force now.
func (t *Tracker) startClock(s Stage, start time.Time, cal Calendar) *Clock {
	return t.startClockFor(s, t.Holder, start, cal)
}

// startClockFor starts stage s's clock for department dept.
func (t *Tracker) startClockFor(s Stage, dept string, start time.Time, cal Calendar) *Clock {
	r := cal.Rules(t.Region)
	k := Clock{Stage: s, Department: dept, Start: start, Limit: r.Limit(s)}
	k.reschedule(r, start)
	t.Clocks = append(t.Clocks, k)
	return &t.Clocks[len(t.Clocks)-1]
}

// stopClocks stops every running clock: the dispute left the stages they
// time.
func (t *Tracker) stopClocks(now time.Time) {
	for i := range t.Clocks {
		if t.Clocks[i].Running() {
			t.Clocks[i].Stop = now
		}
	}
}

// stopHolderClock stops the holder's running clock and leaves the opinion
// and reply clocks running.
func (t *Tracker) stopHolderClock(now time.Time) {
	if k := t.runningClock(); k != nil {
		k.Stop = now
	}
}

func (t *Tracker) setHolder(d string) {
	if d == t.Holder {
		return
	}
	if t.Holder != "" && !slices.Contains(t.PastHolders, t.Holder) {
		t.PastHolders = append(t.PastHolders, t.Holder)
	}
	t.Holder = d
}

func (t *Tracker) move(to State, a Actor, now time.Time, reason, eventID string) {
	t.History = append(t.History, Transition{From: t.State, To: to, Actor: a, Time: now, Reason: reason, EventID: eventID})
	t.State = to
	t.Version++
}

// StampEvent records the id of the event that published the last
// transition, unless one is recorded already: a change that is no
// transition (a note, a follow-up) leaves the history as it was.
func (t *Tracker) StampEvent(id string) {
	if n := len(t.History); n > 0 && t.History[n-1].EventID == "" {
		t.History[n-1].EventID = id
	}
}

// Withdraw closes the dispute on the claimant's withdrawal and stops its clocks.
func (t *Tracker) Withdraw(a Actor, reason, eventID string, now time.Time) error {
	if t.State == Closed || t.State == Archived {
		return fmt.Errorf("%w: state %s", ErrAlreadyClosed, t.State)
	}
	to, err := Next(t.State, ActWithdraw)
	if err != nil {
		return err
	}
	if reason == "" {
		reason = "withdrawn"
	}
	t.stopClocks(now)
	t.CloseCause = CauseWithdrawn
	t.move(to, a, now, reason, eventID)
	return nil
}

// RouteKind is how a dispute is routed; values match routing.v1.RouteKind.
type RouteKind int32

// Route kinds.
const (
	RouteSelf     RouteKind = 1
	RouteTransfer RouteKind = 2
	RouteOffice   RouteKind = 3
)

// Route is one routing decision with what it needs from the roster.
type Route struct {
	Kind       RouteKind
	Target     string
	Opinion    string
	ReasonCode string
	// OfficeHost is the roster's office host unit.
	OfficeHost string
	// IsUnit reports whether a department is a member unit of the roster.
	IsUnit func(id string) bool
	// NextSlip allocates the next transfer slip name and number; called
	// for TRANSFER and OFFICE.
	NextSlip func() (name, number string, err error)
}

// Route applies a routing decision by c: SELF, TRANSFER or OFFICE from
// REGISTERED by the registering department, or OFFICE from HANDLING by the
// holder (escalation). It returns the new slip for TRANSFER and OFFICE.
func (t *Tracker) Route(c Caller, r Route, cal Calendar, now time.Time) (*Slip, error) {
	if !t.CanView(c) {
		return nil, deny("department %s has no part in %s", c.Department, t.Name)
	}
	var act Action
	switch {
	case r.Kind == RouteSelf:
		act = ActRouteSelf
	case r.Kind == RouteTransfer:
		act = ActRouteTransfer
	case r.Kind == RouteOffice && t.State == Handling:
		act = ActEscalate
	case r.Kind == RouteOffice:
		act = ActRouteOffice
	default:
		return nil, &ValidationError{Field: "kind", Reason: "must be SELF, TRANSFER or OFFICE"}
	}
	to, err := Next(t.State, act)
	if err != nil {
		return nil, err
	}
	if c.Department != t.Holder {
		return nil, deny("only the holding department %s may route %s in state %s", t.Holder, t.Name, t.State)
	}
	reason := r.Opinion
	var slip *Slip
	switch act {
	case ActRouteSelf:
		t.stopClocks(now)
		t.setHolder(c.Department)
		t.startClock(StageHandling, now, cal)
	case ActRouteTransfer:
		switch {
		case r.Target == "":
			return nil, &ValidationError{Field: "target_department", Reason: "is required for TRANSFER"}
		case r.Target == c.Department:
			return nil, &ValidationError{Field: "target_department", Reason: "must be another department than the caller's own; route SELF instead"}
		case r.IsUnit == nil || !r.IsUnit(r.Target):
			return nil, &ValidationError{Field: "target_department", Reason: fmt.Sprintf("%q is not a member unit of region %s", r.Target, t.Region)}
		}
		name, number, err := r.NextSlip()
		if err != nil {
			return nil, fmt.Errorf("allocate transfer slip: %w", err)
		}
		slip = &Slip{
			Name: name, Number: number, Dispute: t.Name,
			RegisteringDepartment: c.Department, RegisteringStaff: c.Staff,
			Opinion: r.Opinion, ReceivingDepartment: r.Target, CreateTime: now,
		}
		t.Slips = append(t.Slips, *slip)
		t.stopClocks(now)
		t.setHolder(r.Target)
		t.startClock(StageTransferReceipt, now, cal)
	case ActRouteOffice, ActEscalate:
		var err error
		if slip, err = t.toOffice(c.Actor, r.Opinion, r.OfficeHost, r.NextSlip, cal, now); err != nil {
			return nil, err
		}
	}
	t.RouteReasonCode = r.ReasonCode
	t.move(to, c.Actor, now, reason, "")
	return slip, nil
}

// currentSlip is the slip of the transfer awaiting receipt.
func (t *Tracker) currentSlip() *Slip {
	if len(t.Slips) == 0 {
		return nil
	}
	return &t.Slips[len(t.Slips)-1]
}

func (t *Tracker) checkReceiver(c Caller, act Action) (State, *Slip, error) {
	if !t.CanView(c) {
		return Unspecified, nil, deny("department %s has no part in %s", c.Department, t.Name)
	}
	to, err := Next(t.State, act)
	if err != nil {
		return Unspecified, nil, err
	}
	s := t.currentSlip()
	if s == nil {
		return Unspecified, nil, fmt.Errorf("tracker %s in state %s has no transfer slip", t.Name, t.State)
	}
	if c.Department != s.ReceivingDepartment {
		return Unspecified, nil, deny("only the receiving department %s may act on transfer slip %s", s.ReceivingDepartment, s.Number)
	}
	return to, s, nil
}

// Receive signs for a transfer (签收): the receiving department holds and
// handles the dispute.
func (t *Tracker) Receive(c Caller, cal Calendar, now time.Time) (*Slip, error) {
	if t.State == AtOffice {
		return t.officeReceive(c, cal, now)
	}
	to, s, err := t.checkReceiver(c, ActReceive)
	if err != nil {
		return nil, err
	}
	s.Receiver = c.Staff
	s.ReceiveTime = now
	t.stopClocks(now)
	t.setHolder(c.Department)
	t.startClock(StageHandling, now, cal)
	t.move(to, c.Actor, now, "transfer received", "")
	return s, nil
}

// MaxReturns is how many returns send a dispute to the office instead of
// back to its registering department.
const MaxReturns = 2

// Return sends a transfer back with the reason (退回): to the registering
// department for re-routing, or on the second return to the office.
// The second return makes a transfer slip to the office (nextSlip numbers
// it). At the office, the office returns the dispute it has not signed for.
func (t *Tracker) Return(c Caller, reason, officeHost string, nextSlip func() (string, string, error), cal Calendar, now time.Time) (s *Slip, toOffice bool, err error) {
	if reason == "" {
		return nil, false, &ValidationError{Field: "reason", Reason: "is required: say why the department is not competent"}
	}
	if t.State == AtOffice {
		s, err := t.officeReturn(c, reason, cal, now)
		return s, false, err
	}
	act := ActReturn
	if t.ReturnCount+1 >= MaxReturns {
		act = ActReturnToOffice
	}
	to, s, err := t.checkReceiver(c, act)
	if err != nil {
		return nil, false, err
	}
	if k := t.runningClock(); k != nil && k.Stage == StageTransferReceipt && !k.Paused() && now.After(k.Due) {
		return nil, false, refuse("RETURN_WINDOW_CLOSED", "the return window closed on %s; receive the dispute or ask the office", date(k.Due))
	}
	if act == ActReturnToOffice && officeHost == "" {
		return nil, false, ErrNoOffice
	}
	s.ReturnReason = reason
	t.ReturnCount++
	t.stopClocks(now)
	// A department that returns a transfer never held the dispute: it does
	// not become a past holder, so it reads the dispute and its personal
	// numbers no more (docs/SECURITY.md, "Who may read a dispute").
	t.Holder = ""
	if act == ActReturnToOffice {
		// The returned slip is the last but one once the office's is made.
		if _, err := t.toOffice(c.Actor, reason, officeHost, nextSlip, cal, now); err != nil {
			return nil, false, err
		}
		s = &t.Slips[len(t.Slips)-2]
	} else {
		t.setHolder(t.RegisteringDepartment)
		t.startClock(StageRouting, now, cal)
	}
	t.move(to, c.Actor, now, reason, "")
	return s, act == ActReturnToOffice, nil
}
