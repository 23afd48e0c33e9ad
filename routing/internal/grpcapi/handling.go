package grpcapi

import (
	"context"

	"google.golang.org/protobuf/proto"

	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
	"github.com/xiaoyi-disputes/disputes/routing/internal/wire"
)

// change runs one authorised change of dispute name by the caller: fn
// applies the domain rule and returns what to publish.
func (s *Server) change(ctx context.Context, name, etag string, fn func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error)) (*routingv1.Tracking, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := inRegion(c, name); err != nil {
		return nil, s.toStatus(err)
	}
	t, err := s.mutate(ctx, c, name, etag, func(t *tracker.Tracker, _ *store.Tx) (eventPayload, error) {
		return fn(c, t)
	})
	if err != nil {
		return nil, s.toStatus(err)
	}
	return wire.Tracking(t, s.calendar, s.now()), nil
}

// RecordReply records the holder's written reply (书面告知) with the
// remedies' last dates; the dispute becomes REPLIED and its objection
// window opens.
func (s *Server) RecordReply(ctx context.Context, req *routingv1.RecordReplyRequest) (*routingv1.RecordReplyResponse, error) {
	tr, err := s.change(ctx, req.GetName(), req.GetEtag(), func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error) {
		r, err := t.RecordReply(c, tracker.ReplyInput{
			Outcome: req.GetOutcome(), Text: req.GetText(), Remedies: req.GetRemedies(),
		}, s.calendar, s.now())
		if err != nil {
			return eventPayload{}, err
		}
		s.legal.Fill(r, t.Region, t.Holder)
		return eventPayload{reason: r.Outcome, msg: &routingv1.ReplyRecorded{Reply: wire.Reply(r)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.RecordReplyResponse{Tracking: tr}, nil
}

// AddProgressNote records handling progress (办理进展).
func (s *Server) AddProgressNote(ctx context.Context, req *routingv1.AddProgressNoteRequest) (*routingv1.AddProgressNoteResponse, error) {
	tr, err := s.change(ctx, req.GetName(), "", func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error) {
		if err := t.AddNote(c, req.GetText(), s.now()); err != nil {
			return eventPayload{}, err
		}
		return eventPayload{msg: &routingv1.ProgressNoteAdded{Text: req.GetText()}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.AddProgressNoteResponse{Tracking: tr}, nil
}

// RecordFollowUp records the follow-up call after the reply (回访).
func (s *Server) RecordFollowUp(ctx context.Context, req *routingv1.RecordFollowUpRequest) (*routingv1.RecordFollowUpResponse, error) {
	tr, err := s.change(ctx, req.GetName(), "", func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error) {
		f, err := t.RecordFollowUp(c, req.GetSatisfied(), req.GetNote(), s.now())
		if err != nil {
			return eventPayload{}, err
		}
		return eventPayload{reason: req.GetNote(), msg: &routingv1.FollowUpRecorded{FollowUp: wire.FollowUp(*f)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.RecordFollowUpResponse{Tracking: tr}, nil
}

// RedoDispute sends a replied dispute back to its holder (发回重办).
func (s *Server) RedoDispute(ctx context.Context, req *routingv1.RedoDisputeRequest) (*routingv1.RedoDisputeResponse, error) {
	tr, err := s.change(ctx, req.GetName(), "", func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error) {
		if err := t.Redo(c, req.GetReason(), s.calendar, s.now()); err != nil {
			return eventPayload{}, err
		}
		return eventPayload{reason: req.GetReason(), msg: &routingv1.DisputeRedone{Reason: req.GetReason(), Holder: t.Holder}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.RedoDisputeResponse{Tracking: tr}, nil
}

// RecordObjection records the claimant's objection and the remedy chosen;
// the dispute closes.
func (s *Server) RecordObjection(ctx context.Context, req *routingv1.RecordObjectionRequest) (*routingv1.RecordObjectionResponse, error) {
	tr, err := s.change(ctx, req.GetName(), "", func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error) {
		if err := t.Object(c, req.GetRemedy(), req.GetNote(), s.now()); err != nil {
			return eventPayload{}, err
		}
		return eventPayload{
			reason: req.GetNote(),
			msg:    &routingv1.ObjectionRecorded{Remedy: req.GetRemedy(), Note: req.GetNote()},
			also:   []proto.Message{&routingv1.DisputeClosed{Cause: tracker.CauseObjection}},
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.RecordObjectionResponse{Tracking: tr}, nil
}

// CloseDispute closes a replied dispute by its holder (办结).
func (s *Server) CloseDispute(ctx context.Context, req *routingv1.CloseDisputeRequest) (*routingv1.CloseDisputeResponse, error) {
	tr, err := s.change(ctx, req.GetName(), "", func(c tracker.Caller, t *tracker.Tracker) (eventPayload, error) {
		if err := t.Close(c, req.GetReason(), s.now()); err != nil {
			return eventPayload{}, err
		}
		return eventPayload{reason: req.GetReason(), msg: &routingv1.DisputeClosed{Cause: tracker.CauseClosedByHolder}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.CloseDisputeResponse{Tracking: tr}, nil
}
