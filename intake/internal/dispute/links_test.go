package dispute

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

func TestDefaultDepartmentRules(t *testing.T) {
	r := *testRoster
	r.CategoryDepartments = map[typesv1.Category]string{
		typesv1.Category_CATEGORY_BENEFITS: "gov_office", // overrides hrss's default category
		typesv1.Category_CATEGORY_OTHER:    "market",     // not on the roster: ignored
	}
	for _, tc := range []struct {
		c    typesv1.Category
		want string
	}{
		{typesv1.Category_CATEGORY_BENEFITS, "gov_office"},
		{typesv1.Category_CATEGORY_LATE_FEE, "tax"},
		{typesv1.Category_CATEGORY_OTHER, "tax"},
	} {
		t.Run(tc.c.String(), func(t *testing.T) {
			if got := r.DefaultDepartment(tc.c); got != tc.want {
				t.Errorf("DefaultDepartment = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIdentifiers(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Claimant
		want []string
	}{
		{"individual", Claimant{Phone: "13812345678", IDNumber: validID}, []string{"phone:13812345678", "id:" + validID}},
		{"landline separators", Claimant{Phone: "0358-7654321"}, []string{"phone:03587654321"}},
		{"employer", Claimant{Phone: "03587654321", CreditCode: validCredit}, []string{"phone:03587654321", "credit:" + validCredit}},
		{"nothing", Claimant{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, Identifiers(tc.c)); d != "" {
				t.Errorf("Identifiers (-want +got):\n%s", d)
			}
		})
	}
}

func TestEmployer(t *testing.T) {
	employer := Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER, Name: " 某公司 ", CreditCode: validCredit}
	person := Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL, Name: "张三"}
	for _, tc := range []struct {
		name string
		f    Form
		want string
	}{
		{"employer credit code", Form{Claimant: person, EmployerCreditCode: validCredit, EmployerName: "某公司"}, "credit:" + validCredit},
		{"employer name", Form{Claimant: person, EmployerName: " 某公司"}, "name:某公司"},
		{"employer claimant's code", Form{Claimant: employer}, "credit:" + validCredit},
		{"employer claimant's name", Form{Claimant: Claimant{Kind: employer.Kind, Name: "某公司"}}, "name:某公司"},
		{"individual without employer", Form{Claimant: person}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Employer(tc.f); got != tc.want {
				t.Errorf("Employer = %q, want %q", got, tc.want)
			}
		})
	}
}

// EmployerOf names the employer a warning is raised against as the form
// gives it: the employer fields first, the employer claimant's own for
// what they leave out.
func TestEmployerOf(t *testing.T) {
	employer := Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER, Name: " 某公司 ", CreditCode: validCredit}
	person := Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL, Name: "张三", CreditCode: validCredit}
	for _, tc := range []struct {
		name       string
		f          Form
		wantName   string
		wantCredit string
	}{
		{"employer fields", Form{Claimant: person, EmployerCreditCode: validCredit, EmployerName: " 某煤业公司"}, "某煤业公司", validCredit},
		{"name only", Form{Claimant: person, EmployerName: "某煤业公司"}, "某煤业公司", ""},
		{"the employer as claimant", Form{Claimant: employer}, "某公司", validCredit},
		{"an individual's own code is not the employer's", Form{Claimant: person}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, credit := EmployerOf(tc.f)
			if name != tc.wantName || credit != tc.wantCredit {
				t.Errorf("EmployerOf = %q, %q; want %q, %q", name, credit, tc.wantName, tc.wantCredit)
			}
		})
	}
}

func TestNewMassRule(t *testing.T) {
	got := NewMassRule(5, 3, 30, []string{"petition", "tax", ""}, "tax")
	want := MassRule{People: 5, EmployerDisputes: 3, Window: 30 * 24 * time.Hour, AddressedTo: []string{"petition", "tax"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("NewMassRule (-want +got):\n%s", d)
	}
}

func TestNewLookupCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		c, err := NewLookupCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != LookupCodeLen || strings.Trim(c, LookupAlphabet) != "" {
			t.Fatalf("code %q: want %d characters of %s", c, LookupCodeLen, LookupAlphabet)
		}
		if seen[c] {
			t.Fatalf("code %q drawn twice in 1000", c)
		}
		seen[c] = true
	}
	if strings.ContainsAny(LookupAlphabet, "01OIL") {
		t.Errorf("alphabet %s holds ambiguous characters", LookupAlphabet)
	}
}

func TestScopeOfListAndHolders(t *testing.T) {
	clerk := Caller{"141181", "hrss", []string{RoleClerk}}
	office := Caller{"141181", "tax", []string{RoleOffice}}
	for _, tc := range []struct {
		name      string
		c         Caller
		requested string
		want      ListScope
		denied    bool
	}{
		{"department: registered or held", clerk, "", ListScope{Department: "hrss"}, false},
		{"department: own registrations", clerk, "hrss", ListScope{Department: "hrss", Registering: "hrss"}, false},
		{"department: another's registrations", clerk, "tax", ListScope{}, true},
		{"office: whole region", office, "", ListScope{}, false},
		{"office: a department's registrations", office, "hrss", ListScope{Registering: "hrss"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ScopeOfList(tc.c, tc.requested)
			var de *DeniedError
			if tc.denied != errors.As(err, &de) {
				t.Fatalf("err = %v, want denied %v", err, tc.denied)
			}
			if got != tc.want {
				t.Errorf("scope = %+v, want %+v", got, tc.want)
			}
		})
	}
	a := Access{Region: "141181", RegisteringDepartment: "tax", Holders: []string{"hrss"}}
	if !CanView(clerk, a) {
		t.Error("a holder may not view")
	}
	if CanView(Caller{"141181", "justice", []string{RoleHandler}}, a) {
		t.Error("a department neither registering nor holding may view")
	}
	if CheckWithdraw(clerk, a, time.Time{}) == nil {
		t.Error("a holder may record the withdrawal; only the registering department and the office may")
	}
}
