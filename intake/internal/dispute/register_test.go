package dispute

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

var testRoster = &Roster{
	Units: []Unit{
		{ID: "gov_office"},
		{ID: "tax", IntakePoint: true, DefaultCategories: []typesv1.Category{typesv1.Category_CATEGORY_LATE_FEE}},
		{ID: "hrss", IntakePoint: true, DefaultCategories: []typesv1.Category{typesv1.Category_CATEGORY_BENEFITS}},
	},
	Jurisdictions:  []string{"141181001"},
	OfficeHostUnit: "tax",
}

func validForm() Form {
	return Form{
		Claimant:              Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL, Phone: "13812345678", IDNumber: validID},
		Category:              typesv1.Category_CATEGORY_BENEFITS,
		Channel:               typesv1.Channel_CHANNEL_WINDOW,
		RegisteringDepartment: "tax",
	}
}

func TestCheckRegistration(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, Shanghai)
	clerk := Caller{Region: "141181", Department: "tax", Roles: []string{RoleClerk}}
	for _, tc := range []struct {
		name     string
		edit     func(*Form)
		proposed string
		fields   []string // violated fields, in order
		denied   bool
	}{
		{name: "valid, default department by category", edit: func(*Form) {}, proposed: "hrss"},
		{name: "default falls back to office host", edit: func(f *Form) { f.Category = typesv1.Category_CATEGORY_OTHER }, proposed: "tax"},
		{name: "explicit proposed", edit: func(f *Form) { f.ProposedDepartment = "gov_office" }, proposed: "gov_office"},
		{name: "employer with credit code", edit: func(f *Form) {
			f.Claimant = Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER, Phone: "0358-7654321", CreditCode: validCredit}
		}, proposed: "hrss"},
		{name: "hotline with ref", edit: func(f *Form) {
			f.Channel, f.ExternalRef = typesv1.Channel_CHANNEL_HOTLINE_12345, "WO-1"
		}, proposed: "hrss"},
		{name: "bad phone", edit: func(f *Form) { f.Claimant.Phone = "12345" }, fields: []string{"dispute.claimant.phone"}},
		{name: "bad id", edit: func(f *Form) { f.Claimant.IDNumber = "110105194912310021" }, fields: []string{"dispute.claimant.id_number"}},
		{name: "employer with id", edit: func(f *Form) { f.Claimant.Kind = typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER }, fields: []string{"dispute.claimant.id_number"}},
		{name: "individual with credit code", edit: func(f *Form) { f.Claimant.CreditCode = validCredit }, fields: []string{"dispute.claimant.credit_code"}},
		{name: "bad credit code", edit: func(f *Form) {
			f.Claimant = Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER, Phone: "13812345678", CreditCode: "91350100M000100Y44"}
		}, fields: []string{"dispute.claimant.credit_code"}},
		{name: "bad employer credit code", edit: func(f *Form) { f.EmployerCreditCode = "X" }, fields: []string{"dispute.employer_credit_code"}},
		{name: "visit this morning", edit: func(f *Form) { f.VisitTime = now.Add(-3 * time.Hour) }, proposed: "hrss"},
		{name: "visit in the future", edit: func(f *Form) { f.VisitTime = now.Add(time.Hour) }, fields: []string{"dispute.visit_time"}},
		{name: "visit two years ago", edit: func(f *Form) { f.VisitTime = now.AddDate(-2, 0, 0) }, fields: []string{"dispute.visit_time"}},
		{name: "unknown registering department", edit: func(f *Form) { f.RegisteringDepartment = "police" }, fields: []string{"dispute.registering_department"}},
		{name: "registering department not an intake point", edit: func(f *Form) { f.RegisteringDepartment = "gov_office" }, fields: []string{"dispute.registering_department"}},
		{name: "another intake point", edit: func(f *Form) { f.RegisteringDepartment = "hrss" }, denied: true},
		{name: "unknown proposed", edit: func(f *Form) { f.ProposedDepartment = "police" }, fields: []string{"dispute.proposed_department"}},
		{name: "unknown jurisdiction", edit: func(f *Form) { f.Jurisdiction = "141181999" }, fields: []string{"dispute.jurisdiction"}},
		{name: "hotline without ref", edit: func(f *Form) { f.Channel = typesv1.Channel_CHANNEL_HOTLINE_12345 }, fields: []string{"dispute.external_ref"}},
		{name: "all at once", edit: func(f *Form) {
			f.Claimant.Phone, f.Claimant.IDNumber = "1", "1"
			f.ProposedDepartment, f.Jurisdiction = "x", "1"
			f.Channel = typesv1.Channel_CHANNEL_HOTLINE_12345
		}, fields: []string{"dispute.claimant.phone", "dispute.claimant.id_number", "dispute.proposed_department", "dispute.jurisdiction", "dispute.external_ref"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := validForm()
			tc.edit(&f)
			reg, err := CheckRegistration(f, testRoster, clerk, now)
			var ve *ValidationError
			var de *DeniedError
			switch {
			case tc.denied:
				if !errors.As(err, &de) || de.Reason != ReasonDepartmentMismatch {
					t.Fatalf("err = %v, want DeniedError %s", err, ReasonDepartmentMismatch)
				}
			case tc.fields != nil:
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want ValidationError", err)
				}
				var got []string
				for _, v := range ve.Violations {
					got = append(got, v.Field)
				}
				if d := cmp.Diff(tc.fields, got); d != "" {
					t.Errorf("violated fields (-want +got):\n%s", d)
				}
			default:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if reg.ProposedDepartment != tc.proposed {
					t.Errorf("proposed = %q, want %q", reg.ProposedDepartment, tc.proposed)
				}
			}
		})
	}
}

func TestAccess(t *testing.T) {
	a := Access{Region: "141181", RegisteringDepartment: "tax"}
	for _, tc := range []struct {
		name              string
		c                 Caller
		view, canWithdraw bool
	}{
		{"registering clerk", Caller{"141181", "tax", []string{RoleClerk}}, true, true},
		{"registering handler", Caller{"141181", "tax", []string{RoleHandler}}, true, true},
		{"office", Caller{"141181", "tax", []string{RoleOffice}}, true, true},
		{"convenor", Caller{"141181", "gov_office", []string{RoleConvenor}}, true, false},
		{"other department", Caller{"141181", "hrss", []string{RoleClerk}}, false, false},
		{"other region office", Caller{"141182", "tax", []string{RoleOffice}}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CanView(tc.c, a); got != tc.view {
				t.Errorf("CanView = %v, want %v", got, tc.view)
			}
			err := CheckWithdraw(tc.c, a, time.Time{})
			if (err == nil) != tc.canWithdraw {
				t.Errorf("CheckWithdraw = %v, want allowed=%v", err, tc.canWithdraw)
			}
		})
	}
	var se *StateError
	if err := CheckWithdraw(Caller{"141181", "tax", []string{RoleClerk}}, a, time.Now()); !errors.As(err, &se) {
		t.Errorf("second withdrawal: err = %v, want StateError", err)
	}
}
