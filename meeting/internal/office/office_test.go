package office

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

const (
	atOffice  = typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE
	joint     = typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING
	awaiting  = typesv1.DisputeState_DISPUTE_STATE_AWAITING_APPROVAL
	platform  = typesv1.DisputeState_DISPUTE_STATE_AT_PLATFORM
	replied   = typesv1.DisputeState_DISPUTE_STATE_REPLIED
	handling  = typesv1.DisputeState_DISPUTE_STATE_HANDLING
	closed    = typesv1.DisputeState_DISPUTE_STATE_CLOSED
	dispute   = "regions/141181/disputes/2026-7"
	other     = "regions/141181/disputes/2026-8"
	wantState = "names the state"
)

func matter(s typesv1.DisputeState, c Class) *Matter {
	return &Matter{Name: dispute, Number: "2026年第7号", State: s, Class: c}
}

// check asserts err is nil or a refusal of the given kind whose message contains text.
func check(t *testing.T, err, kind error, text string) {
	t.Helper()
	if kind == nil {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want %v", err, kind)
	}
	if !strings.Contains(err.Error(), text) {
		t.Errorf("error %q does not mention %q", err, text)
	}
}

func TestTriage(t *testing.T) {
	var invalid *ValidationError
	for _, tc := range []struct {
		name      string
		state     typesv1.DisputeState
		class     Class
		wantErr   error
		text      string
		wantState typesv1.DisputeState
	}{
		{"general at office", atOffice, ClassGeneral, nil, "", joint},
		{"major at office", atOffice, ClassMajor, nil, "", awaiting},
		{"already triaged", joint, ClassMajor, ErrPrecondition, "DISPUTE_STATE_JOINT_HANDLING", joint},
		{"in handling", handling, ClassGeneral, ErrPrecondition, "DISPUTE_STATE_HANDLING", handling},
		{"closed", closed, ClassGeneral, ErrPrecondition, "DISPUTE_STATE_CLOSED", closed},
		{"no class", atOffice, ClassNone, nil, "", atOffice},
		{"slip not signed", atOffice, ClassGeneral, ErrPrecondition, "not signed its transfer slip", atOffice},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := matter(tc.state, ClassNone)
			m.AwaitingReceipt = tc.name == "slip not signed"
			err := m.Triage(tc.class)
			if tc.class == ClassNone {
				if !errors.As(err, &invalid) || invalid.Violations[0].Field != "class" {
					t.Fatalf("error %v, want a violation of class", err)
				}
				return
			}
			check(t, err, tc.wantErr, tc.text)
			if m.State != tc.wantState {
				t.Errorf("state %v, want %v", m.State, tc.wantState)
			}
		})
	}
}

func TestValidateMeeting(t *testing.T) {
	roster := func(u string) bool { return u == "tax" || u == "hrss" || u == "finance" }
	for _, tc := range []struct {
		name   string
		mt     Meeting
		fields []string
	}{
		{"good", Meeting{Disputes: []string{dispute}, InvitedUnits: []string{"tax", "hrss"}}, nil},
		{"one unit", Meeting{Disputes: []string{dispute}, InvitedUnits: []string{"tax"}}, []string{"meeting.invited_units"}},
		{"same unit twice", Meeting{Disputes: []string{dispute}, InvitedUnits: []string{"tax", "tax"}},
			[]string{"meeting.invited_units[1]", "meeting.invited_units"}},
		{"unknown unit", Meeting{Disputes: []string{dispute}, InvitedUnits: []string{"tax", "market"}},
			[]string{"meeting.invited_units[1]", "meeting.invited_units"}},
		{"dispute twice, none invited", Meeting{Disputes: []string{dispute, dispute}},
			[]string{"meeting.disputes[1]", "meeting.invited_units"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateMeeting(&tc.mt, roster, "meeting")
			var got []string
			var ve *ValidationError
			if errors.As(err, &ve) {
				for _, v := range ve.Violations {
					got = append(got, v.Field)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.fields, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConvene(t *testing.T) {
	for _, tc := range []struct {
		name    string
		m       *Matter
		wantErr error
		text    string
	}{
		{"general in joint handling", matter(joint, ClassGeneral), nil, ""},
		{"major", matter(awaiting, ClassMajor), ErrPrecondition, "DISPUTE_STATE_AWAITING_APPROVAL"},
		{"untriaged", matter(atOffice, ClassNone), ErrPrecondition, "DISPUTE_STATE_AT_OFFICE"},
		{"decided", matter(replied, ClassGeneral), ErrPrecondition, "DISPUTE_STATE_REPLIED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mt := &Meeting{ID: "M1", Disputes: []string{dispute}}
			err := Convene(mt, []*Matter{tc.m})
			check(t, err, tc.wantErr, tc.text)
			if wantMeetings := tc.wantErr == nil; (len(tc.m.Meetings) == 1) != wantMeetings {
				t.Errorf("meetings %v", tc.m.Meetings)
			}
		})
	}
}

func TestOpinionsAndDecision(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	op := func(unit, text string) Opinion {
		return Opinion{Dispute: dispute, Unit: unit, Text: text, Staff: "li", Time: now}
	}
	for _, tc := range []struct {
		name     string
		state    typesv1.DisputeState
		opinions []Opinion
		submit   *Opinion
		subErr   error
		subText  string
		decErr   error
		decText  string
	}{
		{name: "both units", state: joint, opinions: []Opinion{op("tax", "a")}, submit: &Opinion{Dispute: dispute, Unit: "hrss", Text: "b"}},
		{name: "one missing", state: joint, opinions: []Opinion{op("tax", "a")}, decErr: ErrPrecondition, decText: "hrss"},
		{name: "none in", state: joint, decErr: ErrPrecondition, decText: "tax, hrss"},
		{name: "resubmission replaces", state: joint, opinions: []Opinion{op("tax", "a"), op("hrss", "b")},
			submit: &Opinion{Dispute: dispute, Unit: "hrss", Text: "c"}},
		{name: "not invited", state: joint, submit: &Opinion{Dispute: dispute, Unit: "finance", Text: "x"},
			subErr: ErrDenied, subText: "finance", decErr: ErrPrecondition, decText: "tax, hrss"},
		{name: "not on the agenda", state: joint, submit: &Opinion{Dispute: other, Unit: "tax", Text: "x"},
			subErr: &ValidationError{}, subText: "agenda", decErr: ErrPrecondition, decText: "tax, hrss"},
		{name: "after the decision", state: replied, opinions: []Opinion{op("tax", "a"), op("hrss", "b")},
			submit: &Opinion{Dispute: dispute, Unit: "tax", Text: "x"}, subErr: ErrPrecondition, subText: "DISPUTE_STATE_REPLIED",
			decErr: ErrPrecondition, decText: "DISPUTE_STATE_REPLIED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mt := &Meeting{ID: "M1", Disputes: []string{dispute}, InvitedUnits: []string{"tax", "hrss"}, Opinions: tc.opinions}
			m := matter(tc.state, ClassGeneral)
			m.Meetings = []string{"M1"}
			if tc.submit != nil {
				err := SubmitOpinion(mt, m, *tc.submit)
				if ve, ok := tc.subErr.(*ValidationError); ok {
					if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.subText) {
						t.Fatalf("submit: %v, want a validation error about %s", err, tc.subText)
					}
				} else {
					check(t, err, tc.subErr, tc.subText)
				}
				if tc.subErr == nil {
					n := 0
					for _, o := range mt.Opinions {
						if o.Unit == tc.submit.Unit {
							n++
							if o.Text != tc.submit.Text {
								t.Errorf("opinion of %s is %q, want %q", o.Unit, o.Text, tc.submit.Text)
							}
						}
					}
					if n != 1 {
						t.Errorf("%d opinions of %s, want 1", n, tc.submit.Unit)
					}
				}
			}
			err := Decide(m, []*Meeting{mt})
			check(t, err, tc.decErr, tc.decText)
			if tc.decErr == nil && m.State != replied {
				t.Errorf("state after decision %v", m.State)
			}
		})
	}
	t.Run("no meeting", func(t *testing.T) {
		check(t, Decide(matter(joint, ClassGeneral), nil), ErrPrecondition, "no joint meeting")
	})
}

func TestApprovals(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		m         *Matter
		pending   string
		decided   bool
		approve   bool
		reqErr    error
		decErr    error
		text      string
		wantState typesv1.DisputeState
		wantClass Class
	}{
		{name: "approved", m: matter(awaiting, ClassMajor), approve: true, wantState: platform, wantClass: ClassMajor},
		{name: "declined", m: matter(awaiting, ClassMajor), wantState: atOffice, wantClass: ClassNone},
		{name: "general matter", m: matter(joint, ClassGeneral), reqErr: ErrPrecondition, text: "DISPUTE_STATE_JOINT_HANDLING"},
		{name: "pending already", m: matter(awaiting, ClassMajor), pending: "A0", reqErr: ErrPrecondition, text: "A0"},
		{name: "decided twice", m: matter(awaiting, ClassMajor), decided: true, decErr: ErrPrecondition, text: "already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.m.PendingApproval = tc.pending
			a := &Approval{ID: "A1", Dispute: dispute, RequestTime: now}
			err := RequestApproval(tc.m, a)
			check(t, err, tc.reqErr, tc.text)
			if tc.reqErr != nil {
				return
			}
			a.Decided = tc.decided
			err = DecideApproval(tc.m, a, tc.approve, "同意", now)
			check(t, err, tc.decErr, tc.text)
			if tc.decErr != nil {
				return
			}
			if tc.m.State != tc.wantState || tc.m.Class != tc.wantClass || tc.m.PendingApproval != "" {
				t.Errorf("matter after decision %+v", tc.m)
			}
			if !a.Decided || a.Approved != tc.approve || !a.DecideTime.Equal(now) {
				t.Errorf("approval %+v", a)
			}
		})
	}
}

func TestPlatformOutcome(t *testing.T) {
	for _, tc := range []struct {
		state   typesv1.DisputeState
		wantErr error
	}{
		{platform, nil},
		{awaiting, ErrPrecondition},
		{replied, ErrPrecondition},
	} {
		t.Run(tc.state.String(), func(t *testing.T) {
			m := matter(tc.state, ClassMajor)
			check(t, PlatformOutcome(m), tc.wantErr, tc.state.String())
		})
	}
}

func TestObserveBackAtOfficeStartsAfresh(t *testing.T) {
	m := matter(replied, ClassGeneral)
	m.Meetings = []string{"M1"}
	m.Observe(handling)
	m.Observe(atOffice)
	if m.Class != ClassNone || m.Meetings != nil || m.State != atOffice {
		t.Errorf("after coming back to the office: %+v", m)
	}
	check(t, m.Triage(ClassMajor), nil, "")
}
