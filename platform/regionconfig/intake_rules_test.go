package regionconfig_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
)

func TestIntakeRulesCheck(t *testing.T) {
	rule := func(c typesv1.Category, d string) *configv1.CategoryRule {
		return &configv1.CategoryRule{Category: c, Department: d}
	}
	for _, tc := range []struct {
		name   string
		rules  *configv1.IntakeRules
		fields []string
	}{
		{"empty", &configv1.IntakeRules{}, nil},
		{"valid", &configv1.IntakeRules{CategoryDepartments: []*configv1.CategoryRule{
			rule(typesv1.Category_CATEGORY_LATE_FEE, "tax"), rule(typesv1.Category_CATEGORY_BENEFITS, "hrss"),
		}, MassPeopleThreshold: 8}, nil},
		{"duplicate category", &configv1.IntakeRules{CategoryDepartments: []*configv1.CategoryRule{
			rule(typesv1.Category_CATEGORY_LATE_FEE, "tax"), rule(typesv1.Category_CATEGORY_LATE_FEE, "hrss"),
		}}, []string{"category_departments[1].category"}},
		{"empty department", &configv1.IntakeRules{CategoryDepartments: []*configv1.CategoryRule{
			rule(typesv1.Category_CATEGORY_LATE_FEE, ""),
		}}, []string{"category_departments[0].department"}},
		{"empty warning department", &configv1.IntakeRules{MassWarningDepartments: []string{""}}, []string{"mass_warning_departments[0]"}},
		{"negative threshold", &configv1.IntakeRules{MassPeopleThreshold: -1}, []string{"mass_people_threshold"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, v := range regionconfig.IntakeRulesSpec.Validate("141181", "", tc.rules) {
				got = append(got, v.Field)
			}
			// The empty department also breaks the department pattern; only
			// the check's own field path is compared.
			got = dedupe(got)
			if d := cmp.Diff(tc.fields, got); d != "" {
				t.Errorf("violated fields (-want +got):\n%s", d)
			}
		})
	}
}

func dedupe(fs []string) []string {
	var out []string
	for _, f := range fs {
		if len(out) == 0 || out[len(out)-1] != f {
			out = append(out, f)
		}
	}
	return out
}

func TestEffectiveIntakeRules(t *testing.T) {
	defaults := &configv1.IntakeRules{
		MassPeopleThreshold: 5, MassEmployerDisputes: 3, MassEmployerWindowDays: 30,
		MassWarningDepartments: []string{"petition"},
	}
	if d := cmp.Diff(defaults, regionconfig.EffectiveIntakeRules(nil), protocmp.Transform()); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
	in := &configv1.IntakeRules{MassPeopleThreshold: 8, MassWarningDepartments: []string{"petition", "plc"}}
	got := regionconfig.EffectiveIntakeRules(in)
	want := &configv1.IntakeRules{
		MassPeopleThreshold: 8, MassEmployerDisputes: 3, MassEmployerWindowDays: 30,
		MassWarningDepartments: []string{"petition", "plc"},
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("effective (-want +got):\n%s", d)
	}
	if in.MassEmployerDisputes != 0 {
		t.Error("EffectiveIntakeRules modified its argument")
	}
}

// TestSeedIntakeRules checks the rules shipped for 孝义市 validate and
// follow the member units' duties of the work plan.
func TestSeedIntakeRules(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "config", "141181", "intake-rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := regionconfig.IntakeRulesSpec.Decode(regionconfig.IntakeRulesSpec.Key("141181", ""), raw)
	if err != nil {
		t.Fatal(err)
	}
	got := map[typesv1.Category]string{}
	for _, rule := range r.GetCategoryDepartments() {
		got[rule.GetCategory()] = rule.GetDepartment()
	}
	want := map[typesv1.Category]string{
		typesv1.Category_CATEGORY_BASE_DECLARATION:      "tax",
		typesv1.Category_CATEGORY_CONTRIBUTION_AMOUNT:   "tax",
		typesv1.Category_CATEGORY_LATE_FEE:              "tax",
		typesv1.Category_CATEGORY_REFUND_OFFSET:         "tax",
		typesv1.Category_CATEGORY_INSPECTION_ARREARS:    "tax",
		typesv1.Category_CATEGORY_REGISTRATION_TRANSFER: "hrss",
		typesv1.Category_CATEGORY_SPECIAL_ASSESSMENT:    "hrss",
		typesv1.Category_CATEGORY_BENEFITS:              "hrss",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("seed category rules (-want +got):\n%s", d)
	}
	if d := cmp.Diff(regionconfig.EffectiveIntakeRules(nil).GetMassWarningDepartments(), r.GetMassWarningDepartments()); d != "" {
		t.Errorf("seed warning departments differ from the defaults:\n%s", d)
	}
}
