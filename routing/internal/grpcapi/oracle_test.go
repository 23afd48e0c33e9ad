package grpcapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// disputeCalls is every RPC of routing that names one dispute, each with a
// request valid enough to reach the handler.
func disputeCalls(c routingv1.RoutingServiceClient, name string) map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"GetTracking": func(ctx context.Context) error {
			_, err := c.GetTracking(ctx, &routingv1.GetTrackingRequest{Name: name})
			return err
		},
		"RouteDispute": func(ctx context.Context) error {
			_, err := c.RouteDispute(ctx, &routingv1.RouteDisputeRequest{Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_SELF, Opinion: "本部门办理"})
			return err
		},
		"ReceiveTransfer": func(ctx context.Context) error {
			_, err := c.ReceiveTransfer(ctx, &routingv1.ReceiveTransferRequest{Name: name})
			return err
		},
		"ReturnTransfer": func(ctx context.Context) error {
			_, err := c.ReturnTransfer(ctx, &routingv1.ReturnTransferRequest{Name: name, Reason: "不属本部门职责"})
			return err
		},
		"RecordReply": func(ctx context.Context) error {
			_, err := c.RecordReply(ctx, &routingv1.RecordReplyRequest{Name: name, Outcome: "已核定", Text: "书面告知"})
			return err
		},
		"RecordObjection": func(ctx context.Context) error {
			_, err := c.RecordObjection(ctx, &routingv1.RecordObjectionRequest{Name: name, Remedy: typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION})
			return err
		},
		"AddProgressNote": func(ctx context.Context) error {
			_, err := c.AddProgressNote(ctx, &routingv1.AddProgressNoteRequest{Name: name, Text: "已调取缴费记录"})
			return err
		},
		"PauseClock": func(ctx context.Context) error {
			_, err := c.PauseClock(ctx, &routingv1.PauseClockRequest{Name: name, Reason: "等待单位补充材料"})
			return err
		},
		"ResumeClock": func(ctx context.Context) error {
			_, err := c.ResumeClock(ctx, &routingv1.ResumeClockRequest{Name: name})
			return err
		},
		"RequestExtension": func(ctx context.Context) error {
			_, err := c.RequestExtension(ctx, &routingv1.RequestExtensionRequest{Name: name, Days: 5, Reason: "案情复杂"})
			return err
		},
		"DecideExtension": func(ctx context.Context) error {
			_, err := c.DecideExtension(ctx, &routingv1.DecideExtensionRequest{Name: name, Approve: true})
			return err
		},
		"RecordDelivery": func(ctx context.Context) error {
			_, err := c.RecordDelivery(ctx, &routingv1.RecordDeliveryRequest{Name: name, Method: routingv1.DeliveryMethod_DELIVERY_METHOD_DIRECT, DeliveryDate: "2026-03-02"})
			return err
		},
		"RecordFollowUp": func(ctx context.Context) error {
			_, err := c.RecordFollowUp(ctx, &routingv1.RecordFollowUpRequest{Name: name, Satisfied: true})
			return err
		},
		"RedoDispute": func(ctx context.Context) error {
			_, err := c.RedoDispute(ctx, &routingv1.RedoDisputeRequest{Name: name, Reason: "答复不完整"})
			return err
		},
		"CloseDispute": func(ctx context.Context) error {
			_, err := c.CloseDispute(ctx, &routingv1.CloseDisputeRequest{Name: name, Reason: "办结"})
			return err
		},
	}
}

// TestNoExistenceOracle calls every dispute RPC as a department with no
// part in the dispute, before the dispute exists and after: the answers
// are the same, byte for byte. Role refusals (the office-only RPCs) stay
// PERMISSION_DENIED both times; another region is refused from the name.
func TestNoExistenceOracle(t *testing.T) {
	f := start(t)
	ev := registered(t, 31, "tax")
	name := ev.GetDispute()
	calls := disputeCalls(f.client, name)

	missing := map[string]*status.Status{}
	for rpc, call := range calls {
		missing[rpc] = status.Convert(call(f.as(t, "finance")))
	}
	f.publish(t, ev)
	f.waitTracking(t, name, exists)

	// Roles finance's clerk does not hold: refused by the role table first.
	officeOnly := map[string]bool{"RedoDispute": true, "DecideExtension": true}
	for rpc, call := range calls {
		t.Run(rpc, func(t *testing.T) {
			err := call(f.as(t, "finance"))
			if officeOnly[rpc] {
				wantCode(t, err, codes.PermissionDenied, "PERMISSION_DENIED", "")
			} else {
				wantCode(t, err, codes.NotFound, "TRACKING_NOT_FOUND", "")
				if msg := status.Convert(err).Message(); !strings.Contains(msg, name) || strings.Contains(msg, "tax") {
					t.Errorf("message %q: want the requested name and nothing of the dispute", msg)
				}
			}
			if d := cmp.Diff(missing[rpc].Proto(), status.Convert(err).Proto(), protocmp.Transform()); d != "" {
				t.Errorf("exists in another department vs does not exist (-missing +exists):\n%s", d)
			}
			err = call(f.as(t, "other_region"))
			if rpc == "GetTracking" || officeOnly[rpc] {
				wantCode(t, err, codes.PermissionDenied, "", "")
			} else {
				// other_region is an office: its role passes, its region not.
				wantCode(t, err, codes.PermissionDenied, "PERMISSION_DENIED", "region")
			}
		})
	}
}

// TestTrackerLimits: a holder cannot grow a tracker past its caps; the next
// note or pause is FAILED_PRECONDITION with reason LIMIT_REACHED naming the
// limit.
func TestTrackerLimits(t *testing.T) {
	now := time.Date(2026, 8, 31, 10, 0, 0, 0, cst) // a Monday
	f := startAt(t, func() time.Time { return now })
	name := f.open(t, 51, "tax", now.Add(-time.Hour))
	if _, err := f.client.RouteDispute(f.as(t, "tax"), &routingv1.RouteDisputeRequest{Name: name,
		Kind: routingv1.RouteKind_ROUTE_KIND_SELF, Opinion: "本部门办理"}); err != nil {
		t.Fatal(err)
	}
	// A note is at most 2000 characters (Chinese text counts characters,
	// not bytes).
	_, err := f.client.AddProgressNote(f.as(t, "tax"), &routingv1.AddProgressNoteRequest{Name: name, Text: strings.Repeat("进", 2001)})
	wantCode(t, err, codes.InvalidArgument, "", "text")
	for i := range tracker.MaxNotes {
		text := fmt.Sprint("进展 ", i)
		if i == 0 {
			text = strings.Repeat("进", 2000)
		}
		if _, err := f.client.AddProgressNote(f.as(t, "tax"), &routingv1.AddProgressNoteRequest{Name: name, Text: text}); err != nil {
			t.Fatalf("note %d: %v", i+1, err)
		}
	}
	_, err = f.client.AddProgressNote(f.as(t, "tax"), &routingv1.AddProgressNoteRequest{Name: name, Text: "one too many"})
	wantCode(t, err, codes.FailedPrecondition, tracker.ReasonLimitReached, fmt.Sprint(tracker.MaxNotes))

	for i := range tracker.MaxPausesPerClock {
		if _, err := f.client.PauseClock(f.as(t, "tax"), &routingv1.PauseClockRequest{Name: name, Reason: "等待材料"}); err != nil {
			t.Fatalf("pause %d: %v", i+1, err)
		}
		if _, err := f.client.ResumeClock(f.as(t, "tax"), &routingv1.ResumeClockRequest{Name: name}); err != nil {
			t.Fatalf("resume %d: %v", i+1, err)
		}
	}
	_, err = f.client.PauseClock(f.as(t, "tax"), &routingv1.PauseClockRequest{Name: name, Reason: "等待材料"})
	wantCode(t, err, codes.FailedPrecondition, tracker.ReasonLimitReached, fmt.Sprint(tracker.MaxPausesPerClock))
}
