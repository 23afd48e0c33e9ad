package grpcapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// WithdrawDispute records the claimant's withdrawal and publishes
// DisputeWithdrawn in the same transaction, in which the dispute also stops
// being open for links and mass-dispute counts; the other services close
// the dispute when they see it.
func (s *Service) WithdrawDispute(ctx context.Context, req *intakev1.WithdrawDisputeRequest) (*intakev1.WithdrawDisputeResponse, error) {
	resp, err := s.withdraw(ctx, req)
	return resp, toStatus(err)
}

func (s *Service) withdraw(ctx context.Context, req *intakev1.WithdrawDisputeRequest) (*intakev1.WithdrawDisputeResponse, error) {
	id, caller, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	region, disputeID, err := names.DisputeID(req.GetName())
	if err != nil {
		return nil, err
	}
	if err := dispute.CheckRegion(caller, region); err != nil {
		return nil, err
	}
	now := s.now()
	d, err := s.store.Withdraw(ctx, region, disputeID, func(d *intakev1.Dispute) (*eventv1.Event, error) {
		if !allowed(caller, d) {
			// The same answer as for a dispute that does not exist.
			return nil, dispute.NotFound(dispute.Name(region, disputeID))
		}
		var withdrawn time.Time
		if d.GetWithdrawTime() != nil {
			withdrawn = d.GetWithdrawTime().AsTime()
		}
		if err := dispute.CheckWithdraw(caller, accessOf(d), withdrawn); err != nil {
			return nil, err
		}
		d.WithdrawTime = timestamppb.New(now)
		d.WithdrawReason = req.GetReason()
		return events.New(store.Service, region, d.GetName(), events.ActorOf(id), req.GetReason(),
			&intakev1.DisputeWithdrawn{Reason: req.GetReason()}, now)
	})
	if err != nil {
		return nil, err
	}
	if d.LinkedDisputes, err = s.readable(ctx, caller, region, d.GetLinkedDisputes()); err != nil {
		return nil, err
	}
	return &intakev1.WithdrawDisputeResponse{Dispute: d}, nil
}
