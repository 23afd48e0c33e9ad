// Package grpcapi implements disputes.intake.v1.IntakeService: thin
// handlers that check the caller, convert between the API and the domain,
// call the store and map errors in one place (toStatus).
package grpcapi

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// Rosters gives the last valid roster of a region (roster.Watcher does).
type Rosters interface {
	Get(region string) (*rosterv1.Roster, bool)
}

// Rules gives the last valid intake rules of a region (a regionconfig
// watcher of regionconfig.IntakeRulesSpec does; sub is always "").
type Rules interface {
	Get(region, sub string) (*configv1.IntakeRules, bool)
}

// Service serves IntakeService.
type Service struct {
	intakev1.UnimplementedIntakeServiceServer

	store   *store.Store
	rosters Rosters
	rules   Rules
	now     func() time.Time
	// registrations holds a *registration per region.
	registrations sync.Map
	// lookupLimits bound wrong lookup codes (zero: DefaultLookupLimits).
	lookupLimits LookupLimits
}

// New returns the service storing in st, checking registrations against
// rosters and rules, with clock now. It logs nothing itself: the server's
// interceptor writes one line per call naming the resource, never the
// form's content.
func New(st *store.Store, rosters Rosters, rules Rules, now func() time.Time) *Service {
	return &Service{store: st, rosters: rosters, rules: rules, now: now}
}

// registration is what registrations in one region are checked against:
// the region's roster and intake rules (defaults applied) in the form the
// checks need. It is built once per roster and rules snapshot, not once per
// call; both snapshots are read-only.
type registration struct {
	roster *rosterv1.Roster
	raw    *configv1.IntakeRules
	rules  *configv1.IntakeRules
	check  *dispute.Roster
}

// registrationOf returns the registration rules of region with roster r.
func (s *Service) registrationOf(region string, r *rosterv1.Roster) *registration {
	raw, _ := s.rules.Get(region, "")
	if v, ok := s.registrations.Load(region); ok {
		if c := v.(*registration); c.roster == r && c.raw == raw {
			return c
		}
	}
	rules := regionconfig.EffectiveIntakeRules(raw)
	c := &registration{roster: r, raw: raw, rules: rules, check: rosterOf(r, rules)}
	s.registrations.Store(region, c)
	return c
}

// identity returns the caller authenticated by the server's interceptor.
func identity(ctx context.Context) (authn.Identity, dispute.Caller, error) {
	id, ok := authn.FromContext(ctx)
	if !ok {
		return authn.Identity{}, dispute.Caller{}, errNoIdentity
	}
	return id, dispute.Caller{Region: id.Region, Department: id.Department, Roles: id.Roles}, nil
}

// accessOf returns what decides who may see d.
func accessOf(d *intakev1.Dispute) dispute.Access {
	region, _, _ := names.DisputeID(d.GetName())
	return dispute.Access{Region: region, RegisteringDepartment: d.GetRegisteringDepartment(), Holders: d.GetHolders()}
}

// allowed is the one place that decides whether the caller may read a
// dispute: its registering department, the departments routing reported
// as holding it, and the office and convenor of its region.
func allowed(c dispute.Caller, d *intakev1.Dispute) bool {
	return dispute.CanView(c, accessOf(d))
}

// readable returns those of the disputes ns of region that c may read, in
// their order; nil when none. Linked disputes and the holder of a duplicate
// work-order number are shown through it, so a caller learns of no dispute
// it could not open.
func (s *Service) readable(ctx context.Context, c dispute.Caller, region string, ns []string) ([]string, error) {
	if len(ns) == 0 {
		return nil, nil
	}
	if c.Region == region && c.RegionWide() {
		return ns, nil
	}
	if c.Region != region {
		return nil, nil
	}
	// The department's index holds what it registered, holds or held: the
	// disputes allowed lets it read.
	in, err := s.store.InDepartment(ctx, region, c.Department, ns)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, ok := range in {
		if ok {
			out = append(out, ns[i])
		}
	}
	return out, nil
}

// readableLinks keeps in each of ds the linked disputes c may read, reading
// every dispute linked from the page at once.
func (s *Service) readableLinks(ctx context.Context, c dispute.Caller, region string, ds []*intakev1.Dispute) error {
	if c.Region == region && c.RegionWide() {
		return nil
	}
	var all []string
	for _, d := range ds {
		all = append(all, d.GetLinkedDisputes()...)
	}
	seen, err := s.readable(ctx, c, region, all)
	if err != nil {
		return err
	}
	for _, d := range ds {
		d.LinkedDisputes = slices.DeleteFunc(d.LinkedDisputes, func(n string) bool { return !slices.Contains(seen, n) })
		if len(d.LinkedDisputes) == 0 {
			d.LinkedDisputes = nil
		}
	}
	return nil
}
