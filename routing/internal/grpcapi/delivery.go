package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/legal"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
	"github.com/xiaoyi-disputes/disputes/routing/internal/wire"
)

// SetLegal gives the server the region's legal data, written into each
// reply recorded (the issuer's name, the reconsideration body, the court).
func (s *Server) SetLegal(l *legal.Source) { s.legal = l }

// RecordDelivery records how and when the written reply reached the
// claimant (送达). The remedies' last dates and the objection window count
// again from the delivery date; DeliveryRecorded is published in the same
// transaction as the change.
func (s *Server) RecordDelivery(ctx context.Context, req *routingv1.RecordDeliveryRequest) (*routingv1.RecordDeliveryResponse, error) {
	tr, err := s.change(ctx, req.GetName(), req.GetEtag(), func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error) {
		d, err := t.RecordDelivery(c, tracker.DeliveryInput{
			Method: tracker.DeliveryMethod(req.GetMethod()), Date: req.GetDeliveryDate(),
			Recipient: req.GetRecipient(), Note: req.GetNote(),
		}, s.calendar, s.now())
		if err != nil {
			return eventPayload{}, err
		}
		return eventPayload{reason: "delivered " + d.Date, msg: &routingv1.DeliveryRecorded{
			Delivery: wire.Delivery(d), Remedies: wire.Remedies(t.Reply.Remedies),
			ObjectionWindowEnd: timestamppb.New(t.ObjectionWindowEnd),
		}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.RecordDeliveryResponse{Tracking: tr}, nil
}
