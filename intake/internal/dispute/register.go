package dispute

import (
	"fmt"
	"slices"
	"strings"
	"time"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// Claimant is the part of the claimant the registration rules look at.
type Claimant struct {
	Kind                              typesv1.ClaimantKind
	Name, Phone, IDNumber, CreditCode string
}

// Form is the part of a registration form (登记表) the rules look at. Field
// paths in violations are those of RegisterDisputeRequest ("dispute.…").
type Form struct {
	Claimant              Claimant
	Category              typesv1.Category
	Channel               typesv1.Channel
	ExternalRef           string
	RegisteringDepartment string
	ProposedDepartment    string
	Jurisdiction          string
	EmployerName          string
	EmployerCreditCode    string
	// VisitTime is when the claimant came or called (来访时间); zero when
	// not given.
	VisitTime time.Time
}

// Bounds of the visit time (来访时间): the clock skew allowed past now, and
// how long before the registration a visit may lie (the routing limit is
// 15 days from registration; a visit older than a year is a typing error).
const (
	VisitTimeSkew   = 5 * time.Minute
	MaxVisitTimeAge = 366 * 24 * time.Hour
)

// Unit is a member unit (成员单位) of the joint meeting as the rules need it.
type Unit struct {
	ID                string
	IntakePoint       bool
	DefaultCategories []typesv1.Category
}

// Roster is a region's member units, jurisdictions and the unit hosting the
// joint-meeting office, as the rules need them, with the region's
// category-to-department rules (拟处理部门默认规则).
type Roster struct {
	Units          []Unit
	Jurisdictions  []string
	OfficeHostUnit string
	// CategoryDepartments is the department that handles a category by
	// default, from the region's intake rules; it takes precedence over
	// the units' default categories.
	CategoryDepartments map[typesv1.Category]string
}

// Unit returns the member unit with id.
func (r *Roster) Unit(id string) (Unit, bool) {
	for _, u := range r.Units {
		if u.ID == id {
			return u, true
		}
	}
	return Unit{}, false
}

// DefaultDepartment returns the unit that handles category by default: the
// one the intake rules name for it (when it is on the roster), else the
// first unit whose default categories list it, else the office's host unit.
func (r *Roster) DefaultDepartment(c typesv1.Category) string {
	if d, ok := r.CategoryDepartments[c]; ok {
		if _, onRoster := r.Unit(d); onRoster {
			return d
		}
	}
	for _, u := range r.Units {
		if slices.Contains(u.DefaultCategories, c) {
			return u.ID
		}
	}
	return r.OfficeHostUnit
}

// NormalizeNumber trims a resident ID number or credit code and upper-cases
// it, so "…123x" and "…123X" are the same number for checks, storage and
// exact-match filters.
func NormalizeNumber(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// Registration is what the rules decided about a valid form.
type Registration struct {
	// ProposedDepartment is the form's, or the default for its category.
	ProposedDepartment string
}

// CheckRegistration applies the registration rules to f for caller at now.
// A registering department that is a valid intake point but not the
// caller's is a *DeniedError; every other problem is collected into one
// *ValidationError so the clerk can fix the whole form at once. Numbers are
// expected normalized (NormalizeNumber).
func CheckRegistration(f Form, r *Roster, caller Caller, now time.Time) (Registration, error) {
	var vs []Violation
	add := func(field, format string, args ...any) {
		vs = append(vs, Violation{Field: "dispute." + field, Reason: fmt.Sprintf(format, args...)})
	}

	switch u, ok := r.Unit(f.RegisteringDepartment); {
	case !ok:
		add("registering_department", "%q is not a member unit of the region's roster", f.RegisteringDepartment)
	case !u.IntakePoint:
		add("registering_department", "%q is a member unit but not an intake point (受理部门)", f.RegisteringDepartment)
	case u.ID != caller.Department:
		return Registration{}, denied(ReasonDepartmentMismatch,
			"dispute.registering_department: %q is not the caller's department %q; a clerk registers for their own department only",
			f.RegisteringDepartment, caller.Department)
	}

	c := f.Claimant
	if why := CheckPhone(c.Phone); why != "" {
		add("claimant.phone", "%s", why)
	}
	switch {
	case c.IDNumber != "" && c.Kind == typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER:
		add("claimant.id_number", "an EMPLOYER claimant has no resident ID number; give its unified social credit code in credit_code")
	case c.IDNumber != "":
		if why := CheckIDNumber(c.IDNumber, now); why != "" {
			add("claimant.id_number", "%s", why)
		}
	}
	switch {
	case c.CreditCode != "" && c.Kind == typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL:
		add("claimant.credit_code", "an INDIVIDUAL claimant has no unified social credit code; give the employer's in employer_credit_code")
	case c.CreditCode != "":
		if why := CheckCreditCode(c.CreditCode); why != "" {
			add("claimant.credit_code", "%s", why)
		}
	}
	if f.EmployerCreditCode != "" {
		if why := CheckCreditCode(f.EmployerCreditCode); why != "" {
			add("employer_credit_code", "%s", why)
		}
	}

	reg := Registration{ProposedDepartment: f.ProposedDepartment}
	if f.ProposedDepartment == "" {
		reg.ProposedDepartment = r.DefaultDepartment(f.Category)
	} else if _, ok := r.Unit(f.ProposedDepartment); !ok {
		add("proposed_department", "%q is not a member unit of the region's roster", f.ProposedDepartment)
	}
	if f.Jurisdiction != "" && !slices.Contains(r.Jurisdictions, f.Jurisdiction) {
		add("jurisdiction", "%q is not a jurisdiction (乡镇/街道) of the region's roster", f.Jurisdiction)
	}
	switch {
	case f.VisitTime.IsZero():
	case f.VisitTime.After(now.Add(VisitTimeSkew)):
		add("visit_time", "is in the future; give the time the claimant came or called")
	case f.VisitTime.Before(now.Add(-MaxVisitTimeAge)):
		add("visit_time", "is more than a year before the registration")
	}
	if f.Channel == typesv1.Channel_CHANNEL_HOTLINE_12345 && strings.TrimSpace(f.ExternalRef) == "" {
		add("external_ref", "the 12345 work-order number is required for channel CHANNEL_HOTLINE_12345")
	}

	if len(vs) > 0 {
		return Registration{}, &ValidationError{Violations: vs}
	}
	return reg, nil
}
