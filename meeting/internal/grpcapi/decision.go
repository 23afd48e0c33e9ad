package grpcapi

import (
	"context"
	"fmt"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// IssueDecision consolidates the invited units' opinions into the office's
// decision and written reply, and publishes DecisionIssued; routing records
// the reply.
func (s *MeetingServer) IssueDecision(ctx context.Context, req *meetingv1.IssueDecisionRequest) (*meetingv1.IssueDecisionResponse, error) {
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
		var meetings []*office.Meeting
		for _, mid := range m.Meetings {
			mt, err := r.Meeting(mid)
			if err != nil {
				return nil, err
			}
			if mt == nil {
				return nil, fmt.Errorf("meeting %s of %s is missing", mid, name)
			}
			meetings = append(meetings, mt)
		}
		if err := office.Decide(m, meetings); err != nil {
			return nil, err
		}
		ev, err := s.event(id, name, req.GetOutcome(), &meetingv1.DecisionIssued{
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
	return &meetingv1.IssueDecisionResponse{State: after.State}, nil
}
