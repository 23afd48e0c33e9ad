package grpcapi

import (
	"context"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// TriageMatter classifies a dispute at the office as a general or a major
// matter (梳理分类) and publishes MatterTriaged.
func (s *MeetingServer) TriageMatter(ctx context.Context, req *meetingv1.TriageMatterRequest) (*meetingv1.TriageMatterResponse, error) {
	m, name, err := s.changeMatter(ctx, req.GetName(), req.GetNote(),
		&meetingv1.MatterTriaged{Class: req.GetClass(), Note: req.GetNote()},
		func(_ *store.Reader, m *office.Matter) error { return m.Triage(office.Class(req.GetClass())) })
	if err != nil {
		return nil, err
	}
	return &meetingv1.TriageMatterResponse{Name: name, Class: req.GetClass(), State: m.State}, nil
}
