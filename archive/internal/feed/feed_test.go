package feed_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/archive/internal/feed"
	"github.com/xiaoyi-disputes/disputes/platform/events"
)

func TestExtractStates(t *testing.T) {
	const name = "regions/141181/disputes/2026-7"
	for _, tc := range []struct {
		payload proto.Message
		want    typesv1.DisputeState
		dept    string
	}{
		{&routingv1.ReplyRecorded{}, typesv1.DisputeState_DISPUTE_STATE_REPLIED, ""},
		{&routingv1.DisputeRedone{Holder: "hrss", Reason: "不满意"}, typesv1.DisputeState_DISPUTE_STATE_HANDLING, "hrss"},
		{&routingv1.DisputeClosed{Cause: "objection"}, typesv1.DisputeState_DISPUTE_STATE_CLOSED, ""},
		{&routingv1.TransferReturned{SentToOffice: true}, typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE, ""},
	} {
		ev, err := events.New("routing", "141181", name, nil, "", tc.payload, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		targets, fact, err := feed.Extract(ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(targets) != 1 || targets[0] != name {
			t.Errorf("%s: targets %v", ev.GetType(), targets)
		}
		if fact.State != tc.want {
			t.Errorf("%s: state %v, want %v", ev.GetType(), fact.State, tc.want)
		}
		if tc.dept != "" && (len(fact.Departments) != 1 || fact.Departments[0] != tc.dept) {
			t.Errorf("%s: departments %v, want [%s]", ev.GetType(), fact.Departments, tc.dept)
		}
	}
}
