package grpcapi

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
)

// changeMatter applies change to the matter of the dispute named by
// resource and publishes payload with it, in one transaction; it returns the
// matter as changed and the dispute's normalised name.
func (s *MeetingServer) changeMatter(ctx context.Context, resource, reason string, payload proto.Message,
	change func(r *store.Reader, m *office.Matter) error) (*office.Matter, string, error) {
	id, region, name, err := disputeCaller(ctx, resource, "name")
	if err != nil {
		return nil, "", err
	}
	var after *office.Matter
	err = s.store.Update(ctx, region, func(r *store.Reader) (*store.Writes, error) {
		m, err := matter(r, name)
		if err != nil {
			return nil, err
		}
		if err := change(r, m); err != nil {
			return nil, err
		}
		ev, err := s.event(id, name, reason, payload, s.now())
		if err != nil {
			return nil, err
		}
		after = m
		return &store.Writes{Matters: []*office.Matter{m}, Events: []*eventv1.Event{ev}}, nil
	})
	if err != nil {
		return nil, "", toStatus(err)
	}
	return after, name, nil
}
