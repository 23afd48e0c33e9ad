package dispute

import (
	"slices"
	"time"
)

// Role names as carried in tokens.
const (
	RoleClerk    = "clerk"
	RoleHandler  = "handler"
	RoleOffice   = "office"
	RoleConvenor = "convenor"
)

// Caller is who is calling, as the access rules need it.
type Caller struct {
	Region, Department string
	Roles              []string
}

func (c Caller) has(roles ...string) bool {
	return slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(c.Roles, r) })
}

// RegionWide reports whether the caller sees every dispute of their region:
// the joint-meeting office and the convenor do.
func (c Caller) RegionWide() bool { return c.has(RoleOffice, RoleConvenor) }

// Access is what decides who may see a dispute.
type Access struct {
	Region                string
	RegisteringDepartment string
	// Holders are the departments that hold or held the dispute, as
	// routing reported them.
	Holders []string
}

// CheckRegion refuses a caller acting on a region other than their own.
func CheckRegion(c Caller, region string) error {
	if c.Region != region {
		return denied(ReasonRegionMismatch, "region %s is not the caller's region %s", region, c.Region)
	}
	return nil
}

// CanView reports whether c may read the dispute: the registering
// department, the departments that hold or held it, and the office and
// convenor of its region.
func CanView(c Caller, a Access) bool {
	if c.Region != a.Region {
		return false
	}
	return c.RegionWide() || c.Department == a.RegisteringDepartment || slices.Contains(a.Holders, c.Department)
}

// ListScope is which disputes a list may show.
type ListScope struct {
	// Department limits the list to the disputes this department
	// registered, holds or held ("" for the whole region).
	Department string
	// Registering filters by registering department ("" for any).
	Registering string
}

// ScopeOfList returns what a list by c may show given the registering
// department requested as a filter. The office and the convenor list their
// whole region; any other department lists what it registered, holds or
// held, and may filter on its own registrations only.
func ScopeOfList(c Caller, requested string) (ListScope, error) {
	if c.RegionWide() {
		return ListScope{Registering: requested}, nil
	}
	if requested != "" && requested != c.Department {
		return ListScope{}, denied(ReasonDepartmentMismatch,
			"registering_department: only the office and the convenor may list department %q; the caller's is %q", requested, c.Department)
	}
	return ListScope{Department: c.Department, Registering: requested}, nil
}

// CheckWithdraw decides whether c may record the claimant's withdrawal of a
// dispute withdrawn at withdrawn (zero when it was not): the office of the
// region, or a clerk or handler of the registering department, once.
func CheckWithdraw(c Caller, a Access, withdrawn time.Time) error {
	if err := CheckRegion(c, a.Region); err != nil {
		return err
	}
	if !c.has(RoleOffice) && !(c.has(RoleClerk, RoleHandler) && c.Department == a.RegisteringDepartment) {
		return denied(ReasonDisputeNotVisible,
			"only the registering department %q or the office may record a withdrawal", a.RegisteringDepartment)
	}
	if !withdrawn.IsZero() {
		return &StateError{Current: "WITHDRAWN", Msg: "dispute was already withdrawn at " + withdrawn.In(Shanghai).Format(time.RFC3339)}
	}
	return nil
}
