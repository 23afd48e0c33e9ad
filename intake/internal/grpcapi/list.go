package grpcapi

import (
	"context"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/mask"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// Page sizes of ListDisputes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// ListDisputes lists a region's disputes newest first, with personal
// numbers masked. Callers other than the office and the convenor see only
// the disputes their department registered, holds or held.
func (s *Service) ListDisputes(ctx context.Context, req *intakev1.ListDisputesRequest) (*intakev1.ListDisputesResponse, error) {
	resp, err := s.list(ctx, req)
	return resp, toStatus(err)
}

func (s *Service) list(ctx context.Context, req *intakev1.ListDisputesRequest) (*intakev1.ListDisputesResponse, error) {
	_, caller, err := identity(ctx)
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
	scope, err := dispute.ScopeOfList(caller, req.GetRegisteringDepartment())
	if err != nil {
		return nil, err
	}
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size <= 0 {
		size = DefaultPageSize
	}
	size = min(size, MaxPageSize)

	q := store.Query{Region: region, After: after, Size: size, Keep: matcher(req, scope.Registering), Department: scope.Department}
	if t := req.GetRegisterTimeFrom(); t != nil {
		q.From = t.AsTime()
	}
	if t := req.GetRegisterTimeTo(); t != nil {
		q.To = t.AsTime()
	}
	ds, next, err := s.store.List(ctx, q)
	if err != nil {
		return nil, err
	}
	if err := s.readableLinks(ctx, caller, region, ds); err != nil {
		return nil, err
	}
	for _, d := range ds {
		masked(d)
	}
	return &intakev1.ListDisputesResponse{Disputes: ds, NextPageToken: encodePageToken(next)}, nil
}

// matcher returns the filter of the request's exact-match fields; dept is
// the registering department to keep ("" for any).
func matcher(req *intakev1.ListDisputesRequest, dept string) func(*intakev1.Dispute) bool {
	phone := strings.TrimSpace(req.GetClaimantPhone())
	idNumber := dispute.NormalizeNumber(req.GetClaimantIdNumber())
	credit := dispute.NormalizeNumber(req.GetClaimantCreditCode())
	return func(d *intakev1.Dispute) bool {
		c := d.GetClaimant()
		return (dept == "" || d.GetRegisteringDepartment() == dept) &&
			(req.GetCategory() == typesv1.Category_CATEGORY_UNSPECIFIED || d.GetCategory() == req.GetCategory()) &&
			(req.GetChannel() == typesv1.Channel_CHANNEL_UNSPECIFIED || d.GetChannel() == req.GetChannel()) &&
			(req.GetJurisdiction() == "" || d.GetJurisdiction() == req.GetJurisdiction()) &&
			(phone == "" || c.GetPhone() == phone) &&
			(idNumber == "" || c.GetIdNumber() == idNumber) &&
			(credit == "" || c.GetCreditCode() == credit)
	}
}

// masked hides the middle of d's personal and organisation numbers, as
// every list shows them, and leaves out the receipt's lookup code and the
// claimant's delivery address.
func masked(d *intakev1.Dispute) {
	d.LookupCode, d.DeliveryAddress = "", ""
	if c := d.GetClaimant(); c != nil {
		c.Phone = mask.Phone(c.Phone)
		if c.IdNumber != "" {
			c.IdNumber = mask.IDNumber(c.IdNumber)
		}
		if c.CreditCode != "" {
			c.CreditCode = mask.CreditCode(c.CreditCode)
		}
	}
	if d.EmployerCreditCode != "" {
		d.EmployerCreditCode = mask.CreditCode(d.EmployerCreditCode)
	}
	// Free text a clerk typed may hold numbers too.
	d.Complaint = mask.String(d.Complaint)
	d.WithdrawReason = mask.String(d.WithdrawReason)
}

// A page token is base64url("<score>/<id>") of the last dispute returned;
// clients treat it as opaque.
var tokenRE = regexp.MustCompile(`^(-?[0-9]{1,19})/([0-9]{4}-[1-9][0-9]{0,8})$`)

func encodePageToken(c *store.Cursor) string {
	if c == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Score, 10) + "/" + c.ID))
}

func decodePageToken(tok string) (*store.Cursor, error) {
	if tok == "" {
		return nil, nil
	}
	bad := &dispute.ValidationError{Violations: []dispute.Violation{{
		Field: "page_token", Reason: "is not a token returned by ListDisputes",
	}}}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, bad
	}
	m := tokenRE.FindStringSubmatch(string(raw))
	if m == nil {
		return nil, bad
	}
	score, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || score < 0 || score > time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() {
		return nil, bad
	}
	return &store.Cursor{Score: score, ID: m[2]}, nil
}
