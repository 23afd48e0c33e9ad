package grpcapi

import (
	"context"

	"google.golang.org/protobuf/proto"

	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
	"github.com/xiaoyi-disputes/disputes/routing/internal/wire"
)

// eventPayload is what a change publishes: the payload and its reason,
// and any further payloads published after it in the same transaction.
type eventPayload struct {
	msg    proto.Message
	reason string
	also   []proto.Message
}

// ReceiveTransfer signs for a transferred dispute (签收); only the receiving
// department may.
func (s *Server) ReceiveTransfer(ctx context.Context, req *routingv1.ReceiveTransferRequest) (*routingv1.ReceiveTransferResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := inRegion(c, req.GetName()); err != nil {
		return nil, s.toStatus(err)
	}
	t, err := s.mutate(ctx, c, req.GetName(), req.GetEtag(), func(t *tracker.Tracker, _ *store.Tx) (eventPayload, error) {
		slip, err := t.Receive(c, s.calendar, s.now())
		if err != nil {
			return eventPayload{}, err
		}
		return eventPayload{msg: &routingv1.TransferReceived{Slip: wire.Slip(slip)}}, nil
	})
	if err != nil {
		return nil, s.toStatus(err)
	}
	return &routingv1.ReceiveTransferResponse{Tracking: wire.Tracking(t, s.calendar, s.now())}, nil
}

// ReturnTransfer sends a transfer back with the reason (退回); the second
// return sends the dispute to the joint-meeting office.
func (s *Server) ReturnTransfer(ctx context.Context, req *routingv1.ReturnTransferRequest) (*routingv1.ReturnTransferResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := inRegion(c, req.GetName()); err != nil {
		return nil, s.toStatus(err)
	}
	ros, err := s.rosterOf(c.Region)
	if err != nil {
		return nil, s.toStatus(err)
	}
	t, err := s.mutate(ctx, c, req.GetName(), req.GetEtag(), func(t *tracker.Tracker, x *store.Tx) (eventPayload, error) {
		slip, toOffice, err := t.Return(c, req.GetReason(), ros.officeHost, x.NextSlip, s.calendar, s.now())
		if err != nil {
			return eventPayload{}, err
		}
		return eventPayload{reason: req.GetReason(), msg: &routingv1.TransferReturned{
			Slip: wire.Slip(slip), ReturnCount: t.ReturnCount, SentToOffice: toOffice,
		}}, nil
	})
	if err != nil {
		return nil, s.toStatus(err)
	}
	return &routingv1.ReturnTransferResponse{Tracking: wire.Tracking(t, s.calendar, s.now())}, nil
}
