package grpcapi

import (
	"slices"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
)

func method(name string) string {
	return "/" + routingv1.RoutingService_ServiceDesc.ServiceName + "/" + name
}

var (
	staff = []string{authn.RoleClerk, authn.RoleHandler, authn.RoleOffice}
	// viewers read trackings and worklists; the head of a unit reads its
	// unit's, which hold the extensions it decides.
	viewers = []string{authn.RoleClerk, authn.RoleHandler, authn.RoleOffice, authn.RoleConvenor, authn.RolePlatform, authn.RoleHead}
)

// Policy is routing's per-RPC role table. Which department may act on which
// dispute is decided per call by the tracker's rules.
var Policy = authn.Policy{
	method("RouteDispute"):     {AnyRole: staff},
	method("ReceiveTransfer"):  {AnyRole: staff},
	method("ReturnTransfer"):   {AnyRole: staff},
	method("RecordReply"):      {AnyRole: staff},
	method("RecordObjection"):  {AnyRole: staff},
	method("AddProgressNote"):  {AnyRole: staff},
	method("RecordFollowUp"):   {AnyRole: staff},
	method("RedoDispute"):      {AnyRole: []string{authn.RoleOffice}},
	method("CloseDispute"):     {AnyRole: staff},
	method("PauseClock"):       {AnyRole: staff},
	method("ResumeClock"):      {AnyRole: staff},
	method("RequestExtension"): {AnyRole: staff},
	method("DecideExtension"):  {AnyRole: []string{authn.RoleHead}},
	method("RecordDelivery"):   {AnyRole: staff},
	method("ListWorklist"):     {AnyRole: viewers},
	method("GetTracking"):      {AnyRole: viewers},
	// Every staff role learns a missing calendar year: the console shows
	// it to all, so the administrator hears of it from anyone.
	method("GetCalendarStatus"): {AnyRole: append(slices.Clone(viewers), authn.RoleAdmin)},
}
