package tracker

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// TestLimits fills each capped list to its limit and checks the next
// addition is refused with LIMIT_REACHED naming the limit, changing nothing.
func TestLimits(t *testing.T) {
	tests := []struct {
		name  string
		limit int
		setup func(*testing.T) *Tracker
		add   func(tr *Tracker, i int) error
		count func(tr *Tracker) int
	}{
		{"notes", MaxNotes, handling, func(tr *Tracker, i int) error {
			return tr.AddNote(caller("tax", false), "note "+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Second))
		}, func(tr *Tracker) int { return len(tr.Notes) }},
		{"follow-ups", MaxFollowUps, replied, func(tr *Tracker, i int) error {
			_, err := tr.RecordFollowUp(office(), true, "", t0.Add(2*time.Hour+time.Duration(i)*time.Second))
			return err
		}, func(tr *Tracker) int { return len(tr.FollowUps) }},
		{"pauses of one clock", MaxPausesPerClock, handling, func(tr *Tracker, i int) error {
			at := cst(3, 3, 9, 0).Add(time.Duration(i) * time.Minute)
			if _, err := tr.PauseClock(caller("tax", false), "等待材料", at); err != nil {
				return err
			}
			_, err := tr.ResumeClock(caller("tax", false), weekdays, at.Add(30*time.Second))
			return err
		}, func(tr *Tracker) int { k, _ := tr.RunningClock(); return len(k.Pauses) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := tt.setup(t)
			for i := range tt.limit {
				if err := tt.add(tr, i); err != nil {
					t.Fatalf("addition %d of %d: %v", i+1, tt.limit, err)
				}
			}
			v := tr.Version
			err := tt.add(tr, tt.limit)
			wantRefused(t, err, ReasonLimitReached, fmt.Sprint(tt.limit))
			if got := tt.count(tr); got != tt.limit || tr.Version != v {
				t.Errorf("after the refusal: %d entries (version %d), want %d (version %d)", got, tr.Version, tt.limit, v)
			}
		})
	}
}
