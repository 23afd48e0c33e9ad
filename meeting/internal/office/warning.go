package office

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// MassWarning is a mass-dispute warning (群体性争议预警) intake raised, kept
// for the units it is addressed to so that the petition bureau (信访局) can
// step in early (集中上访案件提前介入). A same-employer warning is one per
// employer episode: intake's events of one warning id each add disputes to
// it (docs/ARCHITECTURE.md, "Meeting").
type MassWarning struct {
	// ID is the warning's id: the id of intake's event that raised it.
	ID string `json:"id"`
	// Dispute is the registration that raised it.
	Dispute string `json:"dispute"`
	// Disputes are every dispute of the warning, by year and number.
	Disputes      []string `json:"disputes,omitempty"`
	Trigger       string   `json:"trigger"`
	People        int32    `json:"people,omitempty"`
	EmployerCount int32    `json:"employer_count,omitempty"`
	// EmployerName and EmployerCreditCode are as the raising registration
	// gives them.
	EmployerName       string    `json:"employer_name,omitempty"`
	EmployerCreditCode string    `json:"employer_credit_code,omitempty"`
	AddressedTo        []string  `json:"addressed_to"`
	RaisedAt           time.Time `json:"raised_at"`
	// LastRaisedAt is when intake last added a dispute (RaisedAt at first),
	// LastEvent the id of that event.
	LastRaisedAt time.Time `json:"last_raised_at,omitzero"`
	LastEvent    string    `json:"last_event,omitempty"`
	// Ack is the latest acknowledgement, once made; Earlier the ones
	// before it, oldest first.
	Ack     *Acknowledgement  `json:"ack,omitempty"`
	Earlier []Acknowledgement `json:"earlier_acks,omitempty"`
}

// Acknowledgement records who stepped in on a warning, when and why, and
// the disputes the warning named then; the request id makes a retried
// acknowledgement answer as the first did.
type Acknowledgement struct {
	Unit      string    `json:"unit"`
	Staff     string    `json:"staff"`
	Time      time.Time `json:"time"`
	Note      string    `json:"note,omitempty"`
	RequestID string    `json:"request_id"`
	Disputes  []string  `json:"disputes,omitempty"`
}

// UnmarshalJSON reads a warning record, including those kept before
// warnings named their disputes (one dispute each, acknowledged whole).
func (w *MassWarning) UnmarshalJSON(b []byte) error {
	type plain MassWarning
	if err := json.Unmarshal(b, (*plain)(w)); err != nil {
		return err
	}
	if len(w.Disputes) == 0 && w.Dispute != "" {
		w.Disputes = []string{w.Dispute}
	}
	if w.LastRaisedAt.IsZero() {
		w.LastRaisedAt = w.RaisedAt
	}
	if w.Ack != nil && len(w.Ack.Disputes) == 0 {
		w.Ack.Disputes = slices.Clone(w.Disputes)
	}
	return nil
}

// Raise is what one of intake's MassDisputeWarning events says of its
// warning.
type Raise struct {
	// Event is the event's id, Warning the warning's (the event's own
	// for an event that names none).
	Event, Warning string
	// Dispute is the registration that published it; Disputes are those
	// it adds.
	Dispute       string
	Disputes      []string
	Trigger       string
	People        int32
	EmployerCount int32
	EmployerName  string
	CreditCode    string
	AddressedTo   []string
	Time          time.Time
}

// RaiseWarning applies r to warning w (nil when none is kept yet) and
// returns it. The outcome does not depend on the order events arrive in
// (replicas and lanes apply them in any order): disputes and units are
// united, the raising registration, trigger and employer are the earliest
// event's, the open count the latest's. An event applied again changes
// nothing.
func RaiseWarning(w *MassWarning, r Raise) *MassWarning {
	if w == nil {
		w = &MassWarning{ID: r.Warning}
	}
	if len(w.Disputes) == 0 || r.Time.Before(w.RaisedAt) {
		w.Dispute, w.RaisedAt, w.Trigger, w.People = r.Dispute, r.Time, r.Trigger, r.People
		w.EmployerName, w.EmployerCreditCode = r.EmployerName, r.CreditCode
	}
	if w.LastEvent == "" || later(r.Time, r.Event, w.LastRaisedAt, w.LastEvent) {
		w.LastRaisedAt, w.LastEvent, w.EmployerCount = r.Time, r.Event, r.EmployerCount
	}
	w.Disputes = unite(w.Disputes, append(slices.Clone(r.Disputes), r.Dispute))
	for _, u := range r.AddressedTo {
		if !slices.Contains(w.AddressedTo, u) {
			w.AddressedTo = append(w.AddressedTo, u)
		}
	}
	return w
}

func later(t time.Time, id string, than time.Time, thanID string) bool {
	if !t.Equal(than) {
		return t.After(than)
	}
	return id > thanID
}

// unite returns the disputes of a and b, each once, by year and number.
func unite(a, b []string) []string {
	out := slices.Clone(a)
	for _, d := range b {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, compareDisputes)
	return out
}

// compareDisputes orders dispute names by region, year and number; a name
// that does not parse sorts after those that do, by text.
func compareDisputes(a, b string) int {
	ra, ya, na, ea := names.ParseDispute(a)
	rb, yb, nb, eb := names.ParseDispute(b)
	switch {
	case ea != nil || eb != nil:
		if (ea == nil) != (eb == nil) {
			if ea == nil {
				return -1
			}
			return 1
		}
		return cmp.Compare(a, b)
	case ra != rb:
		return cmp.Compare(ra, rb)
	case ya != yb:
		return cmp.Compare(ya, yb)
	}
	return cmp.Compare(na, nb)
}

// SinceAcknowledged returns the disputes added after the latest
// acknowledgement (all of them when none was made).
func (w *MassWarning) SinceAcknowledged() []string {
	if w.Ack == nil {
		return slices.Clone(w.Disputes)
	}
	var out []string
	for _, d := range w.Disputes {
		if !slices.Contains(w.Ack.Disputes, d) {
			out = append(out, d)
		}
	}
	return out
}

// Pending reports whether the warning awaits an acknowledgement: it never
// had one, or disputes were added since the latest.
func (w *MassWarning) Pending() bool { return w.Ack == nil || len(w.SinceAcknowledged()) > 0 }

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

// Acknowledge records unit's acknowledgement of the warning as it stands:
// every dispute it names. A retry of an acknowledgement already made (same
// unit and request id) changes nothing and reports false; acknowledging a
// warning with nothing added since the latest acknowledgement is refused,
// naming who acknowledged. Disputes added later put the warning back on the
// pending list, to be acknowledged again.
func Acknowledge(w *MassWarning, officeHost string, ack Acknowledgement) (bool, error) {
	for _, a := range append(slices.Clone(w.Earlier), derefAck(w.Ack)...) {
		if a.RequestID == ack.RequestID && a.Unit == ack.Unit {
			return false, nil
		}
	}
	if !w.Pending() {
		return false, &PreconditionError{Reason: ReasonAcknowledged, Msg: fmt.Sprintf(
			"mass-dispute warning %s was already acknowledged by %s (%s) at %s, and no dispute was added since",
			w.ID, w.Ack.Unit, w.Ack.Staff, w.Ack.Time.Format(time.RFC3339))}
	}
	if !slices.Contains(w.Acknowledgers(officeHost), ack.Unit) {
		return false, &DeniedError{Msg: fmt.Sprintf(
			"unit %s may read mass-dispute warning %s but not acknowledge it: it is for %v",
			ack.Unit, w.ID, w.Acknowledgers(officeHost))}
	}
	if w.Ack != nil {
		w.Earlier = append(w.Earlier, *w.Ack)
	}
	ack.Disputes = slices.Clone(w.Disputes)
	w.Ack = &ack
	return true, nil
}

func derefAck(a *Acknowledgement) []Acknowledgement {
	if a == nil {
		return nil
	}
	return []Acknowledgement{*a}
}
