package tracker

import (
	"math"
	"time"
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
)

// Limit is one stage's time limit: Days long, counted in working days when
// Working is set (DESIGN section 3), else in calendar days.
type Limit struct {
	Days    int
	Working bool
}

// DefaultLimits are the legal defaults of DESIGN section 3.
var DefaultLimits = map[Stage]Limit{
	StageRouting:         {Days: 15},
	StageTransferReceipt: {Days: 5, Working: true},
	StageHandling:        {Days: 60},
	StageOpinion:         {Days: 5, Working: true},
	StageApproval:        {Days: 3, Working: true},
}

// Calendar computes due times and days left. A business calendar with
// holidays and make-up working days replaces CalendarDays without touching
// the tracker.
type Calendar interface {
	// Due returns when a clock started at start with limit l falls due.
	Due(start time.Time, l Limit) time.Time
	// Remaining returns the days left from now until due, negative when overdue.
	Remaining(now, due time.Time) int32
}

// CalendarDays counts every day, working or not: the interim calendar until
// the business calendar is kept in etcd.
type CalendarDays struct{}

// Due adds l.Days calendar days to start.
func (CalendarDays) Due(start time.Time, l Limit) time.Time { return start.AddDate(0, 0, l.Days) }

// Remaining rounds the time left up to whole days, so a clock due later
// today still has one day left and one due yesterday has -1.
func (CalendarDays) Remaining(now, due time.Time) int32 {
	return int32(math.Ceil(due.Sub(now).Hours() / 24))
}

// Clock is one stage's running or stopped time limit.
type Clock struct {
	Stage Stage     `json:"stage"`
	Start time.Time `json:"start"`
	Due   time.Time `json:"due"`
	// Stop is zero while the clock runs.
	Stop time.Time `json:"stop,omitzero"`
}

// Running reports whether the clock has not been stopped.
func (c Clock) Running() bool { return c.Stop.IsZero() }

// RemainingDays is the days left on c at now; a stopped clock counts to its stop time.
func (c Clock) RemainingDays(cal Calendar, now time.Time) int32 {
	if !c.Running() {
		now = c.Stop
	}
	return cal.Remaining(now, c.Due)
}
