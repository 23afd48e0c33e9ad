package grpcapi

import (
	"context"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// SubmitOpinion records the caller's unit's written opinion (书面意见) on a
// dispute of the meeting's agenda and publishes OpinionSubmitted. A unit's
// later opinion on the same dispute replaces its earlier one until the
// office decides.
func (s *MeetingServer) SubmitOpinion(ctx context.Context, req *meetingv1.SubmitOpinionRequest) (*meetingv1.SubmitOpinionResponse, error) {
	id, region, meetingID, err := childCaller(ctx, req.GetParent(), "meetings", "parent")
	if err != nil {
		return nil, err
	}
	dispute, dregion, err := parseDispute(req.GetOpinion().GetDispute(), "opinion.dispute")
	if err != nil {
		return nil, err
	}
	if dregion != region {
		return nil, apierr.Invalid(apierr.Violation{Field: "opinion.dispute", Reason: "dispute of region " + dregion + ", not of " + region})
	}
	op := office.Opinion{Dispute: dispute, Unit: id.Department, Text: req.GetOpinion().GetText(), Staff: id.Staff, Time: s.now()}
	err = s.store.Update(ctx, region, func(r *store.Reader) (*store.Writes, error) {
		mt, err := r.Meeting(meetingID)
		if err != nil {
			return nil, err
		}
		if mt == nil || !mt.Invites(op.Unit) {
			// A unit not invited gets the answer for a meeting that does
			// not exist: nothing of the meeting, not even that it exists.
			return nil, &office.NotFoundError{Reason: office.ReasonMeetingNotFound, What: "meeting " + req.GetParent()}
		}
		if err := office.MayGiveOpinion(mt, op); err != nil {
			return nil, err
		}
		m, err := matter(r, dispute)
		if err != nil {
			return nil, err
		}
		if err := office.SubmitOpinion(mt, m, op); err != nil {
			return nil, err
		}
		ev, err := s.event(id, dispute, "", &meetingv1.OpinionSubmitted{
			Meeting: meetingName(region, meetingID), Opinion: opinionProto(op)}, op.Time)
		if err != nil {
			return nil, err
		}
		return &store.Writes{Meetings: []*office.Meeting{mt}, Events: []*eventv1.Event{ev}}, nil
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &meetingv1.SubmitOpinionResponse{Opinion: opinionProto(op)}, nil
}
