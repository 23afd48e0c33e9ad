package tracker

import (
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
)

// TestOpinionClockPerMeeting: a unit invited to two meetings on one dispute
// owes an opinion to each, each due from its own meeting; answering one
// stops that meeting's clock only and is late only against its due time.
func TestOpinionClockPerMeeting(t *testing.T) {
	tr := atOffice(t)
	if err := tr.Triage(false, officeHost().Actor, "一般", weekdays, t0, "m1"); err != nil {
		t.Fatal(err)
	}
	first, second := "regions/141181/meetings/m1", "regions/141181/meetings/m2"
	firstHeld := t0.Add(time.Hour)           // Monday 2 March: due Monday 9 March
	secondHeld := t0.Add(8 * 24 * time.Hour) // Tuesday 10 March: due Tuesday 17 March
	if _, err := tr.Convene(first, []string{"hrss", "finance"}, weekdays, firstHeld); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Convene(second, []string{"finance", "justice"}, weekdays, secondHeld); err != nil {
		t.Fatal(err)
	}
	// finance answers the second meeting on Wednesday 11 March: on time
	// for it, although the first meeting's opinion is overdue by then.
	answered := time.Date(2026, 3, 11, 10, 0, 0, 0, clock.China)
	inv, ok := tr.ReceiveOpinion("finance", second, answered)
	if !ok || inv.Meeting != second || inv.Late {
		t.Fatalf("finance's opinion on the second meeting: %+v %v, want on time", inv, ok)
	}
	e, ok := tr.ViewEntryOf(ViewOpinionsOwed, "finance")
	if want := time.Date(2026, 3, 9, 23, 59, 59, 0, clock.China); !ok || !e.Clock.Due.Equal(want) || !e.Clock.Running() {
		t.Fatalf("finance still owes the first meeting's opinion: %+v %v, want due %v", e, ok, want)
	}
	inv, ok = tr.ReceiveOpinion("finance", first, answered)
	if !ok || inv.Meeting != first || !inv.Late {
		t.Fatalf("finance's opinion on the first meeting: %+v %v, want late", inv, ok)
	}
	if _, ok := tr.ViewEntryOf(ViewOpinionsOwed, "finance"); ok {
		t.Fatal("finance owes after answering both meetings")
	}
	for _, k := range tr.Clocks {
		if k.Stage == StageOpinion && k.Department == "finance" && k.Running() {
			t.Fatalf("finance's opinion clock still runs: %+v", k)
		}
	}
}
