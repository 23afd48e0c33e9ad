package tracker

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
)

func TestNext(t *testing.T) {
	tests := []struct {
		from    State
		action  Action
		want    State
		wantErr bool
	}{
		{Unspecified, ActRegister, Registered, false},
		{Registered, ActRouteSelf, Handling, false},
		{Registered, ActRouteTransfer, Transferred, false},
		{Registered, ActRouteOffice, AtOffice, false},
		{Transferred, ActReceive, Handling, false},
		{Transferred, ActReturn, Registered, false},
		{Transferred, ActReturnToOffice, AtOffice, false},
		{Handling, ActEscalate, AtOffice, false},
		{Handling, ActReply, Replied, false},
		{AtOffice, ActTriageGeneral, JointHandling, false},
		{AtOffice, ActTriageMajor, AwaitingApproval, false},
		{AwaitingApproval, ActApprove, AtPlatform, false},
		{AwaitingApproval, ActDecline, AtOffice, false},
		{AtPlatform, ActPlatformOutcome, Replied, false},
		{JointHandling, ActDecide, Replied, false},
		{Replied, ActObject, Closed, false},
		{Replied, ActObjectionEnds, Closed, false},
		{Replied, ActRedo, Handling, false},
		{Replied, ActClose, Closed, false},
		{Handling, ActClose, Handling, true},
		{Closed, ActRedo, Closed, true},
		{Closed, ActArchive, Archived, false},
		{Handling, ActWithdraw, Closed, false},
		{Replied, ActWithdraw, Closed, false},
		{AtPlatform, ActWithdraw, Closed, false},
		{Closed, ActWithdraw, Closed, true},
		{Archived, ActWithdraw, Archived, true},
		{Registered, ActReceive, Registered, true},
		{Handling, ActRouteTransfer, Handling, true},
		{Transferred, ActRouteSelf, Transferred, true},
		{Registered, ActRegister, Registered, true},
		{AtOffice, ActReply, AtOffice, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.from, tt.action), func(t *testing.T) {
			got, err := Next(tt.from, tt.action)
			if tt.wantErr {
				if !errors.Is(err, ErrIllegalTransition) {
					t.Fatalf("err = %v, want ErrIllegalTransition", err)
				}
				if !strings.Contains(err.Error(), tt.from.String()) {
					t.Fatalf("err %q does not name the current state %s", err, tt.from)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Next = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// weekdays is the default time limits on a calendar of weekends only.
var weekdays = Everywhere(DefaultRules(clock.Weekends()))

func opened(t *testing.T) *Tracker {
	t.Helper()
	tr, err := Open(Registration{
		Name: "regions/141181/disputes/2026-17", RegisteringDepartment: "tax", FirstReceiver: "li",
		RegisterTime: t0, Actor: Actor{Department: "tax", Staff: "li"}, EventID: "ev1",
	}, weekdays)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func caller(dept string, regionWide bool) Caller {
	return Caller{Actor: Actor{Region: "141181", Department: dept, Staff: dept + "_staff"}, RegionWide: regionWide}
}

func TestOpen(t *testing.T) {
	tr := opened(t)
	want := &Tracker{
		Name: "regions/141181/disputes/2026-17", Region: "141181", Number: "2026年第17号", State: Registered,
		Holder: "tax", RegisteringDepartment: "tax", FirstReceiver: "li",
		Clocks: []Clock{{Stage: StageRouting, Department: "tax", Start: t0, Limit: Limit{Days: 15},
			Due: time.Date(2026, 3, 17, 23, 59, 59, 0, clock.China), WarnAt: time.Date(2026, 3, 16, 0, 0, 0, 0, clock.China)}},
		History: []Transition{{From: Unspecified, To: Registered, Actor: Actor{Department: "tax", Staff: "li"}, Time: t0, Reason: "registered", EventID: "ev1"}},
		Version: 1,
	}
	if diff := cmp.Diff(want, tr); diff != "" {
		t.Fatalf("Open (-want +got):\n%s", diff)
	}
	// Mon 2 Mar to Tue 17 Mar: 11 working days.
	if got := tr.Clocks[0].RemainingDays(weekdays.Rules("141181"), t0.Add(time.Hour)); got != 11 {
		t.Errorf("remaining after an hour = %d, want 11", got)
	}
	if got := tr.Clocks[0].RemainingDays(weekdays.Rules("141181"), t0.AddDate(0, 0, 16)); got != -1 {
		t.Errorf("remaining a day after due = %d, want -1", got)
	}
}

func TestCanView(t *testing.T) {
	tr := opened(t)
	tr.Holder, tr.PastHolders = "hrss", []string{"tax", "justice"}
	tests := []struct {
		name string
		c    Caller
		want bool
	}{
		{"registering", caller("tax", false), true},
		{"holder", caller("hrss", false), true},
		{"past holder", caller("justice", false), true},
		{"other", caller("finance", false), false},
		{"office", caller("finance", true), true},
		{"office of another region", Caller{Actor: Actor{Region: "110105", Department: "tax"}, RegionWide: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tr.CanView(tt.c); got != tt.want {
				t.Fatalf("CanView = %v, want %v", got, tt.want)
			}
		})
	}
}

func units(ids ...string) func(string) bool {
	return func(id string) bool {
		for _, u := range ids {
			if u == id {
				return true
			}
		}
		return false
	}
}

func slips() func() (string, string, error) {
	n := 0
	return func() (string, string, error) {
		n++
		return fmt.Sprintf("regions/141181/transfer-slips/2026-%d", n), fmt.Sprintf("2026年第%d号", n), nil
	}
}

func TestRoute(t *testing.T) {
	t1 := t0.Add(time.Hour)
	base := Route{Opinion: "op", OfficeHost: "tax", IsUnit: units("tax", "hrss", "justice"), NextSlip: slips()}
	tests := []struct {
		name       string
		setup      func(*Tracker)
		c          Caller
		kind       RouteKind
		target     string
		wantState  State
		wantHolder string
		wantStage  Stage
		wantErr    error
	}{
		{name: "self", c: caller("tax", false), kind: RouteSelf, wantState: Handling, wantHolder: "tax", wantStage: StageHandling},
		{name: "transfer", c: caller("tax", false), kind: RouteTransfer, target: "hrss", wantState: Transferred, wantHolder: "hrss", wantStage: StageTransferReceipt},
		{name: "office", setup: func(tr *Tracker) { tr.Holder, tr.RegisteringDepartment = "hrss", "hrss" }, c: caller("hrss", false), kind: RouteOffice, wantState: AtOffice, wantHolder: "tax", wantStage: StageTransferReceipt},
		{name: "escalate from handling", setup: func(tr *Tracker) { tr.State, tr.Holder = Handling, "hrss" }, c: caller("hrss", false), kind: RouteOffice, wantState: AtOffice, wantHolder: "tax", wantStage: StageTransferReceipt},
		{name: "transfer while handling", setup: func(tr *Tracker) { tr.State = Handling }, c: caller("tax", false), kind: RouteTransfer, target: "hrss", wantErr: ErrIllegalTransition},
		{name: "route when transferred", setup: func(tr *Tracker) { tr.State = Transferred }, c: caller("tax", false), kind: RouteSelf, wantErr: ErrIllegalTransition},
		{name: "other department", c: caller("finance", false), kind: RouteSelf, wantErr: ErrPermissionDenied},
		{name: "office may see but not route", c: caller("justice", true), kind: RouteSelf, wantErr: ErrPermissionDenied},
		{name: "transfer to self", c: caller("tax", false), kind: RouteTransfer, target: "tax", wantErr: &ValidationError{}},
		{name: "transfer to non-member", c: caller("tax", false), kind: RouteTransfer, target: "police", wantErr: &ValidationError{}},
		{name: "transfer without target", c: caller("tax", false), kind: RouteTransfer, wantErr: &ValidationError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := opened(t)
			if tt.setup != nil {
				tt.setup(tr)
			}
			r := base
			r.Kind, r.Target = tt.kind, tt.target
			before := tr.State
			slip, err := tr.Route(tt.c, r, weekdays, t1)
			if tt.wantErr != nil {
				var ve *ValidationError
				if _, isVE := tt.wantErr.(*ValidationError); isVE {
					if !errors.As(err, &ve) {
						t.Fatalf("err = %v, want *ValidationError", err)
					}
				} else if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if errors.Is(err, ErrIllegalTransition) && !strings.Contains(err.Error(), before.String()) {
					t.Errorf("err %q does not name state %s", err, before)
				}
				if tr.State != before || tr.Version != 1 {
					t.Errorf("tracker changed on error: state %v version %d", tr.State, tr.Version)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.State != tt.wantState || tr.Holder != tt.wantHolder || tr.Version != 2 {
				t.Fatalf("state %v holder %s version %d, want %v %s 2", tr.State, tr.Holder, tr.Version, tt.wantState, tt.wantHolder)
			}
			last := tr.History[len(tr.History)-1]
			if last.From != before || last.To != tt.wantState || last.Actor.Department != tt.c.Department {
				t.Errorf("last transition = %+v", last)
			}
			c, running := tr.RunningClock()
			if tt.wantStage == 0 {
				if running {
					t.Errorf("clock %v running, want none", c.Stage)
				}
			} else if !running || c.Stage != tt.wantStage || !c.Start.Equal(t1) {
				t.Errorf("running clock = %+v, want stage %v from %v", c, tt.wantStage, t1)
			}
			if (slip != nil) != (tt.kind == RouteTransfer || tt.kind == RouteOffice) {
				t.Fatalf("slip = %+v for kind %v", slip, tt.kind)
			}
			if tt.kind == RouteTransfer && (slip.Number != "2026年第1号" || slip.ReceivingDepartment != tt.target || slip.RegisteringDepartment != "tax") {
				t.Errorf("slip = %+v", slip)
			}
			if tt.kind == RouteOffice && (slip.ReceivingDepartment != "tax" || slip.RegisteringDepartment != tt.c.Department || !tr.OfficeReceiptPending) {
				t.Errorf("office slip = %+v, receipt pending %v", slip, tr.OfficeReceiptPending)
			}
		})
	}
}

func TestTransferReceiveReturn(t *testing.T) {
	cal := weekdays
	r := Route{Kind: RouteTransfer, Target: "hrss", Opinion: "theirs", OfficeHost: "tax", IsUnit: units("tax", "hrss"), NextSlip: slips()}
	transferred := func(t *testing.T) *Tracker {
		tr := opened(t)
		if _, err := tr.Route(caller("tax", false), r, cal, t0); err != nil {
			t.Fatal(err)
		}
		return tr
	}

	t.Run("receive", func(t *testing.T) {
		tr := transferred(t)
		if _, err := tr.Receive(caller("tax", false), cal, t0); !errors.Is(err, ErrPermissionDenied) {
			t.Fatalf("receive by sender: err = %v, want permission denied", err)
		}
		s, err := tr.Receive(caller("hrss", false), cal, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if tr.State != Handling || tr.Holder != "hrss" || s.Receiver != "hrss_staff" || !s.ReceiveTime.Equal(t0.Add(time.Hour)) {
			t.Fatalf("after receive: state %v holder %s slip %+v", tr.State, tr.Holder, s)
		}
		if _, err := tr.Receive(caller("hrss", false), cal, t0); !errors.Is(err, ErrIllegalTransition) || !strings.Contains(err.Error(), "HANDLING") {
			t.Fatalf("second receive: err = %v, want illegal naming HANDLING", err)
		}
	})

	t.Run("return twice goes to office", func(t *testing.T) {
		tr := transferred(t)
		if _, _, err := tr.Return(caller("hrss", false), "", "tax", r.NextSlip, cal, t0); err == nil {
			t.Fatal("return without reason succeeded")
		}
		s, toOffice, err := tr.Return(caller("hrss", false), "not ours", "tax", r.NextSlip, cal, t0)
		if err != nil || toOffice {
			t.Fatalf("first return: %v, toOffice %v", err, toOffice)
		}
		if tr.State != Registered || tr.Holder != "tax" || tr.ReturnCount != 1 || s.ReturnReason != "not ours" {
			t.Fatalf("after return: state %v holder %s count %d", tr.State, tr.Holder, tr.ReturnCount)
		}
		if c, ok := tr.RunningClock(); !ok || c.Stage != StageRouting {
			t.Fatalf("running clock after return = %+v", c)
		}
		if _, err := tr.Route(caller("tax", false), r, cal, t0); err != nil {
			t.Fatal(err)
		}
		_, toOffice, err = tr.Return(caller("hrss", false), "still not ours", "tax", r.NextSlip, cal, t0)
		if err != nil || !toOffice {
			t.Fatalf("second return: %v, toOffice %v", err, toOffice)
		}
		// The returned slip and the office's slip to sign.
		if tr.State != AtOffice || tr.Holder != "tax" || tr.ReturnCount != 2 || len(tr.Slips) != 3 || !tr.OfficeReceiptPending {
			t.Fatalf("after second return: state %v holder %s count %d slips %d", tr.State, tr.Holder, tr.ReturnCount, len(tr.Slips))
		}
	})
}

func TestWithdraw(t *testing.T) {
	tr := opened(t)
	if err := tr.Withdraw(Actor{Department: "tax"}, "settled", "ev2", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if tr.State != Closed {
		t.Fatalf("state = %v", tr.State)
	}
	if _, running := tr.RunningClock(); running {
		t.Fatal("clock still running after withdrawal")
	}
	if last := tr.History[len(tr.History)-1]; last.Reason != "settled" || last.EventID != "ev2" || last.From != Registered {
		t.Fatalf("last transition = %+v", last)
	}
	if err := tr.Withdraw(Actor{}, "again", "ev3", t0); !errors.Is(err, ErrAlreadyClosed) {
		t.Fatalf("second withdraw: err = %v", err)
	}
}

func TestCheckEtag(t *testing.T) {
	tr := opened(t)
	for _, tt := range []struct {
		etag string
		ok   bool
	}{{"", true}, {"1", true}, {"2", false}} {
		t.Run(tt.etag, func(t *testing.T) {
			if err := tr.CheckEtag(tt.etag); (err == nil) != tt.ok {
				t.Fatalf("CheckEtag(%q) = %v", tt.etag, err)
			}
		})
	}
}
