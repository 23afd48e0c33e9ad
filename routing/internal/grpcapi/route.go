package grpcapi

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
	"github.com/xiaoyi-disputes/disputes/routing/internal/wire"
)

// mutate runs one authorised change of a tracker: fn applies the domain
// rule and returns the event payload and reason; the event is published in
// the same transaction as the change.
func (s *Server) mutate(ctx context.Context, c tracker.Caller, name, etag string,
	fn func(t *tracker.Tracker, x *store.Tx) (payload eventPayload, err error)) (*tracker.Tracker, error) {
	now := s.now()
	t, err := s.store.Mutate(ctx, name, now, func(t *tracker.Tracker, x *store.Tx) ([]*eventv1.Event, error) {
		if !t.CanView(c) {
			// The same answer as for a dispute that does not exist.
			return nil, notFound(name)
		}
		if err := t.CheckEtag(etag); err != nil {
			return nil, err
		}
		before := deadlines(t)
		p, err := fn(t, x)
		if err != nil {
			return nil, err
		}
		if err := s.checkCalendar(t.Region, before, deadlines(t), now); err != nil {
			return nil, err
		}
		// The events share their time; ascending ids keep their order for
		// readers that order by time and then id.
		ids := events.NewIDs(now, 1+len(p.also))
		var evs []*eventv1.Event
		for i, m := range append([]proto.Message{p.msg}, p.also...) {
			ev, err := events.New(store.Service, t.Region, t.Name, wire.ActorProto(c.Actor), p.reason, m, now)
			if err != nil {
				return nil, err
			}
			ev.Id = ids[i]
			evs = append(evs, ev)
		}
		t.StampEvent(evs[0].GetId())
		return evs, nil
	})
	return t, hideMissing(name, err)
}

// rosterOf returns the region's last valid roster.
func (s *Server) rosterOf(region string) (*rosterRef, error) {
	r, ok := s.rosters.Get(region)
	if !ok {
		return nil, fmt.Errorf("%w: region %s", errNoRoster, region)
	}
	return &rosterRef{officeHost: roster.OfficeHost(r), isUnit: func(id string) bool {
		_, ok := roster.FindUnit(r, id)
		return ok
	}}, nil
}

type rosterRef struct {
	officeHost string
	isUnit     func(string) bool
}

// RouteDispute routes a dispute SELF, TRANSFER or OFFICE (分类流转).
func (s *Server) RouteDispute(ctx context.Context, req *routingv1.RouteDisputeRequest) (*routingv1.RouteDisputeResponse, error) {
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
	var slip *tracker.Slip
	t, err := s.mutate(ctx, c, req.GetName(), req.GetEtag(), func(t *tracker.Tracker, x *store.Tx) (eventPayload, error) {
		var err error
		slip, err = t.Route(c, tracker.Route{
			Kind: tracker.RouteKind(req.GetKind()), Target: req.GetTargetDepartment(), Opinion: req.GetOpinion(),
			ReasonCode: req.GetReasonCode(), OfficeHost: ros.officeHost, IsUnit: ros.isUnit, NextSlip: x.NextSlip,
		}, s.calendar, s.now())
		if err != nil {
			return eventPayload{}, err
		}
		return eventPayload{reason: req.GetOpinion(), msg: &routingv1.DisputeRouted{
			Kind: req.GetKind(), TargetDepartment: req.GetTargetDepartment(), Opinion: req.GetOpinion(),
			ReasonCode: req.GetReasonCode(), Slip: wire.Slip(slip), State: t.State,
		}}, nil
	})
	if err != nil {
		return nil, s.toStatus(err)
	}
	return &routingv1.RouteDisputeResponse{Tracking: wire.Tracking(t, s.calendar, s.now()), Slip: wire.Slip(slip)}, nil
}
