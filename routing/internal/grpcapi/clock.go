package grpcapi

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
	"github.com/xiaoyi-disputes/disputes/routing/internal/wire"
)

// PauseClock stops the running clock with a reason; only the holder may.
func (s *Server) PauseClock(ctx context.Context, req *routingv1.PauseClockRequest) (*routingv1.PauseClockResponse, error) {
	tr, err := s.change(ctx, req.GetName(), "", func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error) {
		k, err := t.PauseClock(c, req.GetReason(), s.now())
		if err != nil {
			return eventPayload{}, err
		}
		return eventPayload{reason: req.GetReason(), msg: &routingv1.ClockPaused{Stage: routingv1.Stage(k.Stage), Reason: req.GetReason()}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.PauseClockResponse{Tracking: tr}, nil
}

// ResumeClock ends the pause; the days it gave back move the due time.
func (s *Server) ResumeClock(ctx context.Context, req *routingv1.ResumeClockRequest) (*routingv1.ResumeClockResponse, error) {
	tr, err := s.change(ctx, req.GetName(), "", func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error) {
		k, err := t.ResumeClock(c, s.calendar, s.now())
		if err != nil {
			return eventPayload{}, err
		}
		return eventPayload{msg: &routingv1.ClockResumed{Stage: routingv1.Stage(k.Stage), DueTime: timestamppb.New(k.Due)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.ResumeClockResponse{Tracking: tr}, nil
}

// RequestExtension asks for the one extension of the handling stage (延期).
func (s *Server) RequestExtension(ctx context.Context, req *routingv1.RequestExtensionRequest) (*routingv1.RequestExtensionResponse, error) {
	tr, err := s.change(ctx, req.GetName(), "", func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error) {
		e, err := t.RequestExtension(c, int(req.GetDays()), req.GetReason(), s.calendar, s.now())
		if err != nil {
			return eventPayload{}, err
		}
		return eventPayload{reason: req.GetReason(), msg: &routingv1.ExtensionRequested{Extension: wire.Extension(e)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.RequestExtensionResponse{Tracking: tr}, nil
}

// DecideExtension approves or declines the extension request: the head of
// the handling unit (role head, and in the roster when the unit lists its
// staff); approval moves the handling clock's due time.
func (s *Server) DecideExtension(ctx context.Context, req *routingv1.DecideExtensionRequest) (*routingv1.DecideExtensionResponse, error) {
	tr, err := s.change(ctx, req.GetName(), "", func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error) {
		e, k, err := t.DecideExtension(c, req.GetApprove(), req.GetComment(), s.calendar, s.now())
		if err != nil {
			return eventPayload{}, err
		}
		// Checked after the tracker's rules, so a caller who may not read
		// the dispute learns nothing; a refusal here discards the change.
		if err := s.headInRoster(c, t.Region, t.Holder); err != nil {
			return eventPayload{}, err
		}
		return eventPayload{reason: req.GetComment(), msg: &routingv1.ExtensionDecided{Extension: wire.Extension(e), DueTime: timestamppb.New(k.Due)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.DecideExtensionResponse{Tracking: tr}, nil
}

// headInRoster refuses a decision by a caller whom the roster, when it lists
// the unit's staff, does not list as that unit's head: the token's role
// alone does not make its holder the head of a unit whose staff is known.
func (s *Server) headInRoster(c tracker.Caller, region, unit string) error {
	r, ok := s.rosters.Get(region)
	if !ok {
		return errNoRoster
	}
	for _, u := range r.GetUnits() {
		if u.GetId() != unit || len(u.GetStaff()) == 0 {
			continue
		}
		for _, p := range u.GetStaff() {
			if p.GetId() == c.Staff && slices.Contains(p.GetRoles(), authn.RoleHead) {
				return nil
			}
		}
		return fmt.Errorf("%w: staff %s is not listed in the roster as the head of %s", tracker.ErrPermissionDenied, c.Staff, unit)
	}
	return nil
}
