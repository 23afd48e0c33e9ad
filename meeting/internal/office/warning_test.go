package office

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	w := &MassWarning{ID: "W", AddressedTo: []string{"petition", "tax"}, Disputes: []string{"regions/141181/disputes/2026-1"}}
	if _, err := Acknowledge(w, "tax", Acknowledgement{Unit: "tax", Staff: "zhou", Time: now, RequestID: "a"}); !errors.Is(err, ErrDenied) {
		t.Errorf("the host acknowledging the bureau's warning: %v, want denied", err)
	}
	first := Acknowledgement{Unit: "petition", Staff: "li", Time: now, Note: "提前介入", RequestID: "r1"}
	if changed, err := Acknowledge(w, "tax", first); err != nil || !changed {
		t.Fatalf("acknowledge: %v, %v", changed, err)
	}
	first.Disputes = w.Disputes
	retry := first
	retry.Time, retry.Note = now.Add(time.Minute), "again"
	if changed, err := Acknowledge(w, "tax", retry); err != nil || changed || !cmp.Equal(*w.Ack, first) {
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

func dn(n int) string { return fmt.Sprintf("regions/141181/disputes/2026-%d", n) }

// TestRaiseWarningInAnyOrder applies one employer's warning events (the
// raise listing 1-3, then 4, 5 and 10) in every order: the record is the
// same, the raising registration and employer the earliest event's, the
// count the latest's, and a redelivered event changes nothing.
func TestRaiseWarningInAnyOrder(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	raises := []Raise{
		{Event: "E1", Warning: "E1", Dispute: dn(3), Disputes: []string{dn(1), dn(2), dn(3)}, Trigger: "same_employer",
			EmployerCount: 3, EmployerName: "示例煤业", CreditCode: "91350100M000100Y43", AddressedTo: []string{"petition", "tax"}, Time: t0},
		{Event: "E2", Warning: "E1", Dispute: dn(4), Disputes: []string{dn(4)}, Trigger: "same_employer", EmployerCount: 4,
			EmployerName: "示例煤业有限公司", AddressedTo: []string{"petition", "tax"}, Time: t0.Add(time.Hour)},
		{Event: "E3", Warning: "E1", Dispute: dn(5), Disputes: []string{dn(5)}, Trigger: "same_employer", EmployerCount: 5,
			AddressedTo: []string{"petition", "justice", "tax"}, Time: t0.Add(2 * time.Hour)},
		{Event: "E4", Warning: "E1", Dispute: dn(10), Disputes: []string{dn(10)}, Trigger: "same_employer", EmployerCount: 4,
			AddressedTo: []string{"petition", "tax"}, Time: t0.Add(3 * time.Hour)},
	}
	want := &MassWarning{ID: "E1", Dispute: dn(3), Disputes: []string{dn(1), dn(2), dn(3), dn(4), dn(5), dn(10)},
		Trigger: "same_employer", EmployerCount: 4, EmployerName: "示例煤业", EmployerCreditCode: "91350100M000100Y43",
		RaisedAt: t0, LastRaisedAt: t0.Add(3 * time.Hour), LastEvent: "E4"}
	var permute func(rest []Raise, done []Raise)
	permute = func(rest []Raise, done []Raise) {
		if len(rest) == 0 {
			var w *MassWarning
			for _, r := range append(done, done[0]) {
				w = RaiseWarning(w, r)
			}
			units := w.AddressedTo
			slices.Sort(units)
			if d := cmp.Diff([]string{"justice", "petition", "tax"}, units); d != "" {
				t.Errorf("order %v: units (-want +got):\n%s", order(done), d)
			}
			w.AddressedTo = nil
			if d := cmp.Diff(want, w); d != "" {
				t.Errorf("order %v (-want +got):\n%s", order(done), d)
			}
			return
		}
		for i := range rest {
			next := append(slices.Clone(rest[:i]), rest[i+1:]...)
			permute(next, append(slices.Clone(done), rest[i]))
		}
	}
	permute(raises, nil)
}

func order(rs []Raise) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Event)
	}
	return out
}

// TestDisputesAfterAcknowledgement: a dispute added after the petition
// bureau acknowledged puts the warning back to pending, showing the new
// dispute; acknowledging again covers the warning as it then stands and
// keeps the first acknowledgement.
func TestDisputesAfterAcknowledgement(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	w := RaiseWarning(nil, Raise{Event: "E1", Warning: "E1", Dispute: dn(3), Disputes: []string{dn(1), dn(2), dn(3)},
		AddressedTo: []string{"petition", "tax"}, Time: t0})
	if !w.Pending() {
		t.Fatal("a new warning is not pending")
	}
	first := Acknowledgement{Unit: "petition", Staff: "li", Time: t0.Add(time.Hour), RequestID: "a1"}
	if _, err := Acknowledge(w, "tax", first); err != nil {
		t.Fatal(err)
	}
	if w.Pending() || len(w.SinceAcknowledged()) != 0 {
		t.Fatalf("acknowledged warning: pending %v, since %v", w.Pending(), w.SinceAcknowledged())
	}
	w = RaiseWarning(w, Raise{Event: "E2", Warning: "E1", Dispute: dn(4), Disputes: []string{dn(4)}, Time: t0.Add(2 * time.Hour)})
	if !w.Pending() {
		t.Error("a dispute added after the acknowledgement left the warning acknowledged")
	}
	if d := cmp.Diff([]string{dn(4)}, w.SinceAcknowledged()); d != "" {
		t.Errorf("since the acknowledgement (-want +got):\n%s", d)
	}
	if changed, err := Acknowledge(w, "tax", first); err != nil || changed {
		t.Errorf("retry of the first acknowledgement: changed %v, err %v; want nothing changed", changed, err)
	}
	second := Acknowledgement{Unit: "petition", Staff: "wu", Time: t0.Add(3 * time.Hour), RequestID: "a2"}
	if changed, err := Acknowledge(w, "tax", second); err != nil || !changed {
		t.Fatalf("second acknowledgement: %v, %v", changed, err)
	}
	if w.Pending() || w.Ack.Staff != "wu" || len(w.Earlier) != 1 || w.Earlier[0].Staff != "li" {
		t.Errorf("after the second acknowledgement: pending %v, ack %+v, earlier %+v", w.Pending(), w.Ack, w.Earlier)
	}
	if d := cmp.Diff([]string{dn(1), dn(2), dn(3), dn(4)}, w.Ack.Disputes); d != "" {
		t.Errorf("second acknowledgement covers (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{dn(1), dn(2), dn(3)}, w.Earlier[0].Disputes); d != "" {
		t.Errorf("first acknowledgement covers (-want +got):\n%s", d)
	}
}

// TestWarningRecordOfEarlierFormat reads a record kept when each event was
// a warning of its own: it names its one dispute, acknowledged whole.
func TestWarningRecordOfEarlierFormat(t *testing.T) {
	var w MassWarning
	raw := `{"id":"E1","dispute":"regions/141181/disputes/2026-3","trigger":"same_employer","addressed_to":["petition","tax"],` +
		`"raised_at":"2026-03-02T09:00:00Z","ack":{"unit":"petition","staff":"li","time":"2026-03-02T10:00:00Z","request_id":"a1"}}`
	if err := json.Unmarshal([]byte(raw), &w); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{dn(3)}, w.Disputes); d != "" {
		t.Errorf("disputes (-want +got):\n%s", d)
	}
	if w.Pending() || !w.LastRaisedAt.Equal(w.RaisedAt) {
		t.Errorf("pending %v, last raised %v; want acknowledged, raised once", w.Pending(), w.LastRaisedAt)
	}
}
