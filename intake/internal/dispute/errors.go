package dispute

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound means the named dispute does not exist, or exists but the
// caller may not read it: both get the same answer, so a refusal never
// tells a caller that a dispute exists.
var ErrNotFound = errors.New("dispute not found")

// NotFound returns ErrNotFound naming the requested dispute and nothing else.
// It is the one answer for a dispute that does not exist and for one the
// caller may not read.
func NotFound(name string) error { return fmt.Errorf("%w: %s", ErrNotFound, name) }

// ErrRequestIDReused means the caller's department already used the request
// id for a different form. It names nothing of that registration: the
// request id is all the caller sent.
var ErrRequestIDReused = errors.New("request_id was already used by this department for a different form; send a new request_id for a new registration")

// ErrNoRoster means no valid roster has been loaded for the region, so a
// registration cannot be checked against its member units.
var ErrNoRoster = errors.New("no roster for region")

// Violation is one bad field of a request: its dotted path
// ("dispute.claimant.phone") and why it is bad.
type Violation struct {
	Field, Reason string
}

// ValidationError lists every bad field of a request at once.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Reason
	}
	return "invalid argument: " + strings.Join(parts, "; ")
}

// Reasons of DeniedError, stable for clients to branch on.
const (
	ReasonRegionMismatch     = "REGION_MISMATCH"
	ReasonDepartmentMismatch = "DEPARTMENT_MISMATCH"
	ReasonDisputeNotVisible  = "DISPUTE_NOT_VISIBLE"
)

// DeniedError means the caller may not do what it asked.
type DeniedError struct {
	Reason, Msg string
}

func (e *DeniedError) Error() string { return e.Msg }

func denied(reason, format string, args ...any) error {
	return &DeniedError{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// DuplicateRefError means another dispute was already registered with the
// same external reference on the same channel (one 12345 work order, one
// dispute).
type DuplicateRefError struct {
	Channel, Ref string
	// Existing is the resource name of the dispute that holds the reference,
	// or "" when the caller may not read that dispute.
	Existing string
}

func (e *DuplicateRefError) Error() string {
	if e.Existing == "" {
		return fmt.Sprintf("external_ref %q on channel %s is already registered", e.Ref, e.Channel)
	}
	return fmt.Sprintf("external_ref %q on channel %s is already registered as %s", e.Ref, e.Channel, e.Existing)
}

// StateError is an illegal transition; Current names the dispute's state.
type StateError struct {
	Current, Msg string
}

func (e *StateError) Error() string { return e.Msg }
