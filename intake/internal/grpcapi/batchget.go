package grpcapi

import (
	"context"
	"fmt"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// BatchGetDisputes returns the named disputes the caller may read, with
// numbers masked as in lists: a worklist page's claimants and complaints in
// one call. Each name passes the same checks as GetDispute; one the caller
// may not read is left out, as one that does not exist is.
func (s *Service) BatchGetDisputes(ctx context.Context, req *intakev1.BatchGetDisputesRequest) (*intakev1.BatchGetDisputesResponse, error) {
	resp, err := s.batchGet(ctx, req)
	return resp, toStatus(err)
}

func (s *Service) batchGet(ctx context.Context, req *intakev1.BatchGetDisputesRequest) (*intakev1.BatchGetDisputesResponse, error) {
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
	if len(req.GetNames()) == 0 || len(req.GetNames()) > MaxPageSize {
		return nil, &dispute.ValidationError{Violations: []dispute.Violation{{Field: "names",
			Reason: fmt.Sprintf("name 1 to %d disputes", MaxPageSize)}}}
	}
	for i, n := range req.GetNames() {
		r, _, err := names.DisputeID(n)
		if err != nil {
			return nil, names.InField(fmt.Sprintf("names[%d]", i), err)
		}
		if r != region {
			return nil, &dispute.ValidationError{Violations: []dispute.Violation{{Field: fmt.Sprintf("names[%d]", i),
				Reason: "is not a dispute of parent's region"}}}
		}
	}
	ids := make([]string, len(req.GetNames()))
	for i, n := range req.GetNames() {
		_, ids[i], _ = names.DisputeID(n) // checked above
	}
	ds, err := s.store.GetMany(ctx, region, ids)
	if err != nil {
		return nil, err
	}
	out := &intakev1.BatchGetDisputesResponse{}
	for _, d := range ds {
		// One the caller may not read is left out, as a missing one is.
		if d == nil || !allowed(caller, d) {
			continue
		}
		masked(d)
		out.Disputes = append(out.Disputes, d)
	}
	if err := s.readableLinks(ctx, caller, region, out.Disputes); err != nil {
		return nil, err
	}
	return out, nil
}
