package grpcapi

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

var warningStates = map[meetingv1.MassWarningState]store.WarningState{
	meetingv1.MassWarningState_MASS_WARNING_STATE_UNSPECIFIED:  store.WarningAny,
	meetingv1.MassWarningState_MASS_WARNING_STATE_PENDING:      store.WarningPending,
	meetingv1.MassWarningState_MASS_WARNING_STATE_ACKNOWLEDGED: store.WarningAcknowledged,
}

// officeHost is the unit hosting the office in region's roster.
func (s *MeetingServer) officeHost(region string) (string, error) {
	ros, ok := s.rosters.Get(region)
	if !ok {
		return "", apierr.Newf(codes.Unavailable, ReasonRosterUnavailable, "roster of region %s is not loaded", region)
	}
	return ros.GetLeadership().GetOfficeHostUnit(), nil
}

// ListMassWarnings lists mass-dispute warnings, oldest first: the region's
// for the office and the convenor, those addressed to the caller's unit for
// anyone else; PENDING is the petition bureau's worklist.
func (s *MeetingServer) ListMassWarnings(ctx context.Context, req *meetingv1.ListMassWarningsRequest) (*meetingv1.ListMassWarningsResponse, error) {
	id, region, _, err := childCaller(ctx, req.GetParent(), "", "parent")
	if err != nil {
		return nil, err
	}
	host, err := s.officeHost(region)
	if err != nil {
		return nil, err
	}
	rd := readerOf(id)
	unit := ""
	if !rd.RegionWide {
		unit = rd.Unit
	}
	state := warningStates[req.GetState()]
	query := fmt.Sprintf("%s|%s|%s", req.GetParent(), unit, state)
	after, size, err := readPage(req.GetPageToken(), req.GetPageSize(), query)
	if err != nil {
		return nil, toStatus(err)
	}
	ws, next, err := s.store.ListWarnings(ctx, region, unit, state, after, size)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &meetingv1.ListMassWarningsResponse{NextPageToken: nextToken(query, next)}
	for _, w := range ws {
		out.MassWarnings = append(out.MassWarnings, warningProto(region, host, w, true))
	}
	return out, nil
}

func warningNotFound(name string) error {
	return &office.NotFoundError{Reason: office.ReasonWarningNotFound, What: "mass-dispute warning " + name}
}

// GetMassWarning reads a mass-dispute warning. A caller who may not read it
// gets the answer for one that does not exist.
func (s *MeetingServer) GetMassWarning(ctx context.Context, req *meetingv1.GetMassWarningRequest) (*meetingv1.GetMassWarningResponse, error) {
	id, region, warningID, err := childCaller(ctx, req.GetName(), "massWarnings", "name")
	if err != nil {
		return nil, err
	}
	host, err := s.officeHost(region)
	if err != nil {
		return nil, err
	}
	w, err := s.store.Warning(ctx, region, warningID)
	if err != nil {
		return nil, toStatus(err)
	}
	if w == nil || !readerOf(id).CanReadWarning(w) {
		return nil, toStatus(warningNotFound(req.GetName()))
	}
	return &meetingv1.GetMassWarningResponse{MassWarning: warningProto(region, host, w, false)}, nil
}

// AcknowledgeMassWarning records that a unit the warning is for steps in
// early (提前介入) and publishes MassWarningAcknowledged, filed in the
// dossier of the warning's dispute. A retry with the same request_id
// returns the warning as acknowledged then; a unit the warning is not
// addressed to gets the answer for a warning that does not exist.
func (s *MeetingServer) AcknowledgeMassWarning(ctx context.Context, req *meetingv1.AcknowledgeMassWarningRequest) (*meetingv1.AcknowledgeMassWarningResponse, error) {
	id, region, warningID, err := childCaller(ctx, req.GetName(), "massWarnings", "name")
	if err != nil {
		return nil, err
	}
	host, err := s.officeHost(region)
	if err != nil {
		return nil, err
	}
	var out *office.MassWarning
	err = s.store.Update(ctx, region, func(r *store.Reader) (*store.Writes, error) {
		w, err := r.Warning(warningID)
		if err != nil {
			return nil, err
		}
		if w == nil || !readerOf(id).CanReadWarning(w) {
			return nil, warningNotFound(req.GetName())
		}
		now := s.now()
		changed, err := office.Acknowledge(w, host, office.Acknowledgement{
			Unit: id.Department, Staff: id.Staff, Time: now, Note: req.GetNote(), RequestID: req.GetRequestId()})
		if err != nil || !changed {
			out = w
			return nil, err
		}
		ev, err := s.event(id, w.Dispute, w.Ack.Note, &meetingv1.MassWarningAcknowledged{MassWarning: warningProto(region, host, w, false)}, now)
		if err != nil {
			return nil, err
		}
		out = w
		return &store.Writes{Warnings: []*office.MassWarning{w}, Events: []*eventv1.Event{ev}}, nil
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &meetingv1.AcknowledgeMassWarningResponse{MassWarning: warningProto(region, host, out, false)}, nil
}
