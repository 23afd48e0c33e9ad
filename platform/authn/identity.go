// Package authn carries the caller's identity in a signed Ed25519 JWT and
// enforces per-RPC role rules in gRPC interceptors.
package authn

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// Roles a staff member can hold. A token carries one or more of them.
const (
	RoleClerk    = "clerk"
	RoleHandler  = "handler"
	RoleOffice   = "office"
	RoleConvenor = "convenor"
	RolePlatform = "platform"
	RoleAdmin    = "admin"
	// RoleHead is the head of a unit (单位负责人): approves the extension of
	// a dispute the unit handles (《信访工作条例》第三十二条).
	RoleHead = "head"
)

var allRoles = []string{RoleClerk, RoleHandler, RoleOffice, RoleConvenor, RolePlatform, RoleAdmin, RoleHead}

// ValidRole reports whether role is one of the Role constants.
func ValidRole(role string) bool { return slices.Contains(allRoles, role) }

// Identity is who is calling: the region (6-digit administrative code),
// department and staff member, and the roles they act in.
type Identity struct {
	Region, Department, Staff string
	Roles                     []string
}

// HasRole reports whether the identity holds role.
func (id Identity) HasRole(role string) bool { return slices.Contains(id.Roles, role) }

// HasAnyRole reports whether the identity holds at least one of roles.
func (id Identity) HasAnyRole(roles ...string) bool {
	return slices.ContainsFunc(roles, id.HasRole)
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
)

// Validate reports the first problem that makes id unfit to be issued or trusted.
func (id Identity) Validate() error {
	switch {
	case !names.IsRegion(id.Region):
		return fmt.Errorf("region %q: must be 6 digits", id.Region)
	case !nameRE.MatchString(id.Department):
		return fmt.Errorf("department %q: must be 1-32 of [a-z0-9_-]", id.Department)
	case !nameRE.MatchString(id.Staff):
		return fmt.Errorf("staff %q: must be 1-32 of [a-z0-9_-]", id.Staff)
	case len(id.Roles) == 0:
		return errors.New("roles: at least one role is required")
	}
	for _, r := range id.Roles {
		if !ValidRole(r) {
			return fmt.Errorf("role %q: unknown (want one of %v)", r, allRoles)
		}
	}
	return nil
}

type ctxKey struct{}

// NewContext returns a copy of ctx carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity put into ctx by NewContext or the server
// interceptors, and whether there was one.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}
