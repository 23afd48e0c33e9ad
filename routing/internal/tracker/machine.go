// Package tracker is the routing domain: the dispute lifecycle of DESIGN
// section 3 as a transition table, the tracker of one dispute (state, holder,
// clocks, history, transfer slips) and the rules for who may act on it. It is
// pure: no gRPC, no Redis; time and the business calendar are passed in.
package tracker

import (
	"errors"
	"fmt"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// State is the lifecycle state every service agrees on.
type State = typesv1.DisputeState

// States, named for readability in tables.
const (
	Unspecified      = typesv1.DisputeState_DISPUTE_STATE_UNSPECIFIED
	Registered       = typesv1.DisputeState_DISPUTE_STATE_REGISTERED
	Transferred      = typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED
	Handling         = typesv1.DisputeState_DISPUTE_STATE_HANDLING
	AtOffice         = typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE
	JointHandling    = typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING
	AwaitingApproval = typesv1.DisputeState_DISPUTE_STATE_AWAITING_APPROVAL
	AtPlatform       = typesv1.DisputeState_DISPUTE_STATE_AT_PLATFORM
	Replied          = typesv1.DisputeState_DISPUTE_STATE_REPLIED
	Closed           = typesv1.DisputeState_DISPUTE_STATE_CLOSED
	Archived         = typesv1.DisputeState_DISPUTE_STATE_ARCHIVED
)

// Action is something that moves a dispute from one state to another.
type Action string

// Actions of the lifecycle.
const (
	ActRegister        Action = "register"
	ActRouteSelf       Action = "route_self"
	ActRouteTransfer   Action = "route_transfer"
	ActRouteOffice     Action = "route_office"
	ActReceive         Action = "receive"
	ActReturn          Action = "return"
	ActReturnToOffice  Action = "return_to_office"
	ActEscalate        Action = "escalate"
	ActReply           Action = "reply"
	ActTriageGeneral   Action = "triage_general"
	ActTriageMajor     Action = "triage_major"
	ActDecide          Action = "decide"
	ActApprove         Action = "approve"
	ActDecline         Action = "decline"
	ActPlatformOutcome Action = "platform_outcome"
	ActObjectionEnds   Action = "objection_window_ends"
	ActObject          Action = "object"
	ActRedo            Action = "redo"
	ActClose           Action = "close"
	ActWithdraw        Action = "withdraw"
	ActArchive         Action = "archive"
	// The office signs its transfer slip: AT_OFFICE stays AT_OFFICE, its
	// sub-stage moves from awaiting receipt to awaiting triage.
	ActOfficeReceive Action = "office_receive"
	// The office returns a dispute with reasons to the department that
	// sent it: the registering department (REGISTERED) or the holder that
	// escalated it (HANDLING).
	ActOfficeReturn         Action = "office_return"
	ActOfficeReturnToHolder Action = "office_return_to_holder"
)

type edge struct {
	from   State
	action Action
}

// transitions is the lifecycle of DESIGN section 3. Withdrawal, allowed from
// every open state, is added by init so the table cannot miss a state.
var transitions = map[edge]State{
	{Unspecified, ActRegister}:          Registered,
	{Registered, ActRouteSelf}:          Handling,
	{Registered, ActRouteTransfer}:      Transferred,
	{Registered, ActRouteOffice}:        AtOffice,
	{Transferred, ActReceive}:           Handling,
	{Transferred, ActReturn}:            Registered,
	{Transferred, ActReturnToOffice}:    AtOffice,
	{Handling, ActEscalate}:             AtOffice,
	{Handling, ActReply}:                Replied,
	{AtOffice, ActOfficeReceive}:        AtOffice,
	{AtOffice, ActOfficeReturn}:         Registered,
	{AtOffice, ActOfficeReturnToHolder}: Handling,
	{AtOffice, ActTriageGeneral}:        JointHandling,
	{AtOffice, ActTriageMajor}:          AwaitingApproval,
	{JointHandling, ActDecide}:          Replied,
	{AwaitingApproval, ActApprove}:      AtPlatform,
	{AwaitingApproval, ActDecline}:      AtOffice,
	{AtPlatform, ActPlatformOutcome}:    Replied,
	{Replied, ActObjectionEnds}:         Closed,
	{Replied, ActObject}:                Closed,
	{Replied, ActRedo}:                  Handling,
	{Replied, ActClose}:                 Closed,
	{Closed, ActArchive}:                Archived,
}

// OpenStates are the states a claimant may still withdraw from.
var OpenStates = []State{Registered, Transferred, Handling, AtOffice, JointHandling, AwaitingApproval, AtPlatform, Replied}

func init() {
	for _, s := range OpenStates {
		transitions[edge{s, ActWithdraw}] = Closed
	}
}

// ErrIllegalTransition is matched by every *TransitionError.
var ErrIllegalTransition = errors.New("illegal transition")

// TransitionError is an action the current state does not allow. Its
// message names the current state, so callers get FAILED_PRECONDITION with
// enough to understand why.
type TransitionError struct {
	From   State
	Action Action
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("dispute is in state %s: %s is not allowed", e.From, e.Action)
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// Next returns the state action leads to from state from, or a
// *TransitionError naming from when the lifecycle does not allow it.
func Next(from State, action Action) (State, error) {
	to, ok := transitions[edge{from, action}]
	if !ok {
		return from, &TransitionError{From: from, Action: action}
	}
	return to, nil
}

// IsOpen reports whether s is a state in which the dispute is still being handled.
func IsOpen(s State) bool {
	for _, o := range OpenStates {
		if o == s {
			return true
		}
	}
	return false
}
