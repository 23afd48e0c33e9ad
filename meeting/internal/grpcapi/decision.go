package grpcapi

import (
	"context"
	"fmt"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// IssueDecision consolidates the invited units' opinions into the office's
// decision and written reply, and publishes DecisionIssued; routing records
// the reply.
func (s *MeetingServer) IssueDecision(ctx context.Context, req *meetingv1.IssueDecisionRequest) (*meetingv1.IssueDecisionResponse, error) {
	m, _, err := s.changeMatter(ctx, req.GetName(), req.GetOutcome(),
		&meetingv1.DecisionIssued{Outcome: req.GetOutcome(), Text: req.GetText(), Remedies: req.GetRemedies()},
		func(r *store.Reader, m *office.Matter) error {
			var meetings []*office.Meeting
			for _, mid := range m.Meetings {
				mt, err := r.Meeting(mid)
				if err != nil {
					return err
				}
				if mt == nil {
					return fmt.Errorf("meeting %s of %s is missing", mid, m.Name)
				}
				meetings = append(meetings, mt)
			}
			return office.Decide(m, meetings)
		})
	if err != nil {
		return nil, err
	}
	return &meetingv1.IssueDecisionResponse{State: m.State}, nil
}
