package grpcapi

import (
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

var anyStaff = []string{
	authn.RoleClerk, authn.RoleHandler, authn.RoleOffice,
	authn.RoleConvenor, authn.RolePlatform, authn.RoleAdmin,
}

// Policy is who may call each RPC of the meeting service, by token role.
// Region and per-dispute checks happen in the handlers.
var Policy = authn.Policy{
	// Every member unit reads the roster; only administrators change it.
	rosterv1.RosterService_GetRoster_FullMethodName:    {AnyRole: anyStaff},
	rosterv1.RosterService_UpdateRoster_FullMethodName: {AnyRole: []string{authn.RoleAdmin}},

	// The joint-meeting office triages, convenes, decides and asks for approval.
	meetingv1.MeetingService_TriageMatter_FullMethodName:    {AnyRole: []string{authn.RoleOffice}},
	meetingv1.MeetingService_ConveneMeeting_FullMethodName:  {AnyRole: []string{authn.RoleOffice}},
	meetingv1.MeetingService_IssueDecision_FullMethodName:   {AnyRole: []string{authn.RoleOffice}},
	meetingv1.MeetingService_RequestApproval_FullMethodName: {AnyRole: []string{authn.RoleOffice}},
	// Co-handling units' handlers submit written opinions; the office's
	// staff do so for the host unit.
	meetingv1.MeetingService_SubmitOpinion_FullMethodName: {AnyRole: []string{authn.RoleHandler, authn.RoleOffice}},
	// The convenor decides on major matters.
	meetingv1.MeetingService_DecideApproval_FullMethodName: {AnyRole: []string{authn.RoleConvenor}},
	// The one-stop mediation platform reports its outcome.
	meetingv1.MeetingService_RecordPlatformOutcome_FullMethodName: {AnyRole: []string{authn.RolePlatform}},
}
