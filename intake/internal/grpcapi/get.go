package grpcapi

import (
	"context"
	"slices"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// GetDispute returns a dispute, unmasked, to those allowed to see it; to a
// guest reader of the office path, with its numbers masked.
func (s *Service) GetDispute(ctx context.Context, req *intakev1.GetDisputeRequest) (*intakev1.GetDisputeResponse, error) {
	resp, err := s.get(ctx, req)
	return resp, toStatus(err)
}

func (s *Service) get(ctx context.Context, req *intakev1.GetDisputeRequest) (*intakev1.GetDisputeResponse, error) {
	_, caller, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	region, id, err := names.DisputeID(req.GetName())
	if err != nil {
		return nil, err
	}
	if err := dispute.CheckRegion(caller, region); err != nil {
		return nil, err
	}
	d, err := s.store.Get(ctx, region, id)
	if err != nil {
		return nil, err
	}
	if !allowed(caller, d) {
		// The same answer as for a dispute that does not exist.
		return nil, dispute.NotFound(dispute.Name(region, id))
	}
	if d.LinkedDisputes, err = s.readable(ctx, caller, region, d.GetLinkedDisputes()); err != nil {
		return nil, err
	}
	// A guest of the office path (an invited unit, the platform, a warned
	// department) reads without holding the dispute: numbers masked.
	if !caller.RegionWide() && caller.Department != d.GetRegisteringDepartment() {
		guests, err := s.store.Guests(ctx, region, id)
		if err != nil {
			return nil, err
		}
		if slices.Contains(guests, caller.Department) {
			masked(d)
		}
	}
	return &intakev1.GetDisputeResponse{Dispute: d}, nil
}
