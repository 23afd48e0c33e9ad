package grpcapi

import (
	"context"
	"fmt"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// readerOf is who the caller is to the office's records: the office and
// the convenor read their whole region, everyone else as their unit.
func readerOf(id authn.Identity) office.Reader {
	return office.Reader{
		Unit:       id.Department,
		RegionWide: id.HasAnyRole(authn.RoleOffice, authn.RoleConvenor),
		Platform:   id.HasRole(authn.RolePlatform),
	}
}

func meetingNotFound(name string) error {
	return &office.NotFoundError{Reason: office.ReasonMeetingNotFound, What: "meeting " + name}
}

func approvalNotFound(name string) error {
	return &office.NotFoundError{Reason: office.ReasonApprovalNotFound, What: "approval " + name}
}

// GetMeeting reads a meeting. A caller who may not read it gets the answer
// for a meeting that does not exist.
func (s *MeetingServer) GetMeeting(ctx context.Context, req *meetingv1.GetMeetingRequest) (*meetingv1.GetMeetingResponse, error) {
	id, region, meetingID, err := childCaller(ctx, req.GetName(), "meetings", "name")
	if err != nil {
		return nil, err
	}
	mt, err := s.store.Meeting(ctx, region, meetingID)
	if err != nil {
		return nil, toStatus(err)
	}
	rd := readerOf(id)
	if mt == nil || !rd.CanRead(mt) {
		return nil, toStatus(meetingNotFound(req.GetName()))
	}
	return &meetingv1.GetMeetingResponse{Meeting: meetingProto(region, rd.View(mt))}, nil
}

// sameRegionDispute checks an optional dispute filter in field names a
// dispute of region.
func sameRegionDispute(name, region, field string) error {
	if name == "" {
		return nil
	}
	_, dregion, err := parseDispute(name, field)
	if err != nil {
		return err
	}
	if dregion != region {
		return apierr.Invalid(apierr.Violation{Field: field, Reason: "dispute of region " + dregion + ", not of " + region})
	}
	return nil
}

// ListMeetings lists meetings, oldest first: any of the region for the
// office and the convenor, the caller's unit's for anyone else.
func (s *MeetingServer) ListMeetings(ctx context.Context, req *meetingv1.ListMeetingsRequest) (*meetingv1.ListMeetingsResponse, error) {
	id, region, _, err := childCaller(ctx, req.GetParent(), "", "parent")
	if err != nil {
		return nil, err
	}
	if err := sameRegionDispute(req.GetDispute(), region, "dispute"); err != nil {
		return nil, err
	}
	rd := readerOf(id)
	f := store.MeetingFilter{Dispute: req.GetDispute(), Unit: req.GetInvitedUnit(), Kind: office.Kind(req.GetKind())}
	if !rd.RegionWide {
		if f.Unit != "" && f.Unit != rd.Unit {
			return nil, toStatus(&office.DeniedError{Msg: fmt.Sprintf(
				"unit %s may list only the meetings it is invited to (invited_unit %q or empty)", rd.Unit, rd.Unit)})
		}
		f.Unit = rd.Unit
	}
	query := fmt.Sprintf("%s|%s|%s|%d", req.GetParent(), f.Dispute, f.Unit, f.Kind)
	after, size, err := readPage(req.GetPageToken(), req.GetPageSize(), query)
	if err != nil {
		return nil, toStatus(err)
	}
	mts, next, err := s.store.ListMeetings(ctx, region, f, after, size)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &meetingv1.ListMeetingsResponse{NextPageToken: nextToken(query, next)}
	for _, mt := range mts {
		out.Meetings = append(out.Meetings, meetingProto(region, rd.View(mt)))
	}
	return out, nil
}

// GetApproval reads an approval request. A caller who may not read it gets
// the answer for one that does not exist.
func (s *MeetingServer) GetApproval(ctx context.Context, req *meetingv1.GetApprovalRequest) (*meetingv1.GetApprovalResponse, error) {
	id, region, approvalID, err := childCaller(ctx, req.GetName(), "approvals", "name")
	if err != nil {
		return nil, err
	}
	a, err := s.store.Approval(ctx, region, approvalID)
	if err != nil {
		return nil, toStatus(err)
	}
	if a == nil || !readerOf(id).CanReadApproval(a) {
		return nil, toStatus(approvalNotFound(req.GetName()))
	}
	return &meetingv1.GetApprovalResponse{Approval: approvalProto(region, a)}, nil
}

// ListApprovals lists approval requests, oldest first; PENDING is the
// convenor's worklist. The platform lists the approvals of matters sent to
// it.
func (s *MeetingServer) ListApprovals(ctx context.Context, req *meetingv1.ListApprovalsRequest) (*meetingv1.ListApprovalsResponse, error) {
	id, region, _, err := childCaller(ctx, req.GetParent(), "", "parent")
	if err != nil {
		return nil, err
	}
	if err := sameRegionDispute(req.GetDispute(), region, "dispute"); err != nil {
		return nil, err
	}
	rd := readerOf(id)
	if !rd.RegionWide && !rd.Platform {
		return nil, toStatus(&office.DeniedError{Msg: "approval requests are read by the office, the convenor and the mediation platform"})
	}
	f := store.ApprovalFilter{Dispute: req.GetDispute(), State: store.ApprovalState(req.GetState()), ApprovedOnly: !rd.RegionWide}
	query := fmt.Sprintf("%s|%s|%d|%t", req.GetParent(), f.Dispute, f.State, f.ApprovedOnly)
	after, size, err := readPage(req.GetPageToken(), req.GetPageSize(), query)
	if err != nil {
		return nil, toStatus(err)
	}
	as, next, err := s.store.ListApprovals(ctx, region, f, after, size)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &meetingv1.ListApprovalsResponse{NextPageToken: nextToken(query, next)}
	for _, a := range as {
		out.Approvals = append(out.Approvals, approvalProto(region, a))
	}
	return out, nil
}
