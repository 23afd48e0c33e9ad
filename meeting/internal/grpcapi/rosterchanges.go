package grpcapi

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// ListRosterChanges pages the roster's audit trail, newest first, from the
// records UpdateRoster writes to etcd in the same transaction as the
// change (roster.Store).
func (s *RosterServer) ListRosterChanges(ctx context.Context, req *rosterv1.ListRosterChangesRequest) (*rosterv1.ListRosterChangesResponse, error) {
	_, region, err := callerRegion(ctx, req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	before, size, err := readPage(req.GetPageToken(), req.GetPageSize(), req.GetParent())
	if err != nil {
		return nil, toStatus(err)
	}
	lctx, cancel := context.WithTimeout(ctx, etcdTimeout)
	defer cancel()
	recs, err := roster.ChangesBefore(lctx, s.etcd, region, before, int64(size)+1)
	if err != nil {
		return nil, apierr.Newf(codes.Unavailable, ReasonRosterUnavailable, "roster changes of region %s unavailable: %v", region, err)
	}
	next := ""
	if len(recs) > size {
		recs = recs[:size]
		next = recs[size-1].ID
	}
	cur, _ := s.watcher.Get(region)
	out := make([]*rosterv1.RosterChange, 0, len(recs))
	for _, c := range recs {
		out = append(out, changeProto(c, cur))
	}
	return &rosterv1.ListRosterChangesResponse{Changes: out, NextPageToken: nextToken(req.GetParent(), next)}, nil
}

// changeProto is c as the API shows it, the actor's name from cur (the
// roster now; nil when none is held).
func changeProto(c roster.ChangeRecord, cur *rosterv1.Roster) *rosterv1.RosterChange {
	// Actor is "<region>/<department>/<staff>" (rosterfeed.ActorString).
	parts := strings.SplitN(c.Actor, "/", 3)
	var dept, staff string
	if len(parts) == 3 {
		dept, staff = parts[1], parts[2]
	}
	var display string
	for _, u := range cur.GetUnits() {
		for _, m := range u.GetStaff() {
			if m.GetId() == staff && staff != "" {
				display = m.GetDisplayName()
			}
		}
	}
	return &rosterv1.RosterChange{
		Id: c.ID, ChangeTime: timestamppb.New(c.Time), ActorDepartment: dept, ActorStaff: staff,
		ActorDisplayName: display, ActorRoles: c.Roles, Reason: c.Reason, Fields: c.Fields,
		OldEtag: c.OldEtag, NewEtag: c.NewEtag, UnitsAdded: c.UnitsAdded, UnitsRemoved: c.UnitsRemoved,
		StaffAdded: c.StaffAdded, StaffRemoved: c.StaffRemoved,
	}
}
