package grpcapi

import (
	"context"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// TriageMatter classifies a dispute at the office as a general or a major
// matter (梳理分类) and publishes MatterTriaged.
func (s *MeetingServer) TriageMatter(ctx context.Context, req *meetingv1.TriageMatterRequest) (*meetingv1.TriageMatterResponse, error) {
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
		if err := m.Triage(office.Class(req.GetClass())); err != nil {
			return nil, err
		}
		ev, err := s.event(id, name, req.GetNote(), &meetingv1.MatterTriaged{Class: req.GetClass(), Note: req.GetNote()}, s.now())
		if err != nil {
			return nil, err
		}
		after = m
		return &store.Writes{Matters: []*office.Matter{m}, Events: []*eventv1.Event{ev}}, nil
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &meetingv1.TriageMatterResponse{Name: name, Class: req.GetClass(), State: after.State}, nil
}
