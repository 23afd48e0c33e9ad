package tracker

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
)

// routedToOffice is a dispute registered by hrss and routed to the office
// (tax), its slip not yet signed.
func routedToOffice(t *testing.T) *Tracker {
	t.Helper()
	tr, err := Open(Registration{
		Name: "regions/141181/disputes/2026-18", RegisteringDepartment: "hrss", FirstReceiver: "zhao",
		RegisterTime: t0, Actor: Actor{Department: "hrss", Staff: "zhao"}, EventID: "ev1",
	}, weekdays)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Route(caller("hrss", false), Route{Kind: RouteOffice, Opinion: "多部门", OfficeHost: "tax", NextSlip: slips()}, weekdays, t0); err != nil {
		t.Fatal(err)
	}
	return tr
}

func runningClocks(tr *Tracker) map[Stage][]string {
	out := map[Stage][]string{}
	for _, k := range tr.Clocks {
		if k.Running() {
			out[k.Stage] = append(out[k.Stage], k.Department)
		}
	}
	return out
}

func TestOfficeReceipt(t *testing.T) {
	t.Run("slip, then receipt starts triage and reply clocks", func(t *testing.T) {
		tr := routedToOffice(t)
		s := tr.Slips[len(tr.Slips)-1]
		if tr.State != AtOffice || tr.Holder != "tax" || !tr.OfficeReceiptPending || s.ReceivingDepartment != "tax" || s.Number != "2026年第1号" || s.RegisteringDepartment != "hrss" {
			t.Fatalf("after routing: state %v holder %s pending %v slip %+v", tr.State, tr.Holder, tr.OfficeReceiptPending, s)
		}
		if k, _ := tr.RunningClock(); k.Stage != StageTransferReceipt || k.Department != "tax" {
			t.Fatalf("receive clock %+v", k)
		}
		// Triage waits for the receipt.
		var refused *RefusedError
		if err := tr.Triage(false, officeHost().Actor, "", weekdays, t0, "m1"); !errors.As(err, &refused) || refused.Reason != "OFFICE_RECEIPT_PENDING" {
			t.Fatalf("triage before receipt: %v", err)
		}
		// Only the office role of the host unit signs.
		if _, err := tr.Receive(caller("tax", false), weekdays, t0); !errors.Is(err, ErrPermissionDenied) {
			t.Fatalf("receive by a tax clerk: %v", err)
		}
		if _, err := tr.Receive(caller("hrss", false), weekdays, t0); !errors.Is(err, ErrPermissionDenied) {
			t.Fatalf("receive by the sender: %v", err)
		}
		at := t0.Add(24 * time.Hour)
		v := tr.Version
		slip, err := tr.Receive(officeHost(), weekdays, at)
		if err != nil {
			t.Fatal(err)
		}
		if tr.State != AtOffice || tr.OfficeReceiptPending || slip.Receiver != "tax_staff" || !slip.ReceiveTime.Equal(at) || tr.Version != v+1 {
			t.Fatalf("after receipt: %v pending %v slip %+v", tr.State, tr.OfficeReceiptPending, slip)
		}
		got := runningClocks(tr)
		if !slices.Equal(got[StageTriage], []string{"tax"}) || len(got[StageReply]) != 1 || len(got[StageTransferReceipt]) != 0 {
			t.Fatalf("running clocks after receipt: %v", got)
		}
		// 5 working days from Tuesday 3 March: Tuesday 10 March, end of day.
		if k, _ := tr.RunningClock(); !k.Due.Equal(time.Date(2026, 3, 10, 23, 59, 59, 0, clock.China)) {
			t.Errorf("triage due %v", k.Due)
		}
		var refusedAgain *RefusedError
		if _, err := tr.Receive(officeHost(), weekdays, at); !errors.As(err, &refusedAgain) || refusedAgain.Reason != "OFFICE_RECEIPT_DONE" {
			t.Fatalf("second receipt: %v", err)
		}
		if err := tr.Triage(false, officeHost().Actor, "一般", weekdays, at, "m1"); err != nil {
			t.Fatal(err)
		}
		got = runningClocks(tr)
		if tr.State != JointHandling || len(got[StageTriage]) != 0 || len(got[StageReply]) != 1 {
			t.Fatalf("after triage: %v clocks %v", tr.State, got)
		}
	})
	t.Run("office returns to the registering department", func(t *testing.T) {
		tr := routedToOffice(t)
		if _, _, err := tr.Return(officeHost(), "本单位可办", "tax", nil, weekdays, t0); err != nil {
			t.Fatal(err)
		}
		if tr.State != Registered || tr.Holder != "hrss" || tr.OfficeReceiptPending || tr.Slips[0].ReturnReason != "本单位可办" {
			t.Fatalf("after return: %v holder %s slip %+v", tr.State, tr.Holder, tr.Slips[0])
		}
		if k, _ := tr.RunningClock(); k.Stage != StageRouting {
			t.Fatalf("clock after return %+v", k)
		}
	})
	t.Run("office returns an escalation to its holder, handling clock from its start", func(t *testing.T) {
		tr := opened(t)
		if _, err := tr.Route(caller("tax", false), Route{Kind: RouteTransfer, Target: "hrss", Opinion: "x", IsUnit: units("hrss"), NextSlip: slips()}, weekdays, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Receive(caller("hrss", false), weekdays, t0); err != nil {
			t.Fatal(err)
		}
		start := tr.runningClock().Start
		if _, err := tr.Route(caller("hrss", false), Route{Kind: RouteOffice, Opinion: "需多部门", OfficeHost: "tax", NextSlip: slips()}, weekdays, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tr.Return(officeHost(), "自行办理", "tax", nil, weekdays, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		k, _ := tr.RunningClock()
		if tr.State != Handling || tr.Holder != "hrss" || k.Stage != StageHandling || !k.Start.Equal(start) {
			t.Fatalf("after return: %v holder %s clock %+v", tr.State, tr.Holder, k)
		}
	})
	t.Run("a dispute returned twice is the office's to take", func(t *testing.T) {
		tr := opened(t)
		r := Route{Kind: RouteTransfer, Target: "hrss", Opinion: "x", OfficeHost: "tax", IsUnit: units("hrss"), NextSlip: slips()}
		for range 2 {
			if _, err := tr.Route(caller("tax", false), r, weekdays, t0); err != nil {
				t.Fatal(err)
			}
			if _, _, err := tr.Return(caller("hrss", false), "不是我们的", "tax", r.NextSlip, weekdays, t0); err != nil {
				t.Fatal(err)
			}
		}
		var refused *RefusedError
		if _, _, err := tr.Return(officeHost(), "x", "tax", nil, weekdays, t0); !errors.As(err, &refused) || refused.Reason != "OFFICE_MUST_TAKE" {
			t.Fatalf("office return after two returns: %v", err)
		}
		if _, err := tr.Receive(officeHost(), weekdays, t0); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpinionClocksAndReaders(t *testing.T) {
	tr := atOffice(t)
	if err := tr.Triage(false, officeHost().Actor, "一般", weekdays, t0, "m1"); err != nil {
		t.Fatal(err)
	}
	if e, ok := tr.ViewEntryOf(ViewOfficeJointHandling, "tax"); !ok || e.Clock.Stage != StageReply {
		t.Fatalf("joint handling view: %+v %v", e, ok)
	}
	convened := t0.Add(time.Hour) // Monday 2 March, evening in China
	meeting := "regions/141181/meetings/m1"
	changed, err := tr.Convene(meeting, []string{"hrss", "finance", "justice"}, weekdays, convened)
	if err != nil || !changed {
		t.Fatalf("convene: %v %v", changed, err)
	}
	if again, _ := tr.Convene(meeting, []string{"hrss", "finance", "justice"}, weekdays, convened); again {
		t.Fatal("convening the same meeting again changed the tracker")
	}
	if got := runningClocks(tr)[StageOpinion]; !slices.Equal(got, []string{"hrss", "finance", "justice"}) {
		t.Fatalf("opinion clocks %v", got)
	}
	for _, u := range []string{"hrss", "finance", "justice"} {
		if !slices.Contains(tr.Readers(), u) || !tr.IsGuest(u) {
			t.Fatalf("%s does not read the dispute: %v", u, tr.Readers())
		}
		if e, ok := tr.ViewEntryOf(ViewOpinionsOwed, u); !ok || e.Clock.Department != u {
			t.Fatalf("%s owes no opinion: %+v", u, e)
		}
	}
	// The office's own clock still runs: the unit's opinion clock does not
	// replace the holder's.
	if _, ok := tr.RunningClock(); ok {
		t.Fatal("a holder clock runs in joint handling")
	}
	due := tr.OpinionDue("finance", meeting)
	if want := time.Date(2026, 3, 9, 23, 59, 59, 0, clock.China); !due.Equal(want) {
		t.Fatalf("opinion due %v, want %v", due, want)
	}
	// Two on time, one late: the late one is Overdue first, on its unit.
	if _, ok := tr.ReceiveOpinion("hrss", meeting, convened.Add(time.Hour)); !ok {
		t.Fatal("hrss opinion not applied")
	}
	if _, ok := tr.ReceiveOpinion("justice", meeting, convened.Add(2*time.Hour)); !ok {
		t.Fatal("justice opinion not applied")
	}
	notices, err := tr.Tick(due.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var overdue []string
	for _, n := range notices {
		if n.Kind == NoticeOverdue {
			overdue = append(overdue, stageName(n.Clock.Stage)+":"+n.Clock.Department)
		}
	}
	if !slices.Equal(overdue, []string{"opinion:finance"}) {
		t.Fatalf("overdue notices %v", overdue)
	}
	if _, ok := tr.ViewEntryOf(ViewOfficeAwaitingDecision, "tax"); ok {
		t.Fatal("awaiting decision while an opinion is owed")
	}
	inv, ok := tr.ReceiveOpinion("finance", meeting, due.Add(time.Hour))
	if !ok || !inv.Late {
		t.Fatalf("late opinion: %+v %v", inv, ok)
	}
	if _, again := tr.ReceiveOpinion("finance", meeting, due.Add(time.Hour)); again {
		t.Fatal("an opinion applied twice")
	}
	if _, ok := tr.ViewEntryOf(ViewOfficeAwaitingDecision, "tax"); !ok {
		t.Fatal("not awaiting a decision once every opinion is in")
	}
	// Readers while deciding: still the invited units; after the decision,
	// not any more.
	if !slices.Contains(tr.Readers(), "finance") {
		t.Fatal("finance lost sight before the decision")
	}
	if _, err := tr.RecordOutcome(false, officeHost().Actor, ReplyInput{Outcome: "o", Text: "t"}, weekdays, due.Add(2*time.Hour), "m9"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"hrss", "finance", "justice"} {
		if slices.Contains(tr.Readers(), u) && u != "hrss" {
			t.Fatalf("%s still reads after the decision: %v", u, tr.Readers())
		}
	}
	if len(runningClocks(tr)) != 0 {
		t.Fatalf("clocks still running after the reply: %v", runningClocks(tr))
	}
}

func TestWarningReadersAndRegisteredView(t *testing.T) {
	tr := routedToOffice(t)
	if added := tr.AddWarningReaders([]string{"petition"}); !slices.Equal(added, []string{"petition"}) {
		t.Fatalf("added %v", added)
	}
	if added := tr.AddWarningReaders([]string{"petition"}); len(added) != 0 {
		t.Fatalf("added twice: %v", added)
	}
	if !tr.IsGuest("petition") || tr.IsGuest("hrss") {
		t.Fatalf("guests %v", tr.GuestReaders())
	}
	// 首问到底: the registering unit sees what it passed on, due by the
	// office's clock.
	e, ok := tr.ViewEntryOf(ViewRegistered, "hrss")
	if !ok || e.Clock.Stage != StageTransferReceipt {
		t.Fatalf("registered view: %+v %v", e, ok)
	}
	if _, ok := tr.ViewEntryOf(ViewOfficeAwaitingReceipt, "tax"); !ok {
		t.Fatal("not awaiting the office's receipt")
	}
	// The warning handled (acknowledged), the bureau reads it no more; a
	// second warning lets it read again until the dispute closes.
	v := tr.Version
	if removed := tr.EndWarningReaders([]string{"petition", "tax"}); !slices.Equal(removed, []string{"petition"}) || tr.IsGuest("petition") || tr.Version != v+1 {
		t.Fatalf("after the acknowledgement: removed %v, guests %v", removed, tr.GuestReaders())
	}
	if removed := tr.EndWarningReaders([]string{"petition"}); len(removed) != 0 || tr.Version != v+1 {
		t.Fatalf("acknowledged twice: removed %v", removed)
	}
	tr.AddWarningReaders([]string{"petition"})
	if err := tr.Withdraw(Actor{Department: "hrss"}, "撤回", "ev9", t0); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(tr.Readers(), "petition") || len(tr.Views()) != 0 {
		t.Fatalf("after close: readers %v views %v", tr.Readers(), tr.Views())
	}
	if !slices.Contains(tr.Readers(), "hrss") {
		t.Fatal("the registering unit lost sight")
	}
}

// TestPlatformAndReplyClocksFollowRegionRules: the platform stage's limit and
// unit and the whole matter's reply limit come from the region's rules.
func TestPlatformAndReplyClocksFollowRegionRules(t *testing.T) {
	rules := DefaultRules(clock.Weekends())
	rules.Limits = map[Stage]Limit{StagePlatform: {Days: 10, Working: true}, StageReply: {Days: 45}}
	rules.PlatformUnit = "mediation"
	cal := Everywhere(rules)
	tr, err := Open(Registration{Name: "regions/141181/disputes/2026-19", RegisteringDepartment: "tax", RegisterTime: t0}, cal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Route(caller("tax", false), Route{Kind: RouteOffice, Opinion: "重大", OfficeHost: "tax", NextSlip: slips()}, cal, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Receive(officeHost(), cal, t0); err != nil {
		t.Fatal(err)
	}
	// 45 calendar days from Monday 2 March (17:00 in China): Thursday 16 April.
	if k := tr.clockOf(StageReply, ""); !k.Due.Equal(time.Date(2026, 4, 16, 23, 59, 59, 0, clock.China)) {
		t.Fatalf("reply clock due %v", k.Due)
	}
	a := officeHost().Actor
	if err := tr.Triage(true, a, "", cal, t0, "m1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.RequestApproval("regions/141181/approvals/1", cal, t0); err != nil {
		t.Fatal(err)
	}
	if err := tr.DecideApproval(true, a, "同意", cal, t0, "m2"); err != nil {
		t.Fatal(err)
	}
	k, _ := tr.RunningClock()
	// 10 working days from Monday 2 March: Monday 16 March.
	if k.Stage != StagePlatform || k.Department != "mediation" || !k.Due.Equal(time.Date(2026, 3, 16, 23, 59, 59, 0, clock.China)) {
		t.Fatalf("platform clock %+v", k)
	}
	if !tr.IsGuest("mediation") || tr.IsGuest("plc") {
		t.Fatalf("guests at the platform %v", tr.GuestReaders())
	}
	if e, ok := tr.ViewEntryOf(ViewPlatform, "mediation"); !ok || e.Clock.Stage != StagePlatform {
		t.Fatalf("platform view %+v", e)
	}
}
