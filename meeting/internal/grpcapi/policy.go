package grpcapi

import (
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// anyStaff is every role of platform/authn: every staff role reads its
// region's roster (docs/SECURITY.md), the head who decides extensions too.
var anyStaff = []string{
	authn.RoleClerk, authn.RoleHandler, authn.RoleOffice,
	authn.RoleConvenor, authn.RolePlatform, authn.RoleAdmin, authn.RoleHead,
}

var (
	meetingReaders = []string{
		authn.RoleClerk, authn.RoleHandler, authn.RoleOffice, authn.RoleConvenor, authn.RolePlatform,
	}
	approvalReaders = []string{authn.RoleOffice, authn.RoleConvenor, authn.RolePlatform}
	warningReaders  = []string{authn.RoleClerk, authn.RoleHandler, authn.RoleOffice, authn.RoleConvenor}
)

// Policy is who may call each RPC of the meeting service, by token role.
// Region and per-dispute checks happen in the handlers.
var Policy = authn.Policy{
	// Every member unit reads the roster; only administrators change it.
	rosterv1.RosterService_GetRoster_FullMethodName:    {AnyRole: anyStaff},
	rosterv1.RosterService_UpdateRoster_FullMethodName: {AnyRole: []string{authn.RoleAdmin}},
	// The roster's audit trail: administrators and the office, which keeps
	// the joint meeting's records.
	rosterv1.RosterService_ListRosterChanges_FullMethodName: {AnyRole: []string{authn.RoleAdmin, authn.RoleOffice}},

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
	// Meetings are read by the office, the convenor and the units invited
	// (the handler checks the invitation); the office records minutes.
	meetingv1.MeetingService_GetMeeting_FullMethodName:    {AnyRole: meetingReaders},
	meetingv1.MeetingService_ListMeetings_FullMethodName:  {AnyRole: meetingReaders},
	meetingv1.MeetingService_RecordMinutes_FullMethodName: {AnyRole: []string{authn.RoleOffice}},
	// Approvals are read by the office, the convenor (its worklist) and the
	// platform (the matters sent to it).
	meetingv1.MeetingService_GetApproval_FullMethodName:   {AnyRole: approvalReaders},
	meetingv1.MeetingService_ListApprovals_FullMethodName: {AnyRole: approvalReaders},
	// Mass-dispute warnings are read by the units addressed (the petition
	// bureau), the office and the convenor, and acknowledged by the units
	// addressed (the handler checks which).
	meetingv1.MeetingService_ListMassWarnings_FullMethodName: {AnyRole: warningReaders},
	meetingv1.MeetingService_GetMassWarning_FullMethodName:   {AnyRole: warningReaders},
	meetingv1.MeetingService_AcknowledgeMassWarning_FullMethodName: {AnyRole: []string{
		authn.RoleClerk, authn.RoleHandler, authn.RoleOffice}},
	// The one-stop mediation platform reports its outcome.
	meetingv1.MeetingService_RecordPlatformOutcome_FullMethodName: {AnyRole: []string{authn.RolePlatform}},
}
