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

// View is a role's worklist on the office path; values match
// routing.v1.WorklistView. ViewHolder is the holder's worklist by bucket.
type View int32

// Views.
const (
	ViewHolder                 View = 0
	ViewOfficeAwaitingReceipt  View = 1
	ViewOfficeAwaitingTriage   View = 2
	ViewOfficeJointHandling    View = 3
	ViewOfficeAwaitingDecision View = 4
	ViewOpinionsOwed           View = 5
	ViewOpinionsOverdue        View = 6
	ViewApprovalsPending       View = 7
	ViewPlatform               View = 8
	ViewRegistered             View = 9
)

// RegionWide is the department of views that belong to a region, not to
// one department: the convenor's pending approvals.
const RegionWide = "_region"

// ViewEntry is one line a tracker puts in a view: the department whose
// list it is in and the clock that matters there.
type ViewEntry struct {
	View       View
	Department string
	Clock      Clock
}

// Due is the entry's due time; zero when its clock is paused or stopped.
func (e ViewEntry) Due() time.Time {
	if !e.Clock.Running() || e.Clock.Paused() {
		return time.Time{}
	}
	return e.Clock.Due
}

// clockOf returns the running clock of stage s for dept ("" for any).
func (t *Tracker) clockOf(s Stage, dept string) Clock {
	for _, k := range t.Clocks {
		if k.Stage == s && k.Running() && (dept == "" || k.Department == dept) {
			return k
		}
	}
	return Clock{}
}

// Views returns the lines the tracker puts in the office path's
// worklists; none once it is closed. The overdue opinions are the owed
// ones past their due time, a range of ViewOpinionsOwed.
func (t *Tracker) Views() []ViewEntry {
	if !IsOpen(t.State) {
		return nil
	}
	var out []ViewEntry
	add := func(v View, dept string, k Clock) {
		out = append(out, ViewEntry{View: v, Department: dept, Clock: k})
	}
	reply := t.clockOf(StageReply, "")
	switch t.State {
	case AtOffice:
		if t.OfficeReceiptPending {
			add(ViewOfficeAwaitingReceipt, t.Holder, t.clockOf(StageTransferReceipt, ""))
		} else {
			add(ViewOfficeAwaitingTriage, t.Holder, t.clockOf(StageTriage, ""))
		}
	case JointHandling:
		if t.OpinionsOwed() || len(t.Invitations) == 0 {
			add(ViewOfficeJointHandling, t.Holder, reply)
		} else {
			add(ViewOfficeAwaitingDecision, t.Holder, reply)
		}
		for _, i := range t.Invitations {
			if i.Owed() {
				var k Clock
				if c := t.opinionClock(i.Unit, i.Meeting); c != nil {
					k = *c
				}
				add(ViewOpinionsOwed, i.Unit, k)
			}
		}
	case AwaitingApproval:
		if t.Approval != "" {
			add(ViewApprovalsPending, RegionWide, t.clockOf(StageApproval, ""))
		}
	case AtPlatform:
		add(ViewPlatform, t.PlatformUnit, t.clockOf(StagePlatform, ""))
	}
	if t.Holder != t.RegisteringDepartment && t.RegisteringDepartment != "" {
		k, ok := t.RunningClock()
		if !ok || reply.Running() && !reply.Due.IsZero() {
			k = reply
		}
		add(ViewRegistered, t.RegisteringDepartment, k)
	}
	return out
}

// ViewEntryOf is the tracker's line in view v of dept, if it has one.
func (t *Tracker) ViewEntryOf(v View, dept string) (ViewEntry, bool) {
	if v == ViewOpinionsOverdue {
		v = ViewOpinionsOwed
	}
	for _, e := range t.Views() {
		if e.View == v && (e.Department == dept || e.Department == RegionWide) {
			return e, true
		}
	}
	return ViewEntry{}, false
}
