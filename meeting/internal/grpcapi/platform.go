package grpcapi

import (
	"context"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// RecordPlatformOutcome records the one-stop mediation platform's outcome
// of a major matter and publishes PlatformOutcomeRecorded; routing records
// the reply.
func (s *MeetingServer) RecordPlatformOutcome(ctx context.Context, req *meetingv1.RecordPlatformOutcomeRequest) (*meetingv1.RecordPlatformOutcomeResponse, error) {
	m, _, err := s.changeMatter(ctx, req.GetName(), req.GetOutcome(),
		&meetingv1.PlatformOutcomeRecorded{Outcome: req.GetOutcome(), Text: req.GetText(), Remedies: req.GetRemedies()},
		func(_ *store.Reader, m *office.Matter) error { return office.PlatformOutcome(m) })
	if err != nil {
		return nil, err
	}
	return &meetingv1.RecordPlatformOutcomeResponse{State: m.State}, nil
}
