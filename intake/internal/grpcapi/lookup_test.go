package grpcapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/intake/internal/grpcapi"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// TestLookupDispute: the claimant's lookup needs no token, shows state,
// stage dates and the due date and nothing personal; a wrong code gets
// the answer of a number that does not exist; wrong codes are limited per
// number and per client address.
func TestLookupDispute(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	clerk := e.as(conn, region, "tax", "li_na", "clerk")
	anon := intakev1.NewIntakeServiceClient(conn)
	from := func(addr string) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		t.Cleanup(cancel)
		return metadata.AppendToOutgoingContext(ctx, grpcapi.ClientAddressHeader, addr)
	}

	reg := clerk.register(t, validForm()).GetDispute()
	n, code := reg.GetName(), reg.GetLookupCode()
	got, err := anon.LookupDispute(from("198.51.100.1"), &intakev1.LookupDisputeRequest{Name: n, LookupCode: strings.ToLower(code)})
	if err != nil {
		t.Fatal(err)
	}
	want := &intakev1.LookupDisputeResponse{
		State: typesv1.DisputeState_DISPUTE_STATE_REGISTERED, RegisterTime: reg.GetRegisterTime(),
		Stages: []*intakev1.StageDate{{State: typesv1.DisputeState_DISPUTE_STATE_REGISTERED, Time: reg.GetRegisterTime()}},
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Fatalf("lookup before routing reported (-want +got):\n%s", d)
	}

	// Routing's account: routed SELF, handling due on a date.
	routed := e.clock.Now().Add(time.Hour).Truncate(time.Second)
	e.clock.Set(routed)
	due := time.Date(2026, 7, 31, 23, 59, 59, 0, time.FixedZone("CST", 8*3600))
	e.routingEvent(t, n, &routingv1.TrackingOpened{Tracking: &routingv1.Tracking{Name: n}},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_REGISTERED, Holder: "tax", Readers: []string{"tax"}, Version: 1})
	e.routingEvent(t, n, &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_SELF},
		&eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_HANDLING, Holder: "tax", Readers: []string{"tax"}, Version: 2, DueTime: timestamppb.New(due)})
	got, err = anon.LookupDispute(from("198.51.100.1"), &intakev1.LookupDisputeRequest{Name: n, LookupCode: code})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetState() != typesv1.DisputeState_DISPUTE_STATE_HANDLING || len(got.GetStages()) != 2 ||
		got.GetStages()[1].GetState() != typesv1.DisputeState_DISPUTE_STATE_HANDLING || !got.GetStages()[1].GetTime().AsTime().Equal(routed) ||
		!got.GetDueTime().AsTime().Equal(due) {
		t.Fatalf("lookup after routing: %v", got)
	}
	raw, _ := protojson.Marshal(got)
	for _, personal := range []string{"张三", phone, idNumber, reg.GetComplaint(), code, n, reg.GetNumber()} {
		if strings.Contains(string(raw), personal) {
			t.Errorf("lookup answer shows %q: %s", personal, raw)
		}
	}

	// A wrong code and a number that does not exist: the same answer.
	missing := name(e, 999)
	_, wrong := anon.LookupDispute(from("198.51.100.2"), &intakev1.LookupDisputeRequest{Name: n, LookupCode: "WRONG234"})
	_, none := anon.LookupDispute(from("198.51.100.2"), &intakev1.LookupDisputeRequest{Name: missing, LookupCode: "WRONG234"})
	wantCode(t, wrong, codes.NotFound, grpcapi.ReasonDisputeNotFound)
	sw, sn := status.Convert(wrong).Proto(), status.Convert(none).Proto()
	sn.Message = strings.ReplaceAll(sn.GetMessage(), missing, n)
	if d := cmp.Diff(sn, sw, protocmp.Transform()); d != "" {
		t.Errorf("wrong code vs missing number (-missing +wrong):\n%s", d)
	}

	// Per number: the fifth wrong code locks the number, the right code included, for every client.
	for range grpcapi.DefaultLookupLimits.Number - 1 {
		_, err := anon.LookupDispute(from("198.51.100.3"), &intakev1.LookupDisputeRequest{Name: n, LookupCode: "WRONG234"})
		wantCode(t, err, codes.NotFound, grpcapi.ReasonDisputeNotFound)
	}
	_, err = anon.LookupDispute(from("198.51.100.4"), &intakev1.LookupDisputeRequest{Name: n, LookupCode: code})
	wantCode(t, err, codes.ResourceExhausted, grpcapi.ReasonTooManyLookups)
	if d := retryDelay(err); d <= 0 || d > grpcapi.DefaultLookupLimits.Window {
		t.Errorf("retry delay %v, want within the window", d)
	}

	// Per client: twenty wrong codes from one address lock that address for any number.
	other := clerk.register(t, validForm()).GetDispute()
	for i := range grpcapi.DefaultLookupLimits.Client {
		_, err := anon.LookupDispute(from("203.0.113.9"), &intakev1.LookupDisputeRequest{Name: name(e, 1000+int(i)), LookupCode: "WRONG234"})
		wantCode(t, err, codes.NotFound, grpcapi.ReasonDisputeNotFound)
	}
	_, err = anon.LookupDispute(from("203.0.113.9"), &intakev1.LookupDisputeRequest{Name: other.GetName(), LookupCode: other.GetLookupCode()})
	wantCode(t, err, codes.ResourceExhausted, grpcapi.ReasonTooManyLookups)
	if _, err := anon.LookupDispute(from("203.0.113.10"), &intakev1.LookupDisputeRequest{Name: other.GetName(), LookupCode: other.GetLookupCode()}); err != nil {
		t.Fatalf("another address: %v", err)
	}

	// A malformed name is INVALID_ARGUMENT naming the field, and counts nothing.
	_, err = anon.LookupDispute(from("198.51.100.5"), &intakev1.LookupDisputeRequest{Name: "regions/141181/disputes/x", LookupCode: code})
	wantCode(t, err, codes.InvalidArgument, "")
}

func retryDelay(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}
