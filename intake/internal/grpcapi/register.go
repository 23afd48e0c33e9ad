package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// RegisterDispute checks the form against the rules and the region's
// roster, then stores it and allocates its number in one atomic step that
// also links it to the claimant's open disputes of the same category and
// raises a mass-dispute warning when it is one. Nothing is stored and no
// number is used when the form is refused.
func (s *Service) RegisterDispute(ctx context.Context, req *intakev1.RegisterDisputeRequest) (*intakev1.RegisterDisputeResponse, error) {
	resp, err := s.register(ctx, req)
	return resp, toStatus(err)
}

func (s *Service) register(ctx context.Context, req *intakev1.RegisterDisputeRequest) (*intakev1.RegisterDisputeResponse, error) {
	id, caller, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	region, err := names.ParseRegion(req.GetParent())
	if err != nil {
		return nil, names.InField("parent", err)
	}
	if err := dispute.CheckRegion(caller, region); err != nil {
		return nil, err
	}
	r, ok := s.rosters.Get(region)
	if !ok {
		return nil, fmt.Errorf("%w %s", dispute.ErrNoRoster, region)
	}
	checks := s.registrationOf(region, r)
	rules := checks.rules
	now := s.now()
	d := normalized(req.GetDispute())
	if err := blankText(d); err != nil {
		return nil, err
	}
	// The form as sent identifies a retry, before the service adds to it.
	digest, err := store.FormDigest(d)
	if err != nil {
		return nil, err
	}
	form := formOf(d)
	reg, err := dispute.CheckRegistration(form, checks.check, caller, now)
	if err != nil {
		return nil, err
	}
	d.ProposedDepartment = reg.ProposedDepartment
	d.RegisteringStaff = id.Staff
	d.FirstReceiver = id.Staff
	d.RegisterTime = timestamppb.New(now)

	if d.LookupCode, err = dispute.NewLookupCode(); err != nil {
		return nil, err
	}
	out, replayed, err := s.store.Register(ctx, store.Registration{
		Region: region, RequestID: req.GetRequestId(), FormDigest: digest, Time: now, Dispute: d, Actor: events.ActorOf(id),
		Identifiers: dispute.Identifiers(form.Claimant),
		Employer:    dispute.Employer(form),
		Mass: dispute.NewMassRule(int(rules.GetMassPeopleThreshold()), int(rules.GetMassEmployerDisputes()),
			int(rules.GetMassEmployerWindowDays()), rules.GetMassWarningDepartments(), roster.OfficeHost(r)),
	})
	var dup *dispute.DuplicateRefError
	if errors.As(err, &dup) {
		return nil, s.hideExisting(ctx, caller, region, dup)
	}
	if err != nil {
		return nil, err
	}
	// The links name the claimant's other disputes: the caller sees those
	// it may read, the DisputesLinked event (for the services) all of them.
	if out.LinkedDisputes, err = s.readable(ctx, caller, region, out.GetLinkedDisputes()); err != nil {
		return nil, err
	}
	return &intakev1.RegisterDisputeResponse{
		Dispute: out, Replayed: replayed,
		LinkedDisputes: out.GetLinkedDisputes(), MassDisputeWarning: out.GetMassDispute(),
	}, nil
}

// blankText refuses text fields that hold only white space: they pass a
// min_len rule yet say nothing (a complaint of three spaces).
func blankText(d *intakev1.Dispute) error {
	var vs []apierr.Violation
	blank := func(field, v string) {
		if v != "" && strings.TrimSpace(v) == "" {
			vs = append(vs, apierr.Violation{Field: field, Reason: "must not be blank (white space only)"})
		}
	}
	blank("dispute.claimant.name", d.GetClaimant().GetName())
	blank("dispute.complaint", d.GetComplaint())
	blank("dispute.employer_name", d.GetEmployerName())
	if len(vs) > 0 {
		return apierr.Invalid(vs...)
	}
	return nil
}

// normalized returns a copy of the submitted form with output-only fields
// cleared and numbers trimmed and upper-cased.
func normalized(in *intakev1.Dispute) *intakev1.Dispute {
	d := proto.Clone(in).(*intakev1.Dispute)
	d.Name, d.Number, d.RegisteringStaff, d.FirstReceiver = "", "", "", ""
	d.RegisterTime, d.WithdrawTime, d.WithdrawReason = nil, nil, ""
	d.LinkedDisputes, d.MassDispute, d.Holders, d.LookupCode = nil, false, nil, ""
	if c := d.GetClaimant(); c != nil {
		c.Phone = strings.TrimSpace(c.Phone)
		c.IdNumber = dispute.NormalizeNumber(c.IdNumber)
		c.CreditCode = dispute.NormalizeNumber(c.CreditCode)
	}
	d.EmployerCreditCode = dispute.NormalizeNumber(d.EmployerCreditCode)
	d.ExternalRef = strings.TrimSpace(d.ExternalRef)
	d.DeliveryAddress = strings.TrimSpace(d.DeliveryAddress)
	return d
}

func formOf(d *intakev1.Dispute) dispute.Form {
	c := d.GetClaimant()
	return dispute.Form{
		Claimant: dispute.Claimant{
			Kind: c.GetKind(), Name: c.GetName(), Phone: c.GetPhone(), IDNumber: c.GetIdNumber(), CreditCode: c.GetCreditCode(),
		},
		Category:              d.GetCategory(),
		Channel:               d.GetChannel(),
		ExternalRef:           d.GetExternalRef(),
		RegisteringDepartment: d.GetRegisteringDepartment(),
		ProposedDepartment:    d.GetProposedDepartment(),
		Jurisdiction:          d.GetJurisdiction(),
		EmployerName:          d.GetEmployerName(),
		EmployerCreditCode:    d.GetEmployerCreditCode(),
		VisitTime:             visitTime(d),
	}
}

func visitTime(d *intakev1.Dispute) time.Time {
	if d.GetVisitTime() == nil {
		return time.Time{}
	}
	return d.GetVisitTime().AsTime()
}

// rosterOf returns the region's roster and intake rules as the
// registration rules need them.
func rosterOf(r *rosterv1.Roster, rules *configv1.IntakeRules) *dispute.Roster {
	out := &dispute.Roster{
		OfficeHostUnit:      roster.OfficeHost(r),
		CategoryDepartments: map[typesv1.Category]string{},
	}
	for _, rule := range rules.GetCategoryDepartments() {
		out.CategoryDepartments[rule.GetCategory()] = rule.GetDepartment()
	}
	for _, u := range r.GetUnits() {
		out.Units = append(out.Units, dispute.Unit{
			ID: u.GetId(), IntakePoint: u.GetIntakePoint(), DefaultCategories: u.GetDefaultCategories(),
		})
	}
	for _, j := range r.GetJurisdictions() {
		out.Jurisdictions = append(out.Jurisdictions, j.GetCode())
	}
	return out
}

// hideExisting drops the name of the dispute already holding a work-order
// number from dup unless the caller may read that dispute: the refusal
// stays, but it tells a caller of another department nothing of a dispute
// it may not see.
func (s *Service) hideExisting(ctx context.Context, c dispute.Caller, region string, dup *dispute.DuplicateRefError) error {
	seen, err := s.readable(ctx, c, region, []string{dup.Existing})
	if err != nil {
		return err
	}
	if len(seen) == 0 {
		return &dispute.DuplicateRefError{Channel: dup.Channel, Ref: dup.Ref}
	}
	return dup
}
