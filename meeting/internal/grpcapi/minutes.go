package grpcapi

import (
	"context"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// RecordMinutes records a meeting's minutes (会议纪要), replacing earlier
// ones, and publishes MinutesRecorded: once per dispute on the agenda, so
// each dossier holds the minutes, and once without a dispute for a plenary
// meeting.
func (s *MeetingServer) RecordMinutes(ctx context.Context, req *meetingv1.RecordMinutesRequest) (*meetingv1.RecordMinutesResponse, error) {
	id, region, meetingID, err := childCaller(ctx, req.GetName(), "meetings", "name")
	if err != nil {
		return nil, err
	}
	in := req.GetMinutes()
	mn := office.Minutes{Text: in.GetText(), Decisions: in.GetDecisions(), Time: s.now(), RecordedBy: id.Staff}
	for _, a := range in.GetAttendees() {
		mn.Attendees = append(mn.Attendees, office.Attendee{Unit: a.GetUnit(), Name: a.GetName(), Title: a.GetTitle()})
	}
	ros, ok := s.rosters.Get(region)
	if !ok {
		return nil, apierr.Newf(codes.Unavailable, ReasonRosterUnavailable, "roster of region %s is not loaded", region)
	}
	if err := office.ValidateMinutes(&mn, func(u string) bool { _, ok := roster.FindUnit(ros, u); return ok }, "minutes"); err != nil {
		return nil, toStatus(err)
	}
	var out *office.Meeting
	err = s.store.Update(ctx, region, func(r *store.Reader) (*store.Writes, error) {
		mt, err := r.Meeting(meetingID)
		if err != nil {
			return nil, err
		}
		if mt == nil {
			return nil, meetingNotFound(req.GetName())
		}
		office.RecordMinutes(mt, mn)
		payload := &meetingv1.MinutesRecorded{Meeting: req.GetName(), Minutes: minutesProto(mt.Minutes)}
		disputes := mt.Disputes
		if len(disputes) == 0 {
			disputes = []string{""}
		}
		var evs []*eventv1.Event
		for _, d := range disputes {
			ev, err := s.event(id, d, "", payload, mn.Time)
			if err != nil {
				return nil, err
			}
			evs = append(evs, ev)
		}
		out = mt
		return &store.Writes{Meetings: []*office.Meeting{mt}, Events: evs}, nil
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &meetingv1.RecordMinutesResponse{Meeting: meetingProto(region, out)}, nil
}
