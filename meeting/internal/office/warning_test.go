package office

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAcknowledgers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		addressed []string
		host      string
		want      []string
	}{
		{"petition bureau and host", []string{"petition", "tax"}, "tax", []string{"petition"}},
		{"two bureaus and host", []string{"petition", "justice", "tax"}, "tax", []string{"petition", "justice"}},
		{"the host alone", []string{"tax"}, "tax", []string{"tax"}},
		{"no host in the roster", []string{"petition", "tax"}, "", []string{"petition", "tax"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &MassWarning{ID: "W", AddressedTo: tc.addressed}
			if d := cmp.Diff(tc.want, w.Acknowledgers(tc.host)); d != "" {
				t.Errorf("acknowledgers (-want +got):\n%s", d)
			}
		})
	}
}

func TestAcknowledge(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	w := &MassWarning{ID: "W", AddressedTo: []string{"petition", "tax"}}
	if _, err := Acknowledge(w, "tax", Acknowledgement{Unit: "tax", Staff: "zhou", Time: now, RequestID: "a"}); !errors.Is(err, ErrDenied) {
		t.Errorf("the host acknowledging the bureau's warning: %v, want denied", err)
	}
	first := Acknowledgement{Unit: "petition", Staff: "li", Time: now, Note: "提前介入", RequestID: "r1"}
	if changed, err := Acknowledge(w, "tax", first); err != nil || !changed {
		t.Fatalf("acknowledge: %v, %v", changed, err)
	}
	retry := first
	retry.Time, retry.Note = now.Add(time.Minute), "again"
	if changed, err := Acknowledge(w, "tax", retry); err != nil || changed || *w.Ack != first {
		t.Errorf("retry: changed %v, err %v, ack %v; want the first acknowledgement kept", changed, err, w.Ack)
	}
	var pe *PreconditionError
	if _, err := Acknowledge(w, "tax", Acknowledgement{Unit: "petition", Staff: "wu", Time: now, RequestID: "r2"}); !errors.As(err, &pe) || pe.Reason != ReasonAcknowledged {
		t.Errorf("second acknowledgement: %v, want %s", err, ReasonAcknowledged)
	}
}

func TestMeetingKinds(t *testing.T) {
	unit := func(string) bool { return true }
	for _, tc := range []struct {
		name string
		mt   Meeting
		want []string
	}{
		{"joint handling", Meeting{Disputes: []string{"d"}, InvitedUnits: []string{"a", "b"}}, nil},
		{"joint handling without disputes", Meeting{InvitedUnits: []string{"a", "b"}, Agenda: "x"}, []string{"m.disputes"}},
		{"plenary", Meeting{Kind: KindPlenary, InvitedUnits: []string{"a", "b"}, Agenda: "焦点问题"}, nil},
		{"plenary with a dispute, no agenda", Meeting{Kind: KindPlenary, Disputes: []string{"d"}, InvitedUnits: []string{"a", "b"}}, []string{"m.disputes", "m.agenda"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateMeeting(&tc.mt, unit, "m")
			var got []string
			var ve *ValidationError
			if errors.As(err, &ve) {
				for _, v := range ve.Violations {
					got = append(got, v.Field)
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("violations (-want +got):\n%s", d)
			}
		})
	}
}
