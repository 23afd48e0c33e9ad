package grpcapi

import (
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
)

// MeetingServer implements meetingv1.MeetingServiceServer. Triage, meetings,
// opinions, decisions, approvals and the platform hand-off answer
// UNIMPLEMENTED until their handlers land.
type MeetingServer struct {
	meetingv1.UnimplementedMeetingServiceServer
}
