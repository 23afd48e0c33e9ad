package grpcapi

import (
	"context"

	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/wire"
)

// GetTracking returns a dispute's state, holder, clocks and history to a
// department that registered, holds or held it, or to the region's office
// and convenor; and, for their stage, to the guest readers (invited units,
// the platform, warned departments), who see personal numbers in its free
// text masked as they do not hold the dispute.
func (s *Server) GetTracking(ctx context.Context, req *routingv1.GetTrackingRequest) (*routingv1.GetTrackingResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := inRegion(c, req.GetName()); err != nil {
		return nil, s.toStatus(err)
	}
	t, err := s.store.Get(ctx, req.GetName())
	if err != nil {
		return nil, s.toStatus(hideMissing(req.GetName(), err))
	}
	if !t.CanView(c) {
		return nil, s.toStatus(notFound(req.GetName()))
	}
	out := wire.Tracking(t, s.calendar, s.now())
	if !c.RegionWide && t.IsGuest(c.Department) {
		wire.MaskText(out)
	}
	return &routingv1.GetTrackingResponse{Tracking: out}, nil
}
