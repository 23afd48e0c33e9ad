package grpcapi

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// ConveneMeeting convenes member units on general matters (召开联席会议)
// and publishes MeetingConvened. A retry with the same request_id returns
// the meeting the first call convened.
func (s *MeetingServer) ConveneMeeting(ctx context.Context, req *meetingv1.ConveneMeetingRequest) (*meetingv1.ConveneMeetingResponse, error) {
	id, region, _, err := childCaller(ctx, req.GetParent(), "", "parent")
	if err != nil {
		return nil, err
	}
	in := req.GetMeeting()
	now := s.now()
	mt := &office.Meeting{
		ID:           events.NewID(now),
		InvitedUnits: in.GetInvitedUnits(),
		Place:        in.GetPlace(),
		Agenda:       in.GetAgenda(),
		ConvenedAt:   now,
		Kind:         office.Kind(in.GetKind()),
	}
	if mt.Kind == 0 {
		mt.Kind = office.KindJointHandling
	}
	if in.GetStartTime() != nil {
		mt.StartTime = in.GetStartTime().AsTime()
	}
	var bad []apierr.Violation
	for i, d := range in.GetDisputes() {
		field := fmt.Sprintf("meeting.disputes[%d]", i)
		canon, r, err := parseDispute(d, field)
		switch {
		case err != nil:
			bad = append(bad, apierr.FieldViolations(err)...)
		case r != region:
			bad = append(bad, apierr.Violation{Field: field, Reason: fmt.Sprintf("dispute of region %s, not of %s", r, region)})
		}
		mt.Disputes = append(mt.Disputes, canon)
	}
	if len(bad) > 0 {
		return nil, apierr.Invalid(bad...)
	}
	ros, ok := s.rosters.Get(region)
	if !ok {
		return nil, apierr.Newf(codes.Unavailable, ReasonRosterUnavailable, "roster of region %s is not loaded", region)
	}
	if err := office.ValidateMeeting(mt, func(u string) bool { _, ok := roster.FindUnit(ros, u); return ok }, "meeting"); err != nil {
		return nil, toStatus(err)
	}

	var out *office.Meeting
	err = s.store.Update(ctx, region, func(r *store.Reader) (*store.Writes, error) {
		prior, err := r.ConvenedFor(req.GetRequestId())
		if err != nil {
			return nil, err
		}
		if prior != "" {
			if out, err = r.Meeting(prior); err != nil {
				return nil, err
			}
			if out == nil {
				return nil, fmt.Errorf("meeting %s of request %s is missing", prior, req.GetRequestId())
			}
			return nil, nil
		}
		var matters []*office.Matter
		for _, d := range mt.Disputes {
			m, err := matter(r, d)
			if err != nil {
				return nil, err
			}
			matters = append(matters, m)
		}
		if err := office.Convene(mt, matters); err != nil {
			return nil, err
		}
		// A meeting on one dispute is filed under it; on several, the
		// archive files it into each dispute of the agenda; a plenary
		// meeting concerns no dispute.
		var dispute string
		if len(mt.Disputes) == 1 {
			dispute = mt.Disputes[0]
		}
		ev, err := s.event(id, dispute, mt.Agenda, &meetingv1.MeetingConvened{Meeting: meetingProto(region, mt)}, now)
		if err != nil {
			return nil, err
		}
		out = mt
		return &store.Writes{
			Matters:  matters,
			Meetings: []*office.Meeting{mt},
			Request:  &store.ConveneRequest{ID: req.GetRequestId(), Meeting: mt.ID},
			Events:   []*eventv1.Event{ev},
		}, nil
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &meetingv1.ConveneMeetingResponse{Meeting: meetingProto(region, out)}, nil
}
