// Package grpcapi is the meeting service's gRPC face: thin handlers that
// check the caller, call the roster and meeting logic, and map errors in one
// place (toStatus); and the access policy of every RPC.
package grpcapi

import (
	"google.golang.org/grpc"

	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// Register registers the meeting service's gRPC services on s.
func Register(s grpc.ServiceRegistrar, rs *RosterServer, ms *MeetingServer) {
	rosterv1.RegisterRosterServiceServer(s, rs)
	meetingv1.RegisterMeetingServiceServer(s, ms)
}
