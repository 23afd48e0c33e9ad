package grpcapi_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// TestBatchGetDisputes: a page of names in one call gives the disputes the
// caller may read, in order, numbers masked; one it may not read is left
// out as a missing one is; a bad name is INVALID_ARGUMENT naming it.
func TestBatchGetDisputes(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	tax := e.as(conn, region, "tax", "clerk1", "clerk")
	hrss := e.as(conn, region, "hrss", "clerk2", "clerk")
	var taxNames []string
	for i, c := range []caller{tax, tax} {
		resp, err := c.RegisterDispute(c.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "b" + string(rune('1'+i)), Dispute: validForm()})
		if err != nil {
			t.Fatal(err)
		}
		taxNames = append(taxNames, resp.GetDispute().GetName())
	}
	form := validForm()
	form.RegisteringDepartment = "hrss"
	resp, err := hrss.RegisterDispute(hrss.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "b3", Dispute: form})
	if err != nil {
		t.Fatal(err)
	}
	hrssName := resp.GetDispute().GetName()
	ask := []string{taxNames[1], hrssName, name(e, 99), taxNames[0]}

	got, err := tax.BatchGetDisputes(tax.ctx(t), &intakev1.BatchGetDisputesRequest{Parent: parent, Names: ask})
	if err != nil {
		t.Fatal(err)
	}
	var gotNames []string
	for _, d := range got.GetDisputes() {
		gotNames = append(gotNames, d.GetName())
		if d.GetClaimant().GetPhone() == phone || d.GetClaimant().GetName() == "" || d.GetComplaint() == "" {
			t.Errorf("%s: claimant %v, complaint %q: want the name and complaint, the phone masked", d.GetName(), d.GetClaimant(), d.GetComplaint())
		}
	}
	if len(gotNames) != 2 || gotNames[0] != taxNames[1] || gotNames[1] != taxNames[0] {
		t.Errorf("got %v, want %v (hrss's and the missing one left out)", gotNames, []string{taxNames[1], taxNames[0]})
	}

	office := e.as(conn, region, "tax", "o1", "office")
	got, err = office.BatchGetDisputes(office.ctx(t), &intakev1.BatchGetDisputesRequest{Parent: parent, Names: ask})
	if err != nil || len(got.GetDisputes()) != 3 {
		t.Errorf("office: %d disputes, %v; want the three that exist", len(got.GetDisputes()), err)
	}

	for _, tc := range []struct {
		what   string
		c      caller
		req    *intakev1.BatchGetDisputesRequest
		code   codes.Code
		reason string
	}{
		{"a malformed name", tax, &intakev1.BatchGetDisputesRequest{Parent: parent, Names: []string{taxNames[0], "regions/141181/disputes/x"}}, codes.InvalidArgument, ""},
		{"a name of another region", tax, &intakev1.BatchGetDisputesRequest{Parent: parent, Names: []string{"regions/141182/disputes/2026-1"}}, codes.InvalidArgument, ""},
		{"no names", tax, &intakev1.BatchGetDisputesRequest{Parent: parent}, codes.InvalidArgument, ""},
		{"another region's caller", e.as(conn, "141182", "tax", "o2", "office"), &intakev1.BatchGetDisputesRequest{Parent: parent, Names: ask}, codes.PermissionDenied, dispute.ReasonRegionMismatch},
		{"the admin role", e.as(conn, region, "tax", "a1", "admin"), &intakev1.BatchGetDisputesRequest{Parent: parent, Names: ask}, codes.PermissionDenied, ""},
	} {
		t.Run(tc.what, func(t *testing.T) {
			_, err := tc.c.BatchGetDisputes(tc.c.ctx(t), tc.req)
			wantCode(t, err, tc.code, tc.reason)
		})
	}
}
