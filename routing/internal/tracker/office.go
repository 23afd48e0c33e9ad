package tracker

import (
	"fmt"
	"slices"
	"time"
)

// Office is the office path's record on a tracker (DESIGN section 3, the
// AT_OFFICE branch; docs/ARCHITECTURE.md, "The office path").
type Office struct {
	// OfficeReceiptPending is set while the dispute is AT_OFFICE and the
	// office has not signed its transfer slip: the sub-stage "awaiting
	// receipt" (待签收) of AT_OFFICE. Triage waits for the receipt.
	OfficeReceiptPending bool `json:"office_receipt_pending,omitempty"`
	// OfficeFrom is the state the dispute came to the office from
	// (REGISTERED, HANDLING or TRANSFERRED), which decides where the office
	// may return it.
	OfficeFrom State `json:"office_from,omitempty"`
	// Invitations are the units invited to give a written opinion.
	Invitations []Invitation `json:"invitations,omitempty"`
	// Approval is the pending request to the convenor, while one is.
	Approval string `json:"approval,omitempty"`
	// PlatformUnit is the unit of the mediation platform once approved.
	PlatformUnit string `json:"platform_unit,omitempty"`
	// WarningReaders are the departments a mass-dispute warning addressed
	// (the petition bureau): they read the dispute while it is open.
	WarningReaders []string `json:"warning_readers,omitempty"`
}

// Invitation is a unit invited by a meeting to give its written opinion.
type Invitation struct {
	Unit    string `json:"unit"`
	Meeting string `json:"meeting"`
	// Submitted is when its opinion arrived; zero while owed.
	Submitted time.Time `json:"submitted,omitzero"`
	// Late is set when it arrived after its due time.
	Late bool `json:"late,omitempty"`
}

// Owed reports whether the unit's opinion is still owed.
func (i Invitation) Owed() bool { return i.Submitted.IsZero() }

// GuestReaders are the departments that read the dispute for one stage,
// without registering or holding it: the invited units while it is in
// joint handling, the platform unit while it is at the platform, and the
// departments a mass-dispute warning addressed while it is open. Their part
// ends with the stage, so they drop out; the archive keeps its record.
func (t *Tracker) GuestReaders() []string {
	parties := t.parties()
	var out []string
	add := func(d string) {
		if d != "" && !slices.Contains(parties, d) && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if t.State == JointHandling {
		for _, i := range t.Invitations {
			add(i.Unit)
		}
	}
	if t.State == AtPlatform {
		add(t.PlatformUnit)
	}
	if IsOpen(t.State) {
		for _, d := range t.WarningReaders {
			add(d)
		}
	}
	return out
}

// IsGuest reports whether dept reads the dispute as a guest only.
func (t *Tracker) IsGuest(dept string) bool { return slices.Contains(t.GuestReaders(), dept) }

// toOffice sends the dispute to the office with a transfer slip (流转单, the
// same series and form as a transfer): the office holds it awaiting
// receipt, on the receive limit of a transfer.
func (t *Tracker) toOffice(a Actor, opinion, officeHost string, nextSlip func() (string, string, error), cal Calendar, now time.Time) (*Slip, error) {
	if officeHost == "" {
		return nil, ErrNoOffice
	}
	if nextSlip == nil {
		return nil, fmt.Errorf("no transfer slip numbering for the office's slip of %s", t.Name)
	}
	name, number, err := nextSlip()
	if err != nil {
		return nil, fmt.Errorf("allocate transfer slip: %w", err)
	}
	t.Slips = append(t.Slips, Slip{
		Name: name, Number: number, Dispute: t.Name,
		RegisteringDepartment: a.Department, RegisteringStaff: a.Staff,
		Opinion: opinion, ReceivingDepartment: officeHost, CreateTime: now,
	})
	t.OfficeFrom = t.State
	t.OfficeReceiptPending = true
	t.stopClocks(now)
	t.setHolder(officeHost)
	t.startClock(StageTransferReceipt, now, cal)
	return &t.Slips[len(t.Slips)-1], nil
}

// officeSlip checks that c is the office named on the slip awaiting its
// receipt and returns the slip.
func (t *Tracker) officeSlip(c Caller, act Action) (State, *Slip, error) {
	to, err := Next(t.State, act)
	if err != nil {
		return Unspecified, nil, err
	}
	s := t.currentSlip()
	if !t.OfficeReceiptPending || s == nil || s.ReceivingDepartment != t.Holder {
		return Unspecified, nil, refuse("OFFICE_RECEIPT_DONE", "the office signed the transfer slip of %s already", t.Number)
	}
	if c.Department != s.ReceivingDepartment || !c.Office {
		return Unspecified, nil, deny("only the office (%s, office role) may act on transfer slip %s", s.ReceivingDepartment, s.Number)
	}
	return to, s, nil
}

// officeReceive is the office signing its slip (签收): the triage clock
// starts, and with it the whole matter's reply clock.
func (t *Tracker) officeReceive(c Caller, cal Calendar, now time.Time) (*Slip, error) {
	to, s, err := t.officeSlip(c, ActOfficeReceive)
	if err != nil {
		return nil, err
	}
	s.Receiver = c.Staff
	s.ReceiveTime = now
	t.OfficeReceiptPending = false
	t.stopHolderClock(now)
	t.startClock(StageTriage, now, cal)
	if !t.replyClockRunning() {
		t.startClock(StageReply, now, cal)
	}
	t.move(to, c.Actor, now, "transfer slip received by the office", "")
	return s, nil
}

func (t *Tracker) replyClockRunning() bool {
	for _, k := range t.Clocks {
		if k.Stage == StageReply && k.Running() {
			return true
		}
	}
	return false
}

// officeReturn is the office returning a dispute it has not signed for, with
// its reasons, within the receive limit: to the registering department for
// re-routing, or to the holder that escalated it, whose handling clock runs
// on from where it started. A dispute returned twice by units the office
// must take.
func (t *Tracker) officeReturn(c Caller, reason string, cal Calendar, now time.Time) (*Slip, error) {
	act := ActOfficeReturn
	if t.OfficeFrom == Handling {
		act = ActOfficeReturnToHolder
	}
	if t.OfficeFrom == Transferred {
		return nil, refuse("OFFICE_MUST_TAKE", "%s came to the office after %d returns; the office takes it", t.Number, t.ReturnCount)
	}
	to, s, err := t.officeSlip(c, act)
	if err != nil {
		return nil, err
	}
	if k := t.runningClock(); k != nil && k.Stage == StageTransferReceipt && !k.Paused() && now.After(k.Due) {
		return nil, refuse("RETURN_WINDOW_CLOSED", "the return window closed on %s; the office must receive the dispute", date(k.Due))
	}
	s.ReturnReason = reason
	t.OfficeReceiptPending = false
	t.stopClocks(now)
	if act == ActOfficeReturnToHolder {
		start, ext := now, 0
		for _, k := range t.Clocks {
			if k.Stage == StageHandling {
				start, ext = k.Start, k.ExtensionDays
			}
		}
		t.setHolder(s.RegisteringDepartment)
		k := t.startClock(StageHandling, start, cal)
		k.ExtensionDays = ext
		k.reschedule(cal.Rules(t.Region), now)
	} else {
		t.setHolder(t.RegisteringDepartment)
		t.startClock(StageRouting, now, cal)
	}
	t.move(to, c.Actor, now, reason, "")
	return s, nil
}

// Convene applies a convened meeting to a dispute in joint handling: each
// invited unit owes its written opinion, on a clock of its own from the
// convening, and reads the dispute. It reports false when the meeting was
// applied already (nothing changes).
func (t *Tracker) Convene(meeting string, units []string, cal Calendar, at time.Time) (bool, error) {
	if t.State != JointHandling {
		return false, &TransitionError{From: t.State, Action: "convene"}
	}
	changed := false
	for _, u := range units {
		if u == "" || slices.ContainsFunc(t.Invitations, func(i Invitation) bool { return i.Unit == u && i.Meeting == meeting }) {
			continue
		}
		if err := limitReached("invitations", len(t.Invitations), MaxInvitations); err != nil {
			return false, err
		}
		t.Invitations = append(t.Invitations, Invitation{Unit: u, Meeting: meeting})
		t.startClockFor(StageOpinion, u, at, cal).Meeting = meeting
		changed = true
	}
	if changed {
		t.Version++
	}
	return changed, nil
}

// OpinionDue is the due time of unit's running opinion clock on meeting.
func (t *Tracker) OpinionDue(unit, meeting string) time.Time {
	if k := t.opinionClock(unit, meeting); k != nil {
		return k.Due
	}
	return time.Time{}
}

// opinionClock is unit's running opinion clock on meeting: a unit invited
// to several meetings on the dispute owes each its opinion on a clock of
// its own. A clock stored before clocks named their meeting times any.
func (t *Tracker) opinionClock(unit, meeting string) *Clock {
	for i := range t.Clocks {
		if k := &t.Clocks[i]; k.Stage == StageOpinion && k.Department == unit && k.Running() &&
			(k.Meeting == meeting || k.Meeting == "") {
			return k
		}
	}
	return nil
}

// ReceiveOpinion applies a unit's written opinion: its clock stops, and
// the opinion is marked late when it came after the due time. It reports
// false when the unit owes no opinion of that meeting (nothing changes).
func (t *Tracker) ReceiveOpinion(unit, meeting string, at time.Time) (inv Invitation, ok bool) {
	i := slices.IndexFunc(t.Invitations, func(i Invitation) bool {
		return i.Unit == unit && (meeting == "" || i.Meeting == meeting) && i.Owed()
	})
	if i < 0 {
		return Invitation{}, false
	}
	if k := t.opinionClock(unit, t.Invitations[i].Meeting); k != nil {
		t.Invitations[i].Late = at.After(k.Due)
		k.Stop = at
	}
	t.Invitations[i].Submitted = at
	t.Version++
	return t.Invitations[i], true
}

// OpinionsOwed reports whether any invited unit still owes its opinion.
func (t *Tracker) OpinionsOwed() bool {
	return slices.ContainsFunc(t.Invitations, Invitation.Owed)
}

// RequestApproval applies the office's request to the convenor: the
// approval clock starts from the request (DESIGN section 3: 3 working days).
// It reports false when this request was applied already.
func (t *Tracker) RequestApproval(approval string, cal Calendar, at time.Time) (bool, error) {
	if t.State != AwaitingApproval {
		return false, &TransitionError{From: t.State, Action: "request_approval"}
	}
	if approval != "" && approval == t.Approval {
		return false, nil
	}
	t.stopHolderClock(at)
	t.Approval = approval
	t.startClock(StageApproval, at, cal)
	t.Version++
	return true, nil
}

// EndWarningReaders applies the acknowledgement of a mass-dispute warning:
// the warning is handled, so the departments it addressed read the dispute
// for it no more (they may still read it as another party, e.g. invited to
// the meeting on it). It returns those removed.
func (t *Tracker) EndWarningReaders(depts []string) []string {
	var removed []string
	t.WarningReaders = slices.DeleteFunc(t.WarningReaders, func(d string) bool {
		if slices.Contains(depts, d) {
			removed = append(removed, d)
			return true
		}
		return false
	})
	if len(removed) > 0 {
		t.Version++
	}
	if len(t.WarningReaders) == 0 {
		t.WarningReaders = nil
	}
	return removed
}

// AddWarningReaders applies a mass-dispute warning: the departments it
// addresses read the dispute while it is open (信访局提前介入). It returns
// those added; none when all read it already.
func (t *Tracker) AddWarningReaders(depts []string) []string {
	var added []string
	for _, d := range depts {
		if d != "" && !slices.Contains(t.WarningReaders, d) && len(t.WarningReaders) < MaxInvitations {
			t.WarningReaders = append(t.WarningReaders, d)
			added = append(added, d)
		}
	}
	if len(added) > 0 {
		t.Version++
	}
	return added
}
