package grpcapi

import (
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// Policy is who may call each RPC, by token role. Per-dispute and
// per-department checks happen in the handlers (see allowed).
var Policy = authn.Policy{
	intakev1.IntakeService_RegisterDispute_FullMethodName: {AnyRole: []string{authn.RoleClerk}},
	// The platform's staff read a matter while it is at the platform (a
	// guest reader, numbers masked: docs/ARCHITECTURE.md, "The office path");
	// the head of a unit reads what its unit may read: the extensions it
	// decides concern those disputes.
	intakev1.IntakeService_GetDispute_FullMethodName: {AnyRole: []string{
		authn.RoleClerk, authn.RoleHandler, authn.RoleOffice, authn.RoleConvenor, authn.RolePlatform, authn.RoleHead}},
	// A batch of reads, each checked as GetDispute checks it.
	intakev1.IntakeService_BatchGetDisputes_FullMethodName: {AnyRole: []string{
		authn.RoleClerk, authn.RoleHandler, authn.RoleOffice, authn.RoleConvenor, authn.RolePlatform, authn.RoleHead}},
	intakev1.IntakeService_ListDisputes_FullMethodName: {AnyRole: []string{
		authn.RoleClerk, authn.RoleHandler, authn.RoleOffice, authn.RoleConvenor}},
	intakev1.IntakeService_WithdrawDispute_FullMethodName: {AnyRole: []string{
		authn.RoleClerk, authn.RoleHandler, authn.RoleOffice}},
	// The claimant's lookup needs no token: the number and the receipt's
	// lookup code are the credential, limited per number and per client.
	intakev1.IntakeService_LookupDispute_FullMethodName: {Public: true},
}
