package feed_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/archive/internal/feed"
	"github.com/xiaoyi-disputes/disputes/platform/events"
)

// The lifecycle is copied from routing's Lifecycle, never worked out from
// the payload: a routing event tells exactly what its Lifecycle says, and
// another service's event about the same step tells nothing of it.
func TestExtractCopiesRoutingsLifecycle(t *testing.T) {
	const name = "regions/141181/disputes/2026-7"
	for _, tc := range []struct {
		source  string
		payload proto.Message
		lc      *eventv1.Lifecycle
	}{
		{"routing", &routingv1.ReplyRecorded{}, &eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_REPLIED, Version: 5, Readers: []string{"tax", "hrss"}}},
		{"routing", &routingv1.DisputeRedone{Holder: "hrss", Reason: "不满意"}, &eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_HANDLING, Version: 6, Readers: []string{"tax", "hrss"}}},
		{"routing", &routingv1.DisputeClosed{Cause: "objection"}, &eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_CLOSED, Version: 7}},
		// An invited unit reads the dispute, not its dossier.
		{"routing", &routingv1.OpinionsRequested{Units: []string{"finance"}}, &eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_JOINT_HANDLING, Version: 8,
			Readers: []string{"tax", "hrss", "finance"}, GuestReaders: []string{"finance"}}},
		{"meeting", &meetingv1.MatterTriaged{Class: meetingv1.MatterClass_MATTER_CLASS_MAJOR}, nil},
	} {
		ev, err := events.New(tc.source, "141181", name, nil, "", tc.payload, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ev.Lifecycle = tc.lc
		targets, fact, err := feed.Extract(ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(targets) != 1 || targets[0] != name {
			t.Errorf("%s: targets %v", ev.GetType(), targets)
		}
		wantReaders := slices.DeleteFunc(slices.Clone(tc.lc.GetReaders()), func(r string) bool { return slices.Contains(tc.lc.GetGuestReaders(), r) })
		if fact.State != tc.lc.GetState() || fact.Version != tc.lc.GetVersion() || !slices.Equal(fact.Readers, wantReaders) {
			t.Errorf("%s: fact %+v, want the lifecycle %v", ev.GetType(), fact, tc.lc)
		}
	}
}

// What the statistics count is read from the payloads.
func TestExtractCountedFacts(t *testing.T) {
	const name = "regions/141181/disputes/2026-7"
	due := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		payload proto.Message
		check   func(f dossier.Fact) bool
	}{
		{&intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{Jurisdiction: "141181002"}}, func(f dossier.Fact) bool { return f.Jurisdiction == "141181002" }},
		{&routingv1.ReplyRecorded{Reply: &routingv1.Reply{ReplyTime: timestamppb.New(due)}}, func(f dossier.Fact) bool { return f.ReplyTime.Equal(due) }},
		{&routingv1.Overdue{Stage: routingv1.Stage_STAGE_HANDLING, DueTime: timestamppb.New(due)}, func(f dossier.Fact) bool { return f.Overdue && f.HandlingDue.Equal(due) }},
		{&routingv1.Overdue{Stage: routingv1.Stage_STAGE_ROUTING, DueTime: timestamppb.New(due)}, func(f dossier.Fact) bool { return f.Overdue && f.HandlingDue.IsZero() }},
		{&routingv1.TransferReturned{}, func(f dossier.Fact) bool { return f.Returned }},
		{&routingv1.ExtensionDecided{Extension: &routingv1.Extension{Approved: true}}, func(f dossier.Fact) bool { return f.Extended }},
		{&routingv1.ExtensionDecided{Extension: &routingv1.Extension{Approved: false}}, func(f dossier.Fact) bool { return !f.Extended }},
		{&routingv1.FollowUpRecorded{FollowUp: &routingv1.FollowUp{Satisfied: true}}, func(f dossier.Fact) bool { return f.FollowUp && f.Satisfied }},
		{&routingv1.ProgressNoteAdded{}, func(f dossier.Fact) bool { return !f.FollowUp && !f.Overdue && f.ReplyTime.IsZero() }},
	} {
		ev, err := events.New("routing", "141181", name, nil, "", tc.payload, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ev.Lifecycle = &eventv1.Lifecycle{Version: 2, Holder: "hrss"}
		_, fact, err := feed.Extract(ev)
		if err != nil {
			t.Fatal(err)
		}
		if !tc.check(fact) || fact.Holder != "hrss" {
			t.Errorf("%s: fact %+v", ev.GetType(), fact)
		}
	}
}

// A mass-dispute warning is filed in each dossier it adds to the warning,
// its acknowledgement in each dossier it covers, the envelope's dispute
// always among them and none twice.
func TestExtractMassWarningTargets(t *testing.T) {
	d := func(n int) string { return "regions/141181/disputes/2026-" + string(rune('0'+n)) }
	for _, tc := range []struct {
		name     string
		envelope string
		payload  proto.Message
		want     []string
	}{
		{"raised naming three", d(3), &intakev1.MassDisputeWarning{Disputes: []string{d(1), d(2), d(3)}}, []string{d(3), d(1), d(2)}},
		{"a dispute added", d(4), &intakev1.MassDisputeWarning{Disputes: []string{d(4)}}, []string{d(4)}},
		{"published before warnings named disputes", d(5), &intakev1.MassDisputeWarning{}, []string{d(5)}},
		{"acknowledged", d(3), &meetingv1.MassWarningAcknowledged{MassWarning: &meetingv1.MassWarning{
			Disputes:        []string{d(1), d(2), d(3), d(4), d(5)},
			Acknowledgement: &meetingv1.MassWarningAcknowledgement{Disputes: []string{d(1), d(2), d(3), d(4)}},
		}}, []string{d(3), d(1), d(2), d(4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := events.New("intake", "141181", tc.envelope, nil, "", tc.payload, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			targets, _, err := feed.Extract(ev)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(targets, tc.want) {
				t.Errorf("targets %v, want %v", targets, tc.want)
			}
		})
	}
}
