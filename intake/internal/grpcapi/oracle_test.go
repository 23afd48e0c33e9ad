package grpcapi_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/intake/internal/grpcapi"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// TestNoExistenceOracle asks for one name before the dispute exists and
// again once another department registered it: a caller who may not read
// it gets the same answer, byte for byte, both times.
func TestNoExistenceOracle(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	tax := e.as(conn, region, "tax", "clerk1", "clerk")
	hrss := e.as(conn, region, "hrss", "h2", "clerk", "handler")
	n := name(e, 1)

	calls := map[string]func() error{
		"GetDispute": func() error {
			_, err := hrss.GetDispute(hrss.ctx(t), &intakev1.GetDisputeRequest{Name: n})
			return err
		},
		"WithdrawDispute": func() error {
			_, err := hrss.WithdrawDispute(hrss.ctx(t), &intakev1.WithdrawDisputeRequest{Name: n, Reason: "已协商"})
			return err
		},
	}
	missing := map[string]*status.Status{}
	for rpc, call := range calls {
		missing[rpc] = status.Convert(call())
	}
	if got := tax.register(t, validForm()).GetDispute().GetName(); got != n {
		t.Fatalf("registered %s, want %s", got, n)
	}
	for rpc, call := range calls {
		t.Run(rpc, func(t *testing.T) {
			err := call()
			wantCode(t, err, codes.NotFound, grpcapi.ReasonDisputeNotFound)
			if d := cmp.Diff(missing[rpc].Proto(), status.Convert(err).Proto(), protocmp.Transform()); d != "" {
				t.Errorf("exists in another department vs does not exist (-missing +exists):\n%s", d)
			}
			if msg := status.Convert(err).Message(); !strings.Contains(msg, n) || strings.Contains(msg, "tax") {
				t.Errorf("message %q: want the requested name and nothing of the dispute", msg)
			}
		})
	}
	// Another region is refused from the name alone, found or not.
	other := e.as(conn, "141182", "hrss", "h3", "handler")
	for _, target := range []string{n, name(e, 99)} {
		_, err := other.GetDispute(other.ctx(t), &intakev1.GetDisputeRequest{Name: target})
		wantCode(t, err, codes.PermissionDenied, "REGION_MISMATCH")
	}
}

// TestDuplicateRefHidesExisting: a duplicate 12345 work-order number is
// refused for everyone, but names the dispute holding it only to those who
// may read that dispute.
func TestDuplicateRefHidesExisting(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	approval := e.as(conn, region, "approval", "clerk9", "clerk")
	tax := e.as(conn, region, "tax", "clerk1", "clerk")
	hotline := func(dept string) *intakev1.Dispute {
		d := validForm()
		d.RegisteringDepartment, d.Channel, d.ExternalRef = dept, typesv1.Channel_CHANNEL_HOTLINE_12345, "12345-2026-0001"
		return d
	}
	n := approval.register(t, hotline("approval")).GetDispute().GetName()

	_, err := tax.RegisterDispute(tax.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "t1", Dispute: hotline("tax")})
	wantCode(t, err, codes.AlreadyExists, grpcapi.ReasonExternalRefExists)
	if msg := status.Convert(err).Message(); strings.Contains(msg, n) || strings.Contains(msg, "disputes/") {
		t.Errorf("refusal to another department names the existing dispute: %q", msg)
	}
	_, err = approval.RegisterDispute(approval.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "a2", Dispute: hotline("approval")})
	wantCode(t, err, codes.AlreadyExists, grpcapi.ReasonExternalRefExists)
	if msg := status.Convert(err).Message(); !strings.Contains(msg, n) {
		t.Errorf("refusal to the registering department %q does not name %s", msg, n)
	}
}
