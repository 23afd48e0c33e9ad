package tracker

import (
	"time"

	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
)

// Stage names a time-limit clock; values match routing.v1.Stage.
type Stage int32

// Stages with a time limit.
const (
	StageRouting         Stage = 1
	StageTransferReceipt Stage = 2
	StageHandling        Stage = 3
	StageOpinion         Stage = 4
	StageApproval        Stage = 5
	StageTriage          Stage = 6
	StagePlatform        Stage = 7
	StageReply           Stage = 8
)

// partyClock reports whether stage s's clocks run beside the holder's one
// clock: an invited unit's opinion and the whole matter's reply limit. Every
// other stage is the holder's, one at a time.
func partyClock(s Stage) bool { return s == StageOpinion || s == StageReply }

// Limit is one stage's time limit: Days long, counted in working days when
// Working is set (DESIGN section 3), else in calendar days.
type Limit = clock.Limit

// DefaultLimits are the legal defaults of DESIGN section 3.
var DefaultLimits = map[Stage]Limit{
	StageRouting:         {Days: 15},
	StageTransferReceipt: {Days: 5, Working: true},
	StageHandling:        {Days: 60},
	StageOpinion:         {Days: 5, Working: true},
	StageApproval:        {Days: 3, Working: true},
	StageTriage:          {Days: 5, Working: true},
	StagePlatform:        {Days: 30},
	StageReply:           {Days: 60},
}

// Rules are the time rules in force in one region: its business calendar,
// stage limits and the numbers around them.
type Rules struct {
	// Calendar counts working days and rolls deadlines forward.
	Calendar *clock.Calendar
	// Limits per stage; a stage missing here takes DefaultLimits.
	Limits map[Stage]Limit
	// MaxExtensionDays bounds the one extension of the handling stage.
	MaxExtensionDays int
	// ObjectionWindowDays is how long after the written reply the claimant
	// may object (calendar days, rolled forward).
	ObjectionWindowDays int
	// WarningWorkingDays is how many working days before a due time a
	// DeadlineWarning is raised.
	WarningWorkingDays int
	// PlatformUnit is the member unit running the mediation platform
	// (default DefaultPlatformUnit).
	PlatformUnit string
}

// DefaultPlatformUnit is the platform unit of a region whose time limits
// name none: the seed roster's political-legal committee.
const DefaultPlatformUnit = "plc"

// Platform is the region's platform unit.
func (r *Rules) Platform() string {
	if r.PlatformUnit != "" {
		return r.PlatformUnit
	}
	return DefaultPlatformUnit
}

// DefaultRules are the defaults of DESIGN section 3 on calendar cal.
func DefaultRules(cal *clock.Calendar) *Rules {
	return &Rules{Calendar: cal, Limits: DefaultLimits, MaxExtensionDays: 30, ObjectionWindowDays: 30, WarningWorkingDays: 1}
}

// Limit is the region's limit of stage s.
func (r *Rules) Limit(s Stage) Limit {
	if l, ok := r.Limits[s]; ok && l.Days > 0 {
		return l
	}
	return DefaultLimits[s]
}

// Calendar gives the time rules in force in each region. Routing reads them
// from etcd at the moment of each computation, so a changed calendar or
// limit applies to the next clock started or moved.
type Calendar interface {
	// Rules returns region's rules; never nil.
	Rules(region string) *Rules
}

type everywhere struct{ r *Rules }

func (e everywhere) Rules(string) *Rules { return e.r }

// Everywhere is a Calendar with the same rules in every region.
func Everywhere(r *Rules) Calendar { return everywhere{r} }

// Pause is a stretch during which a clock stood still.
type Pause struct {
	Start time.Time `json:"start"`
	// End is zero while the clock is paused.
	End    time.Time `json:"end,omitzero"`
	Reason string    `json:"reason"`
	Actor  Actor     `json:"actor"`
}

// Clock is one stage's running or stopped time limit. Due and WarnAt are
// kept up to date with the pauses and extension, so the deadline scanner
// needs no calendar to know when to look at it again.
type Clock struct {
	Stage Stage `json:"stage"`
	// Department must act on it; empty for the holder's clocks stored
	// before clocks named their department.
	Department string `json:"department,omitempty"`
	// Meeting is the meeting an opinion clock times the unit's opinion on;
	// empty for every other clock and for opinion clocks stored before
	// clocks named their meeting.
	Meeting string    `json:"meeting,omitempty"`
	Start   time.Time `json:"start"`
	// Limit is the stage's limit when the clock started.
	Limit Limit     `json:"limit,omitzero"`
	Due   time.Time `json:"due"`
	// WarnAt is when a DeadlineWarning is due.
	WarnAt time.Time `json:"warn_at,omitzero"`
	// Stop is zero while the clock runs.
	Stop              time.Time `json:"stop,omitzero"`
	Pauses            []Pause   `json:"pauses,omitempty"`
	ExtensionDays     int       `json:"extension_days,omitempty"`
	ExtensionApprover *Actor    `json:"extension_approver,omitempty"`
	// Warned and Overdue record that the DeadlineWarning and Overdue events
	// of the current due time were raised.
	Warned  bool `json:"warned,omitempty"`
	Overdue bool `json:"overdue,omitempty"`
}

// Running reports whether the clock has not been stopped.
func (c Clock) Running() bool { return c.Stop.IsZero() }

// Paused reports whether the clock stands still in an open pause.
func (c Clock) Paused() bool { return len(c.Pauses) > 0 && c.Pauses[len(c.Pauses)-1].End.IsZero() }

// limit is the clock's limit, for clocks stored before limits were kept.
func (c Clock) limit() Limit {
	if c.Limit.Days > 0 {
		return c.Limit
	}
	return DefaultLimits[c.Stage]
}

// frozenAt is the moment the clock's days left are counted at: now, or
// when it stopped, or when its open pause began.
func (c Clock) frozenAt(now time.Time) time.Time {
	switch {
	case !c.Running():
		return c.Stop
	case c.Paused():
		return c.Pauses[len(c.Pauses)-1].Start
	}
	return now
}

// RemainingDays is the working days left on c at now (negative once
// overdue); a stopped clock counts to its stop, a paused one to its pause.
func (c Clock) RemainingDays(r *Rules, now time.Time) int32 {
	return r.Calendar.Remaining(c.frozenAt(now), c.Due)
}

// reschedule recomputes Due and WarnAt from the start, limit, extension and
// closed pauses (an open pause gives back nothing until it ends). A warning
// or overdue flag whose moment moved past now is cleared, so the new due
// time is warned about and reported in its turn.
func (c *Clock) reschedule(r *Rules, now time.Time) {
	var spans []clock.Span
	for _, p := range c.Pauses {
		end := p.End
		if end.IsZero() {
			end = p.Start
		}
		spans = append(spans, clock.Span{From: p.Start, To: end})
	}
	c.Due = r.Calendar.Due(c.Start, c.limit(), c.ExtensionDays, spans, now)
	c.WarnAt = r.Calendar.WarnAt(c.Due, r.WarningWorkingDays)
	if c.Due.After(now) {
		c.Overdue = false
	}
	if c.WarnAt.After(now) {
		c.Warned = false
	}
}
