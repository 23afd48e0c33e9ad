package office

import (
	"fmt"
	"slices"
	"time"
)

// MassWarning is a mass-dispute warning (群体性争议预警) intake raised on a
// registration, kept for the units it is addressed to so that the petition
// bureau (信访局) can step in early (集中上访案件提前介入).
type MassWarning struct {
	// ID is the id of intake's MassDisputeWarning event.
	ID            string    `json:"id"`
	Dispute       string    `json:"dispute"`
	Trigger       string    `json:"trigger"`
	People        int32     `json:"people,omitempty"`
	EmployerCount int32     `json:"employer_count,omitempty"`
	AddressedTo   []string  `json:"addressed_to"`
	RaisedAt      time.Time `json:"raised_at"`
	// Acknowledgement, once made.
	Ack *Acknowledgement `json:"ack,omitempty"`
}

// Acknowledgement records who stepped in on a warning, when and why; the
// request id makes a retried acknowledgement answer as the first did.
type Acknowledgement struct {
	Unit      string    `json:"unit"`
	Staff     string    `json:"staff"`
	Time      time.Time `json:"time"`
	Note      string    `json:"note,omitempty"`
	RequestID string    `json:"request_id"`
}

// Acknowledgers are the units expected to acknowledge the warning: those it
// is addressed to other than the office's host unit (intake addresses every
// warning to the host unit besides the region's warning departments, the
// petition bureau by default). A warning addressed to the host alone is
// acknowledged by it.
func (w *MassWarning) Acknowledgers(officeHost string) []string {
	out := slices.DeleteFunc(slices.Clone(w.AddressedTo), func(u string) bool { return u == officeHost })
	if len(out) == 0 {
		return slices.Clone(w.AddressedTo)
	}
	return out
}

// CanReadWarning reports whether r may read the warning: the region-wide roles and
// the units it is addressed to.
func (r Reader) CanReadWarning(w *MassWarning) bool {
	return r.RegionWide || slices.Contains(w.AddressedTo, r.Unit)
}

// Acknowledge records unit's acknowledgement. A retry of the same request
// changes nothing and reports false; an acknowledgement after another one
// is refused, naming who acknowledged.
func Acknowledge(w *MassWarning, officeHost string, ack Acknowledgement) (bool, error) {
	if w.Ack != nil {
		if w.Ack.RequestID == ack.RequestID && w.Ack.Unit == ack.Unit {
			return false, nil
		}
		return false, &PreconditionError{Reason: ReasonAcknowledged, Msg: fmt.Sprintf(
			"mass-dispute warning %s was already acknowledged by %s (%s) at %s",
			w.ID, w.Ack.Unit, w.Ack.Staff, w.Ack.Time.Format(time.RFC3339))}
	}
	if !slices.Contains(w.Acknowledgers(officeHost), ack.Unit) {
		return false, &DeniedError{Msg: fmt.Sprintf(
			"unit %s may read mass-dispute warning %s but not acknowledge it: it is for %v",
			ack.Unit, w.ID, w.Acknowledgers(officeHost))}
	}
	w.Ack = &ack
	return true, nil
}
