package tracker

import "time"

// Bucket is a worklist section; values match routing.v1.Bucket.
type Bucket int32

// Buckets a tracker is filed in by its state; DUE_SOON and OVERDUE are
// ranges of due times, decided when the worklist is read.
const (
	BucketAll             Bucket = 0
	BucketAwaitingReceipt Bucket = 1
	BucketHandling        Bucket = 2
	BucketDueSoon         Bucket = 3
	BucketOverdue         Bucket = 4
	BucketAwaitingRouting Bucket = 5
)

// WorkItem is how a tracker shows in its holder's worklist.
type WorkItem struct {
	// Department whose worklist lists it: the holder.
	Department string
	// Bucket by state; BucketAll when its state has no bucket of its own.
	Bucket Bucket
	// Due is the running clock's due time; zero when no clock runs or it is paused.
	Due time.Time
}

// Work returns where the tracker shows in a worklist, and false once it
// is no longer open (closed or archived).
func (t *Tracker) Work() (WorkItem, bool) {
	if !IsOpen(t.State) || t.Holder == "" {
		return WorkItem{}, false
	}
	w := WorkItem{Department: t.Holder}
	switch t.State {
	case Registered:
		w.Bucket = BucketAwaitingRouting
	case Transferred:
		w.Bucket = BucketAwaitingReceipt
	case Handling:
		w.Bucket = BucketHandling
	}
	// A paused clock is not counting down: it is neither due soon nor
	// overdue until it resumes (resuming writes the tracker, which files
	// it again with its new due time).
	if c, ok := t.RunningClock(); ok && !c.Paused() {
		w.Due = c.Due
	}
	return w, true
}
