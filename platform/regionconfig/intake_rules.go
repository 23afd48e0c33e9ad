package regionconfig

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
)

// Defaults of the intake rules, used for a field left at zero and for a
// region without a rules document.
const (
	// DefaultMassPeopleThreshold: a dispute of this many people or more
	// raises a mass-dispute warning.
	DefaultMassPeopleThreshold = 5
	// DefaultMassEmployerDisputes open disputes against one employer ...
	DefaultMassEmployerDisputes = 3
	// ... within DefaultMassEmployerWindowDays raise a mass-dispute warning.
	DefaultMassEmployerWindowDays = 30
)

// DefaultMassWarningDepartments are addressed by a mass-dispute warning
// besides the office host unit: the petition bureau (信访局), which the work
// plan charges with stepping in early on disputes of many people.
var DefaultMassWarningDepartments = []string{"petition"}

// IntakeRulesSpec is a region's intake rules at
// /disputes/<region>/config/intake-rules.
var IntakeRulesSpec = Spec[*configv1.IntakeRules]{
	Path:   "config/intake-rules",
	New:    func() *configv1.IntakeRules { return &configv1.IntakeRules{} },
	Check:  checkIntakeRules,
	Metric: "intake_rules",
}

func checkIntakeRules(_, _ string, r *configv1.IntakeRules) []apierr.Violation {
	var vs []apierr.Violation
	seen := map[int32]int{}
	for i, rule := range r.GetCategoryDepartments() {
		field := fmt.Sprintf("category_departments[%d]", i)
		if rule.GetDepartment() == "" {
			vs = append(vs, apierr.Violation{Field: field + ".department", Reason: "is required: the member unit that handles the category by default"})
		}
		c := int32(rule.GetCategory())
		if first, dup := seen[c]; dup {
			vs = append(vs, apierr.Violation{Field: field + ".category",
				Reason: fmt.Sprintf("%s already has a rule at category_departments[%d]; one department per category", rule.GetCategory(), first)})
			continue
		}
		seen[c] = i
	}
	for i, d := range r.GetMassWarningDepartments() {
		if d == "" {
			vs = append(vs, apierr.Violation{Field: fmt.Sprintf("mass_warning_departments[%d]", i), Reason: "must be a member unit id, not empty"})
		}
	}
	return vs
}

// EffectiveIntakeRules returns a copy of r (nil for a region without a
// rules document) with every threshold left at zero and an empty list of
// warning departments replaced by its default. r is not modified.
func EffectiveIntakeRules(r *configv1.IntakeRules) *configv1.IntakeRules {
	out := &configv1.IntakeRules{}
	if r != nil {
		out = proto.Clone(r).(*configv1.IntakeRules)
	}
	if out.MassPeopleThreshold == 0 {
		out.MassPeopleThreshold = DefaultMassPeopleThreshold
	}
	if out.MassEmployerDisputes == 0 {
		out.MassEmployerDisputes = DefaultMassEmployerDisputes
	}
	if out.MassEmployerWindowDays == 0 {
		out.MassEmployerWindowDays = DefaultMassEmployerWindowDays
	}
	if len(out.MassWarningDepartments) == 0 {
		out.MassWarningDepartments = append([]string(nil), DefaultMassWarningDepartments...)
	}
	return out
}
