package tracker

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
	"github.com/xiaoyi-disputes/disputes/routing/internal/remedy"
)

// handlingCal is the default rules on a weekends-only calendar.
var handlingCal = Everywhere(DefaultRules(clock.Weekends()))

// shortWindow has an objection window of 15 days.
func shortWindow() Calendar {
	r := DefaultRules(clock.Weekends())
	r.ObjectionWindowDays = 15
	return Everywhere(r)
}

// handling returns a dispute routed SELF by tax, in HANDLING.
func handling(t *testing.T) *Tracker {
	t.Helper()
	tr := opened(t)
	if _, err := tr.Route(caller("tax", false), Route{Kind: RouteSelf, Opinion: "ours"}, weekdays, t0); err != nil {
		t.Fatal(err)
	}
	return tr
}

func office() Caller {
	c := caller("gov_office", true)
	c.Office = true
	return c
}

func convenor() Caller { return caller("gov_office", true) }

// replied returns a dispute tax replied to at t0 plus an hour.
func replied(t *testing.T) *Tracker {
	t.Helper()
	tr := handling(t)
	if _, err := tr.RecordReply(caller("tax", false), ReplyInput{Outcome: "减免", Text: "经核查..."}, handlingCal, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return tr
}

func wantErr(t *testing.T, err, target error, inMsg string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	if !strings.Contains(err.Error(), inMsg) {
		t.Fatalf("err %q does not mention %q", err, inMsg)
	}
}

func TestRecordReply(t *testing.T) {
	at := time.Date(2026, 3, 31, 10, 0, 0, 0, remedy.China)
	tr := handling(t)
	r, err := tr.RecordReply(caller("tax", false), ReplyInput{
		Outcome: "维持", Text: "经核查, 滞纳金计算无误",
		Remedies: []typesv1.Remedy{typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION, typesv1.Remedy_REMEDY_REVIEW_REQUEST},
	}, shortWindow(), at)
	if err != nil {
		t.Fatal(err)
	}
	var dates []string
	for _, d := range r.Remedies {
		dates = append(dates, d.Remedy.String()+" "+d.LastDate)
	}
	if diff := cmp.Diff([]string{"REMEDY_ADMINISTRATIVE_LITIGATION 2026-09-30", "REMEDY_REVIEW_REQUEST 2026-04-30"}, dates); diff != "" {
		t.Fatalf("remedies (-want +got):\n%s", diff)
	}
	if want := time.Date(2026, 4, 15, 23, 59, 59, 0, remedy.China); tr.State != Replied || tr.Reply != r || !tr.ObjectionWindowEnd.Equal(want) {
		t.Fatalf("after reply: state %v window end %v", tr.State, tr.ObjectionWindowEnd)
	}
	if _, running := tr.RunningClock(); running {
		t.Fatal("handling clock still running after the reply")
	}

	t.Run("defaults", func(t *testing.T) {
		tr := handling(t)
		r, err := tr.RecordReply(caller("tax", false), ReplyInput{Outcome: "o", Text: "t"}, handlingCal, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Remedies) != 4 || !tr.ObjectionWindowEnd.Equal(time.Date(2026, 4, 30, 23, 59, 59, 0, remedy.China)) {
			t.Fatalf("remedies %v window end %v", r.Remedies, tr.ObjectionWindowEnd)
		}
	})

	refusals := []struct {
		name   string
		tr     func(*testing.T) *Tracker
		c      Caller
		in     ReplyInput
		target error
		inMsg  string
	}{
		{"not yet handled", opened, caller("tax", false), ReplyInput{Outcome: "o", Text: "t"}, ErrIllegalTransition, "REGISTERED"},
		{"replied already", replied, caller("tax", false), ReplyInput{Outcome: "o", Text: "t"}, ErrIllegalTransition, "REPLIED"},
		{"not the holder", handling, caller("hrss", false), ReplyInput{Outcome: "o", Text: "t"}, ErrPermissionDenied, "tax"},
		{"the office is not the holder", handling, office(), ReplyInput{Outcome: "o", Text: "t"}, ErrPermissionDenied, "tax"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			tr := tt.tr(t)
			before := tr.Version
			_, err := tr.RecordReply(tt.c, tt.in, handlingCal, at)
			wantErr(t, err, tt.target, tt.inMsg)
			if tr.Version != before {
				t.Fatal("refused reply changed the tracker")
			}
		})
	}
	t.Run("outcome required", func(t *testing.T) {
		var ve *ValidationError
		if _, err := handling(t).RecordReply(caller("tax", false), ReplyInput{Text: "t"}, handlingCal, at); !errors.As(err, &ve) || ve.Field != "outcome" {
			t.Fatalf("err = %v", err)
		}
	})
}

// officeHost is the office role of the seed roster's office host unit.
func officeHost() Caller {
	c := caller("tax", true)
	c.Office = true
	return c
}

// atOffice is a dispute routed to the office and signed for by it.
func atOffice(t *testing.T) *Tracker {
	t.Helper()
	tr := opened(t)
	if _, err := tr.Route(caller("tax", false), Route{Kind: RouteOffice, Opinion: "many", OfficeHost: "tax", NextSlip: slips()}, weekdays, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Receive(officeHost(), weekdays, t0); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestAddNote(t *testing.T) {
	tests := []struct {
		name   string
		tr     func(*testing.T) *Tracker
		c      Caller
		target error
		inMsg  string
	}{
		{"holder while handling", handling, caller("tax", false), nil, ""},
		{"office while at the office", atOffice, office(), nil, ""},
		{"office while another department handles", handling, office(), ErrPermissionDenied, "holding department"},
		{"other department", handling, caller("hrss", false), ErrPermissionDenied, "holding department"},
		{"registered", opened, caller("tax", false), ErrIllegalTransition, "REGISTERED"},
		{"replied", replied, caller("tax", false), ErrIllegalTransition, "REPLIED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := tt.tr(t)
			err := tr.AddNote(tt.c, "已约谈缴费人", t0)
			if tt.target != nil {
				wantErr(t, err, tt.target, tt.inMsg)
				return
			}
			if err != nil || len(tr.Notes) != 1 || tr.Notes[0].Actor.Department != tt.c.Department {
				t.Fatalf("err %v notes %+v", err, tr.Notes)
			}
		})
	}
}

func TestFollowUpRedoObjectClose(t *testing.T) {
	t1 := t0.Add(2 * time.Hour)
	t.Run("redo after a dissatisfied follow-up", func(t *testing.T) {
		tr := replied(t)
		if err := tr.Redo(office(), "重新核查", weekdays, t1); !errors.Is(err, ErrPrecondition) {
			t.Fatalf("redo without follow-up: err = %v", err)
		}
		if _, err := tr.RecordFollowUp(caller("hrss", false), false, "", t1); !errors.Is(err, ErrPermissionDenied) {
			t.Fatalf("follow-up by a stranger: err = %v", err)
		}
		if _, err := tr.RecordFollowUp(office(), false, "不满意", t1); err != nil {
			t.Fatal(err)
		}
		if err := tr.Redo(caller("tax", false), "重新核查", weekdays, t1); !errors.Is(err, ErrPermissionDenied) {
			t.Fatalf("redo by the holder: err = %v", err)
		}
		if err := tr.Redo(convenor(), "重新核查", weekdays, t1); !errors.Is(err, ErrPermissionDenied) {
			t.Fatalf("redo by the convenor: err = %v", err)
		}
		if err := tr.Redo(office(), "重新核查", weekdays, t1); err != nil {
			t.Fatal(err)
		}
		c, running := tr.RunningClock()
		if tr.State != Handling || tr.Holder != "tax" || tr.RedoCount != 1 || !tr.ObjectionWindowEnd.IsZero() ||
			!running || c.Stage != StageHandling || !c.Start.Equal(t1) {
			t.Fatalf("after redo: state %v holder %s redo %d clock %+v", tr.State, tr.Holder, tr.RedoCount, c)
		}
		wantErr(t, tr.Redo(office(), "again", weekdays, t1), ErrIllegalTransition, "HANDLING")
		if _, err := tr.RecordFollowUp(office(), true, "", t1); err == nil || !strings.Contains(err.Error(), "HANDLING") {
			t.Fatalf("follow-up while handling: err = %v", err)
		}
	})
	t.Run("satisfied follow-up allows no redo", func(t *testing.T) {
		tr := replied(t)
		if _, err := tr.RecordFollowUp(caller("tax", false), true, "", t1); err != nil {
			t.Fatal(err)
		}
		if err := tr.Redo(office(), "x", weekdays, t1); !errors.Is(err, ErrPrecondition) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("objection", func(t *testing.T) {
		tr := replied(t)
		if err := tr.Object(caller("hrss", false), typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION, "", t1); !errors.Is(err, ErrPermissionDenied) {
			t.Fatalf("objection by a stranger: err = %v", err)
		}
		if err := tr.Object(caller("tax", false), typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION, "起诉", t1); err != nil {
			t.Fatal(err)
		}
		if tr.State != Closed || tr.CloseCause != CauseObjection || tr.ObjectionRemedy != typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION {
			t.Fatalf("after objection: %v %s %v", tr.State, tr.CloseCause, tr.ObjectionRemedy)
		}
		wantErr(t, tr.Object(office(), typesv1.Remedy_REMEDY_MEDIATION, "", t1), ErrIllegalTransition, "CLOSED")
	})
	t.Run("close by holder", func(t *testing.T) {
		tr := replied(t)
		wantErr(t, tr.Close(office(), "", t1), ErrPermissionDenied, "holding department")
		if err := tr.Close(caller("tax", false), "", t1); err != nil {
			t.Fatal(err)
		}
		if tr.State != Closed || tr.CloseCause != CauseClosedByHolder {
			t.Fatalf("after close: %v %s", tr.State, tr.CloseCause)
		}
		wantErr(t, handling(t).Close(caller("tax", false), "", t1), ErrIllegalTransition, "HANDLING")
	})
}

func TestMeetingOutcomes(t *testing.T) {
	a := Actor{Department: "tax", Staff: "office_staff", Roles: []string{"office"}}
	t.Run("general matter, decision", func(t *testing.T) {
		tr := atOffice(t)
		if err := tr.Triage(false, a, "一般事项", weekdays, t0, "m1"); err != nil {
			t.Fatal(err)
		}
		if tr.State != JointHandling {
			t.Fatalf("state %v", tr.State)
		}
		wantErr(t, tr.DecideApproval(true, a, "", weekdays, t0, "m2"), ErrIllegalTransition, "JOINT_HANDLING")
		if _, err := tr.RecordOutcome(false, a, ReplyInput{Outcome: "o", Text: "t"}, handlingCal, t0, "m3"); err != nil {
			t.Fatal(err)
		}
		if tr.State != Replied || tr.Reply.Actor.Staff != "office_staff" || tr.History[len(tr.History)-1].EventID != "m3" {
			t.Fatalf("after decision: %v %+v", tr.State, tr.Reply)
		}
	})
	t.Run("major matter, declined, then approved, platform outcome", func(t *testing.T) {
		tr := atOffice(t)
		if err := tr.Triage(true, a, "重大", weekdays, t0, "m1"); err != nil {
			t.Fatal(err)
		}
		// The approval clock starts with the request, not the triage.
		if c, ok := tr.RunningClock(); tr.State != AwaitingApproval || ok {
			t.Fatalf("after triage: %v clock %+v", tr.State, c)
		}
		t1 := t0.Add(48 * time.Hour)
		if _, err := tr.RequestApproval("regions/141181/approvals/1", weekdays, t1); err != nil {
			t.Fatal(err)
		}
		if c, ok := tr.RunningClock(); !ok || c.Stage != StageApproval || !c.Start.Equal(t1) {
			t.Fatalf("after request: clock %+v", c)
		}
		if err := tr.DecideApproval(false, a, "再议", weekdays, t0, "m2"); err != nil {
			t.Fatal(err)
		}
		if c, ok := tr.RunningClock(); tr.State != AtOffice || !ok || c.Stage != StageTriage {
			t.Fatalf("after decline: %v clock %+v", tr.State, c)
		}
		if err := tr.Triage(true, a, "重大", weekdays, t0, "m3"); err != nil {
			t.Fatal(err)
		}
		if err := tr.DecideApproval(true, a, "同意", weekdays, t0, "m4"); err != nil {
			t.Fatal(err)
		}
		if c, ok := tr.RunningClock(); tr.State != AtPlatform || !ok || c.Stage != StagePlatform || c.Department != "plc" {
			t.Fatalf("after approval: %v clock %+v", tr.State, c)
		}
		if !slices.Contains(tr.Readers(), "plc") || !tr.IsGuest("plc") {
			t.Fatalf("readers at the platform: %v", tr.Readers())
		}
		wantErr(t, func() error {
			_, err := tr.RecordOutcome(false, a, ReplyInput{Outcome: "o", Text: "t"}, handlingCal, t0, "m5")
			return err
		}(), ErrIllegalTransition, "AT_PLATFORM")
		if _, err := tr.RecordOutcome(true, a, ReplyInput{Outcome: "o", Text: "t"}, handlingCal, t0, "m5"); err != nil {
			t.Fatal(err)
		}
		if tr.State != Replied || slices.Contains(tr.Readers(), "plc") {
			t.Fatalf("after outcome: %v readers %v", tr.State, tr.Readers())
		}
	})
}

func TestWork(t *testing.T) {
	tests := []struct {
		name   string
		tr     func(*testing.T) *Tracker
		want   WorkItem
		listed bool
	}{
		{"registered", opened, WorkItem{Department: "tax", Bucket: BucketAwaitingRouting, Due: clock.Weekends().AddCalendarDays(t0, 15)}, true},
		{"handling", handling, WorkItem{Department: "tax", Bucket: BucketHandling, Due: clock.Weekends().AddCalendarDays(t0, 60)}, true},
		{"replied", replied, WorkItem{Department: "tax", Bucket: BucketAll}, true},
		{"handling, clock paused", func(t *testing.T) *Tracker {
			tr := handling(t)
			if _, err := tr.PauseClock(caller("tax", false), "等待缴费人补充材料", t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			return tr
		}, WorkItem{Department: "tax", Bucket: BucketHandling}, true},
		{"closed", func(t *testing.T) *Tracker {
			tr := replied(t)
			if err := tr.Close(caller("tax", false), "", t0); err != nil {
				t.Fatal(err)
			}
			return tr
		}, WorkItem{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, listed := tt.tr(t).Work()
			if listed != tt.listed {
				t.Fatalf("listed = %v", listed)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Work (-want +got):\n%s", diff)
			}
		})
	}
}
