package tracker

// Caps on what one dispute's tracker may accumulate. A tracker is read and
// written whole, and returned whole by GetTracking through the gateway
// (whose answers are bounded); without them one holder could grow a tracker
// until every read of it fails. With the text lengths the API allows (2000
// characters) the caps keep a tracker well under a megabyte.
const (
	// MaxNotes is the most progress notes one dispute takes.
	MaxNotes = 200
	// MaxFollowUps is the most follow-up calls recorded on one dispute; it
	// also bounds the redo cycles, each of which needs one.
	MaxFollowUps = 20
	// MaxPausesPerClock is the most times one clock may be paused.
	MaxPausesPerClock = 20
	// MaxInvitations is the most units invited to give opinions on one
	// dispute over all its meetings, and the most warning readers.
	MaxInvitations = 64
)

// ReasonLimitReached is the RefusedError reason of a change refused because
// the dispute reached one of the caps above.
const ReasonLimitReached = "LIMIT_REACHED"

// limitReached refuses adding one more of what when there are n of at most
// max already.
func limitReached(what string, n, max int) error {
	if n < max {
		return nil
	}
	return refuse(ReasonLimitReached, "%s: the limit of %d per dispute is reached", what, max)
}
