package roster

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"buf.build/go/protovalidate"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// Violation is one problem with a roster: the field path ("units[3].id",
// "leadership.office_host_unit") or etcd key, and why.
type Violation = apierr.Violation

// ValidationError is a roster that breaks a rule; Violations name each
// offending field.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Reason
	}
	return "invalid roster: " + strings.Join(parts, "; ")
}

// Violations returns the violations carried by err when it wraps a
// *ValidationError.
func Violations(err error) ([]Violation, bool) {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Violations, true
	}
	return nil, false
}

// Validate checks r against the rules on its messages and the rules that
// span them, returning every violation with its field path relative to the
// roster ("units[3].id"). An empty result means r is valid.
//
// Cross-field rules: region_name is required; unit ids are unique; at least
// one unit is an intake point; leadership with a named convenor is
// required; leadership.office_host_unit and every person's unit_id name an
// existing unit; jurisdiction codes are unique; staff ids are unique in the
// region (a token names its staff without the unit), every staff member has
// a display name that is not blank and at least one role, each known to
// platform/authn. Two units may claim the same default category: routing
// picks among them.
func Validate(r *rosterv1.Roster) []Violation {
	var vs []Violation
	add := func(field, format string, args ...any) {
		vs = append(vs, Violation{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if err := protovalidate.Validate(r); err != nil {
		var ve *protovalidate.ValidationError
		if !errors.As(err, &ve) {
			add("", "validate: %v", err)
			return vs
		}
		for _, v := range ve.Violations {
			if v == nil || v.Proto == nil {
				continue
			}
			reason := v.Proto.GetMessage()
			if reason == "" {
				reason = "violates rule " + v.Proto.GetRuleId()
			}
			vs = append(vs, Violation{Field: protovalidate.FieldPathString(v.Proto.GetField()), Reason: reason})
		}
	}

	if r.GetRegionName() == "" {
		add("region_name", "required")
	}
	units := map[string]int{}
	intake := false
	for i, u := range r.GetUnits() {
		if j, dup := units[u.GetId()]; dup {
			add(fmt.Sprintf("units[%d].id", i), "duplicate unit id %q (also units[%d])", u.GetId(), j)
			continue
		}
		units[u.GetId()] = i
		intake = intake || u.GetIntakePoint()
	}
	staff := map[string]string{}
	for i, u := range r.GetUnits() {
		for j, p := range u.GetStaff() {
			field := fmt.Sprintf("units[%d].staff[%d]", i, j)
			if prev, dup := staff[p.GetId()]; dup {
				add(field+".id", "duplicate staff id %q (also %s): staff ids are unique in the region", p.GetId(), prev)
			} else {
				staff[p.GetId()] = field
			}
			if strings.TrimSpace(p.GetDisplayName()) == "" && !hasField(vs, field+".display_name") {
				add(field+".display_name", "required: the name printed on forms")
			}
			if len(p.GetRoles()) == 0 {
				add(field+".roles", "at least one role (clerk, handler, office, convenor, platform, admin)")
			}
			for k, role := range p.GetRoles() {
				if !authn.ValidRole(role) && !hasField(vs, fmt.Sprintf("%s.roles[%d]", field, k)) {
					add(fmt.Sprintf("%s.roles[%d]", field, k), "unknown role %q", role)
				}
			}
		}
	}
	if !intake {
		add("units", "at least one unit must be an intake point")
	}
	unitRef := func(field, id string) {
		if _, ok := units[id]; !ok {
			add(field, "unit %q is not in units", id)
		}
	}
	person := func(field string, p interface{ GetUnitId() string }) {
		if id := p.GetUnitId(); id != "" {
			unitRef(field+".unit_id", id)
		}
	}
	if l := r.GetLeadership(); l == nil {
		add("leadership", "required")
	} else {
		if l.GetConvenor() == nil {
			add("leadership.convenor", "required")
		} else {
			if l.GetConvenor().GetName() == "" && !hasField(vs, "leadership.convenor.name") {
				add("leadership.convenor.name", "required")
			}
			person("leadership.convenor", l.GetConvenor())
		}
		for i, p := range l.GetDeputyConvenors() {
			person(fmt.Sprintf("leadership.deputy_convenors[%d]", i), p)
		}
		if l.GetOfficeDirector() != nil {
			person("leadership.office_director", l.GetOfficeDirector())
		}
		if l.GetOfficeHostUnit() == "" {
			add("leadership.office_host_unit", "required")
		} else {
			unitRef("leadership.office_host_unit", l.GetOfficeHostUnit())
		}
	}
	codes := map[string]int{}
	for i, j := range r.GetJurisdictions() {
		if k, dup := codes[j.GetCode()]; dup {
			add(fmt.Sprintf("jurisdictions[%d].code", i), "duplicate jurisdiction code %q (also jurisdictions[%d])", j.GetCode(), k)
			continue
		}
		codes[j.GetCode()] = i
	}
	return vs
}

func hasField(vs []Violation, field string) bool {
	for _, v := range vs {
		if v.Field == field {
			return true
		}
	}
	return false
}

var indexRE = regexp.MustCompile(`^(units|jurisdictions)\[([0-9]+)\]`)

// ValidateStored is Validate for a roster loaded from region's etcd keys:
// each violation names the etcd key holding the bad value, with the field
// path in the reason ("/disputes/141181/roster/leadership":
// "leadership.office_host_unit: unit "x" is not in units"), so whoever edits
// etcd directly sees which key to fix.
func ValidateStored(region string, r *rosterv1.Roster) []Violation {
	vs := Validate(r)
	for i, v := range vs {
		vs[i] = Violation{Field: KeyOf(region, r, v.Field), Reason: v.Field + ": " + v.Reason}
	}
	return vs
}

// KeyOf returns the etcd key that holds field (a path as returned by
// Validate) of region's roster r.
func KeyOf(region string, r *rosterv1.Roster, field string) string {
	if m := indexRE.FindStringSubmatch(field); m != nil {
		i, _ := strconv.Atoi(m[2])
		switch m[1] {
		case "units":
			if i < len(r.GetUnits()) {
				return UnitKey(region, r.GetUnits()[i].GetId())
			}
		case "jurisdictions":
			if i < len(r.GetJurisdictions()) {
				return JurisdictionKey(region, r.GetJurisdictions()[i].GetCode())
			}
		}
	}
	top, _, _ := strings.Cut(field, ".")
	switch top {
	case "region_name":
		return RegionKey(region)
	case "leadership":
		return LeadershipKey(region)
	case "units":
		return Prefix(region) + "units/"
	case "jurisdictions":
		return Prefix(region) + "jurisdictions/"
	}
	return Prefix(region)
}
