package grpcapi

import (
	"context"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// RecordPlatformOutcome records the one-stop mediation platform's outcome
// of a major matter and publishes PlatformOutcomeRecorded; routing records
// the reply.
func (s *MeetingServer) RecordPlatformOutcome(ctx context.Context, req *meetingv1.RecordPlatformOutcomeRequest) (*meetingv1.RecordPlatformOutcomeResponse, error) {
	id, region, name, err := disputeCaller(ctx, req.GetName(), "name")
	if err != nil {
		return nil, err
	}
	var after *office.Matter
	err = s.store.Update(ctx, region, func(r *store.Reader) (*store.Writes, error) {
		m, err := matter(r, name)
		if err != nil {
			return nil, err
		}
		if err := office.PlatformOutcome(m); err != nil {
			return nil, err
		}
		ev, err := s.event(id, name, req.GetOutcome(), &meetingv1.PlatformOutcomeRecorded{
			Outcome: req.GetOutcome(), Text: req.GetText(), Remedies: req.GetRemedies()}, s.now())
		if err != nil {
			return nil, err
		}
		after = m
		return &store.Writes{Matters: []*office.Matter{m}, Events: []*eventv1.Event{ev}}, nil
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &meetingv1.RecordPlatformOutcomeResponse{State: after.State}, nil
}
