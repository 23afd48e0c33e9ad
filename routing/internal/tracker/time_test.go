package tracker

import (
	"errors"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
)

// cst is a China time on a day of 2026.
func cst(month time.Month, day, hour, min int) time.Time {
	return time.Date(2026, month, day, hour, min, 0, 0, clock.China)
}

// endOfDay is 23:59:59 China time.
func endOfDay(month time.Month, day int) time.Time {
	return time.Date(2026, month, day, 23, 59, 59, 0, clock.China)
}

func wantRefused(t *testing.T, err error, reason, inMsg string) {
	t.Helper()
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != reason {
		t.Fatalf("err = %v, want refusal %s", err, reason)
	}
	wantErr(t, err, ErrPrecondition, inMsg)
}

func TestPauseResume(t *testing.T) {
	tr := handling(t) // routed SELF by tax on Mon 2 Mar: handling due Fri 1 May
	if k, _ := tr.RunningClock(); !k.Due.Equal(endOfDay(5, 1)) {
		t.Fatalf("handling due %s, want the end of 1 May", k.Due)
	}
	v := tr.Version
	if _, err := tr.PauseClock(caller("hrss", false), "waiting", cst(3, 3, 10, 0)); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("pause by another department: %v", err)
	}
	var ve *ValidationError
	if _, err := tr.PauseClock(caller("tax", false), "", cst(3, 3, 10, 0)); !errors.As(err, &ve) || ve.Field != "reason" {
		t.Fatalf("pause without a reason: %v", err)
	}
	if _, err := tr.ResumeClock(caller("tax", false), weekdays, cst(3, 3, 10, 0)); err == nil {
		t.Fatal("resumed a clock that is not paused")
	} else {
		wantRefused(t, err, "CLOCK_NOT_PAUSED", "not paused")
	}
	if tr.Version != v {
		t.Fatal("refusals changed the version")
	}

	k, err := tr.PauseClock(caller("tax", false), "等待申请人补充材料", cst(3, 3, 10, 0))
	if err != nil || !k.Paused() || tr.Version != v+1 {
		t.Fatalf("pause = %+v, %v (version %d)", k, err, tr.Version)
	}
	_, err = tr.PauseClock(caller("tax", false), "again", cst(3, 4, 10, 0))
	wantRefused(t, err, "CLOCK_ALREADY_PAUSED", "2026-03-03")
	if _, ok := tr.NextDeadline(); ok {
		t.Fatal("a paused clock has a deadline")
	}
	if n, _ := tr.Tick(cst(6, 1, 0, 0)); len(n) != 0 {
		t.Fatalf("a paused clock raised %v", n)
	}
	// Days left stand still at the pause.
	frozen := k.RemainingDays(weekdays.Rules("141181"), cst(3, 3, 10, 0))
	if got := k.RemainingDays(weekdays.Rules("141181"), cst(3, 20, 10, 0)); got != frozen {
		t.Fatalf("days left while paused moved from %d to %d", frozen, got)
	}

	// Paused Tue 3 Mar, resumed Fri 6 Mar: 4, 5 and 6 Mar given back.
	k, err = tr.ResumeClock(caller("tax", false), weekdays, cst(3, 6, 9, 0))
	if err != nil || k.Paused() {
		t.Fatalf("resume = %+v, %v", k, err)
	}
	if !k.Due.Equal(endOfDay(5, 4)) || !k.WarnAt.Equal(cst(5, 1, 0, 0)) {
		t.Fatalf("after resume due %s warn %s, want the end of Mon 4 May, warned from Fri 1 May", k.Due, k.WarnAt)
	}
	if p := k.Pauses[0]; p.Reason != "等待申请人补充材料" || p.Actor.Department != "tax" || !p.End.Equal(cst(3, 6, 9, 0)) {
		t.Fatalf("pause record %+v", p)
	}
	if at, ok := tr.NextDeadline(); !ok || !at.Equal(k.WarnAt) {
		t.Fatalf("next deadline %s %v, want the warning time", at, ok)
	}

	// An overdue clock cannot be paused.
	_, err = tr.PauseClock(caller("tax", false), "late", cst(5, 5, 9, 0))
	wantRefused(t, err, "CLOCK_OVERDUE", "2026-05-04")
}

func TestExtension(t *testing.T) {
	t.Run("not while registered", func(t *testing.T) {
		tr := opened(t)
		_, err := tr.RequestExtension(caller("tax", false), 30, "complex", weekdays, t0)
		wantErr(t, err, ErrIllegalTransition, "DISPUTE_STATE_REGISTERED")
	})
	tr := handling(t)
	at := cst(4, 20, 10, 0)
	if _, err := tr.RequestExtension(caller("hrss", false), 30, "complex", weekdays, at); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("request by another department: %v", err)
	}
	var ve *ValidationError
	if _, err := tr.RequestExtension(caller("tax", false), 31, "complex", weekdays, at); !errors.As(err, &ve) || ve.Field != "days" {
		t.Fatalf("31 days: %v", err)
	}
	head := caller("tax", false)
	head.Head = true
	_, _, err := tr.DecideExtension(head, true, "", weekdays, at)
	wantRefused(t, err, "NO_EXTENSION_REQUESTED", "no extension")

	e, err := tr.RequestExtension(caller("tax", false), 30, "需调取三年缴费记录", weekdays, at)
	if err != nil || e.Days != 30 || e.RequestedBy.Department != "tax" {
		t.Fatalf("request = %+v, %v", e, err)
	}
	_, err = tr.RequestExtension(caller("tax", false), 10, "more", weekdays, at)
	wantRefused(t, err, "EXTENSION_ALREADY_REQUESTED", "2026-04-20")

	if _, _, err := tr.DecideExtension(convenor(), true, "", weekdays, at); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("decided by the convenor: %v", err)
	}
	if _, _, err := tr.DecideExtension(caller("tax", false), true, "", weekdays, at); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("decided by the holder's staff: %v", err)
	}
	if _, _, err := tr.DecideExtension(office(), true, "", weekdays, at); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("decided by the office: %v", err)
	}
	otherHead := caller("hrss", false)
	otherHead.Head = true
	if _, _, err := tr.DecideExtension(otherHead, true, "", weekdays, at); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("decided by another unit's head: %v", err)
	}
	// Warned already about the old due time: the new one is warned about again.
	tr.Clocks[len(tr.Clocks)-1].Warned = true
	e, k, err := tr.DecideExtension(head, true, "同意延期", weekdays, at.Add(time.Hour))
	if err != nil || !e.Approved || !e.Decided || e.DecidedBy.Department != "tax" {
		t.Fatalf("decide = %+v, %v", e, err)
	}
	// 2 Mar + 90 days = Sun 31 May: rolls forward to Mon 1 Jun.
	if !k.Due.Equal(endOfDay(6, 1)) || k.ExtensionDays != 30 || k.ExtensionApprover.Department != "tax" || k.Warned {
		t.Fatalf("handling clock after the extension: %+v", k)
	}
	_, _, err = tr.DecideExtension(head, false, "", weekdays, at)
	wantRefused(t, err, "EXTENSION_ALREADY_DECIDED", "2026-04-20")
	_, err = tr.RequestExtension(caller("tax", false), 5, "again", weekdays, at)
	wantRefused(t, err, "EXTENSION_ALREADY_REQUESTED", "")
}

func TestTickRaisesOnce(t *testing.T) {
	tr := opened(t) // routing clock due Tue 17 Mar, warned from the start of Mon 16 Mar
	tests := []struct {
		at   time.Time
		want []NoticeKind
		next time.Time // zero: none
	}{
		{cst(3, 15, 12, 0), nil, cst(3, 16, 0, 0)},
		{cst(3, 16, 0, 0), []NoticeKind{NoticeWarning}, endOfDay(3, 17)},
		{cst(3, 16, 9, 0), nil, endOfDay(3, 17)},
		{endOfDay(3, 17), nil, endOfDay(3, 17)}, // the last second is still in time
		{endOfDay(3, 17).Add(time.Second), []NoticeKind{NoticeOverdue}, time.Time{}},
		{cst(3, 30, 9, 0), nil, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.at.String(), func(t *testing.T) {
			got, err := tr.Tick(tt.at)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []NoticeKind
			for _, n := range got {
				kinds = append(kinds, n.Kind)
			}
			if len(kinds) != len(tt.want) || len(kinds) > 0 && kinds[0] != tt.want[0] {
				t.Fatalf("notices %v, want %v", kinds, tt.want)
			}
			next, ok := tr.NextDeadline()
			if ok != !tt.next.IsZero() || ok && !next.Equal(tt.next) {
				t.Fatalf("next deadline %s %v, want %s", next, ok, tt.next)
			}
		})
	}

	// Found already overdue: Overdue only, no late warning.
	tr = opened(t)
	got, _ := tr.Tick(cst(4, 1, 9, 0))
	if len(got) != 1 || got[0].Kind != NoticeOverdue || !tr.Clocks[0].Warned || !tr.Clocks[0].Overdue {
		t.Fatalf("notices %v, clock %+v", got, tr.Clocks[0])
	}
}

func TestTickClosesAfterObjectionWindow(t *testing.T) {
	tr := handling(t)
	replied := cst(4, 1, 10, 0)
	if _, err := tr.RecordReply(caller("tax", false), ReplyInput{Outcome: "已退还", Text: "..."}, weekdays, replied); err != nil {
		t.Fatal(err)
	}
	end := tr.ObjectionWindowEnd
	if next, ok := tr.NextDeadline(); !ok || !next.Equal(end) {
		t.Fatalf("next deadline %s %v, want the window's end %s", next, ok, end)
	}
	if n, _ := tr.Tick(end); len(n) != 0 || tr.State != Replied {
		t.Fatalf("closed in the window's last second: %v", n)
	}
	n, err := tr.Tick(end.Add(time.Second))
	if err != nil || len(n) != 1 || n[0].Kind != NoticeObjectionWindowEnded {
		t.Fatalf("Tick at the end = %v, %v", n, err)
	}
	last := tr.History[len(tr.History)-1]
	if tr.State != Closed || tr.CloseCause != CauseObjectionWindowEnded || last.From != Replied || last.Actor.Staff != "deadline-scanner" {
		t.Fatalf("after the window: state %s cause %q last %+v", tr.State, tr.CloseCause, last)
	}
	if _, ok := tr.NextDeadline(); ok {
		t.Fatal("a closed dispute still has a deadline")
	}
	if n, _ := tr.Tick(end.Add(time.Hour)); len(n) != 0 {
		t.Fatalf("closed twice: %v", n)
	}
}

func TestReturnWindowCloses(t *testing.T) {
	r := Route{Kind: RouteTransfer, Target: "hrss", Opinion: "theirs", OfficeHost: "tax", IsUnit: units("tax", "hrss"), NextSlip: slips()}
	tr := opened(t)
	if _, err := tr.Route(caller("tax", false), r, weekdays, t0); err != nil {
		t.Fatal(err)
	}
	// Routed Mon 2 Mar: 5 working days end with Mon 9 Mar.
	if k, _ := tr.RunningClock(); !k.Due.Equal(endOfDay(3, 9)) {
		t.Fatalf("receipt due %s", k.Due)
	}
	_, _, err := tr.Return(caller("hrss", false), "not ours", "tax", nil, weekdays, cst(3, 10, 0, 0))
	wantRefused(t, err, "RETURN_WINDOW_CLOSED", "closed on 2026-03-09")
	if tr.State != Transferred || tr.ReturnCount != 0 {
		t.Fatalf("refused return changed the tracker: %s %d", tr.State, tr.ReturnCount)
	}
	if _, _, err := tr.Return(caller("hrss", false), "not ours", "tax", nil, weekdays, endOfDay(3, 9)); err != nil {
		t.Fatalf("return on the last day: %v", err)
	}
}
