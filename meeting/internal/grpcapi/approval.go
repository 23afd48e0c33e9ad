package grpcapi

import (
	"context"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// RequestApproval asks the convenor to send a major matter to the one-stop
// mediation platform (报请召集人同意) and publishes ApprovalRequested.
func (s *MeetingServer) RequestApproval(ctx context.Context, req *meetingv1.RequestApprovalRequest) (*meetingv1.RequestApprovalResponse, error) {
	id, region, _, err := childCaller(ctx, req.GetParent(), "", "parent")
	if err != nil {
		return nil, err
	}
	dispute, dregion, err := parseDispute(req.GetDispute(), "dispute")
	if err != nil {
		return nil, err
	}
	if dregion != region {
		return nil, apierr.Invalid(apierr.Violation{Field: "dispute", Reason: "dispute of region " + dregion + ", not of " + region})
	}
	now := s.now()
	a := &office.Approval{ID: events.NewID(now), Dispute: dispute, Summary: req.GetSummary(), RequestTime: now}
	err = s.store.Update(ctx, region, func(r *store.Reader) (*store.Writes, error) {
		m, err := matter(r, dispute)
		if err != nil {
			return nil, err
		}
		if err := office.RequestApproval(m, a); err != nil {
			return nil, err
		}
		ev, err := s.event(id, dispute, a.Summary, &meetingv1.ApprovalRequested{Approval: approvalProto(region, a)}, now)
		if err != nil {
			return nil, err
		}
		return &store.Writes{Matters: []*office.Matter{m}, Approvals: []*office.Approval{a}, Events: []*eventv1.Event{ev}}, nil
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &meetingv1.RequestApprovalResponse{Approval: approvalProto(region, a)}, nil
}

// DecideApproval records the convenor's decision and publishes
// ApprovalDecided: approved, the matter goes to the platform; declined, it
// is back at the office.
func (s *MeetingServer) DecideApproval(ctx context.Context, req *meetingv1.DecideApprovalRequest) (*meetingv1.DecideApprovalResponse, error) {
	id, region, approvalID, err := childCaller(ctx, req.GetName(), "approvals", "name")
	if err != nil {
		return nil, err
	}
	var out *office.Approval
	err = s.store.Update(ctx, region, func(r *store.Reader) (*store.Writes, error) {
		a, err := r.Approval(approvalID)
		if err != nil {
			return nil, err
		}
		if a == nil {
			return nil, &office.NotFoundError{Reason: office.ReasonApprovalNotFound, What: "approval " + req.GetName()}
		}
		m, err := matter(r, a.Dispute)
		if err != nil {
			return nil, err
		}
		now := s.now()
		if err := office.DecideApproval(m, a, req.GetApprove(), req.GetComment(), now); err != nil {
			return nil, err
		}
		ev, err := s.event(id, a.Dispute, a.Comment, &meetingv1.ApprovalDecided{Approval: approvalProto(region, a)}, now)
		if err != nil {
			return nil, err
		}
		out = a
		return &store.Writes{Matters: []*office.Matter{m}, Approvals: []*office.Approval{a}, Events: []*eventv1.Event{ev}}, nil
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &meetingv1.DecideApprovalResponse{Approval: approvalProto(region, out)}, nil
}
