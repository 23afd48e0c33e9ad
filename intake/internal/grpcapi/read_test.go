package grpcapi_test

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/intake/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

func TestGetDisputeAccess(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	clerk := e.as(conn, region, "tax", "clerk1", "clerk")
	resp, err := clerk.RegisterDispute(clerk.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "r1", Dispute: validForm()})
	if err != nil {
		t.Fatal(err)
	}
	n := resp.GetDispute().GetName()
	for _, tc := range []struct {
		name   string
		c      caller
		target string
		code   codes.Code
		reason string
	}{
		{"registering clerk", clerk, n, codes.OK, ""},
		{"registering department's handler", e.as(conn, region, "tax", "h1", "handler"), n, codes.OK, ""},
		{"office", e.as(conn, region, "tax", "o1", "office"), n, codes.OK, ""},
		{"convenor", e.as(conn, region, "gov_office", "c1", "convenor"), n, codes.OK, ""},
		{"another department", e.as(conn, region, "hrss", "clerk2", "clerk", "handler"), n, codes.NotFound, grpcapi.ReasonDisputeNotFound},
		{"another region's office", e.as(conn, "141182", "tax", "o2", "office"), n, codes.PermissionDenied, dispute.ReasonRegionMismatch},
		{"admin role", e.as(conn, region, "tax", "a1", "admin"), n, codes.PermissionDenied, ""},
		{"missing", clerk, name(e, 99), codes.NotFound, grpcapi.ReasonDisputeNotFound},
		{"malformed name", clerk, "regions/141181/disputes/x", codes.InvalidArgument, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.GetDispute(tc.c.ctx(t), &intakev1.GetDisputeRequest{Name: tc.target})
			if tc.code == codes.OK {
				if err != nil {
					t.Fatal(err)
				}
				// Get shows the numbers in full to those allowed.
				if got.GetDispute().GetClaimant().GetPhone() != phone {
					t.Errorf("phone = %q, want it unmasked", got.GetDispute().GetClaimant().GetPhone())
				}
				return
			}
			wantCode(t, err, tc.code, tc.reason)
		})
	}
	t.Run("no token", func(t *testing.T) {
		_, err := intakev1.NewIntakeServiceClient(conn).GetDispute(t.Context(), &intakev1.GetDisputeRequest{Name: n})
		wantCode(t, err, codes.Unauthenticated, "")
	})
}

func TestListDisputes(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	tax := e.as(conn, region, "tax", "clerk1", "clerk")
	hrss := e.as(conn, region, "hrss", "clerk2", "clerk")
	office := e.as(conn, region, "tax", "o1", "office")
	start := e.clock.Now()

	// 12 registrations, one a second: odd ones by hrss, every third about
	// late fees, number 5 from a company.
	for i := 1; i <= 12; i++ {
		e.clock.Set(start.Add(time.Duration(i) * time.Second))
		c, d := tax, validForm()
		if i%2 == 1 {
			c, d.RegisteringDepartment = hrss, "hrss"
		}
		if i%3 == 0 {
			d.Category = typesv1.Category_CATEGORY_LATE_FEE
		}
		if i == 5 {
			d.Claimant = &intakev1.Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER, Name: "某公司",
				Phone: "0358-7654321", CreditCode: creditCode}
		}
		if _, err := c.RegisterDispute(c.ctx(t), &intakev1.RegisterDisputeRequest{
			Parent: parent, RequestId: fmt.Sprint("r", i), Dispute: d,
		}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(ns ...int) []string {
		var out []string
		for _, n := range ns {
			out = append(out, name(e, n))
		}
		return out
	}
	at := func(i int) *timestamppb.Timestamp { return timestamppb.New(start.Add(time.Duration(i) * time.Second)) }

	for _, tc := range []struct {
		name string
		c    caller
		req  *intakev1.ListDisputesRequest
		want []string
	}{
		{"office sees all, newest first", office, &intakev1.ListDisputesRequest{},
			names(12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)},
		{"a clerk sees their department's", tax, &intakev1.ListDisputesRequest{}, names(12, 10, 8, 6, 4, 2)},
		{"a clerk may name their own department", hrss, &intakev1.ListDisputesRequest{RegisteringDepartment: "hrss"}, names(11, 9, 7, 5, 3, 1)},
		{"office filters by department", office, &intakev1.ListDisputesRequest{RegisteringDepartment: "hrss"}, names(11, 9, 7, 5, 3, 1)},
		{"category", office, &intakev1.ListDisputesRequest{Category: typesv1.Category_CATEGORY_LATE_FEE}, names(12, 9, 6, 3)},
		{"category and department", tax, &intakev1.ListDisputesRequest{Category: typesv1.Category_CATEGORY_LATE_FEE}, names(12, 6)},
		{"channel", office, &intakev1.ListDisputesRequest{Channel: typesv1.Channel_CHANNEL_PETITION}, nil},
		{"jurisdiction", office, &intakev1.ListDisputesRequest{Jurisdiction: "141181001"}, names(12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)},
		{"time range [3s, 6s)", office, &intakev1.ListDisputesRequest{RegisterTimeFrom: at(3), RegisterTimeTo: at(6)}, names(5, 4, 3)},
		{"claimant phone", office, &intakev1.ListDisputesRequest{ClaimantPhone: "0358-7654321"}, names(5)},
		{"claimant id number, lower-case x", office, &intakev1.ListDisputesRequest{ClaimantIdNumber: "11010519491231002x"}, names(12, 11, 10, 9, 8, 7, 6, 4, 3, 2, 1)},
		{"claimant credit code", office, &intakev1.ListDisputesRequest{ClaimantCreditCode: creditCode}, names(5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Page by 5 to cross page boundaries.
			var got []string
			req := tc.req
			req.Parent, req.PageSize = parent, 5
			for page := 0; ; page++ {
				resp, err := tc.c.ListDisputes(tc.c.ctx(t), req)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range resp.GetDisputes() {
					got = append(got, d.GetName())
				}
				if resp.GetNextPageToken() == "" {
					break
				}
				if len(resp.GetDisputes()) != 5 {
					t.Errorf("page %d has %d disputes and a next token; pages are kept full", page, len(resp.GetDisputes()))
				}
				req.PageToken = resp.GetNextPageToken()
				if page > 10 {
					t.Fatal("too many pages")
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("listed (-want +got):\n%s", d)
			}
		})
	}

	t.Run("numbers masked", func(t *testing.T) {
		resp, err := office.ListDisputes(office.ctx(t), &intakev1.ListDisputesRequest{Parent: parent})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range resp.GetDisputes() {
			c := d.GetClaimant()
			want := map[string][2]string{
				"phone":       {c.GetPhone(), "138****5678"},
				"id_number":   {c.GetIdNumber(), "110105********002X"},
				"credit_code": {c.GetCreditCode(), ""},
			}
			if d.GetName() == name(e, 5) {
				want = map[string][2]string{
					"phone":       {c.GetPhone(), "0358-*****21"},
					"id_number":   {c.GetIdNumber(), ""},
					"credit_code": {c.GetCreditCode(), "9135**********0Y43"},
				}
			}
			for field, gw := range want {
				if gw[0] != gw[1] {
					t.Errorf("%s %s = %q, want %q", d.GetName(), field, gw[0], gw[1])
				}
			}
		}
	})

	for _, tc := range []struct {
		name   string
		c      caller
		req    *intakev1.ListDisputesRequest
		code   codes.Code
		reason string
	}{
		{"a clerk may not list another department", tax, &intakev1.ListDisputesRequest{RegisteringDepartment: "hrss"}, codes.PermissionDenied, dispute.ReasonDepartmentMismatch},
		{"another region", office, &intakev1.ListDisputesRequest{Parent: "regions/141182"}, codes.PermissionDenied, dispute.ReasonRegionMismatch},
		{"malformed page token", office, &intakev1.ListDisputesRequest{PageToken: "not a token"}, codes.InvalidArgument, apierr.ReasonInvalidArgument},
		{"forged page token", office, &intakev1.ListDisputesRequest{PageToken: base64.RawURLEncoding.EncodeToString([]byte("x/y"))}, codes.InvalidArgument, apierr.ReasonInvalidArgument},
		{"page size over 500", office, &intakev1.ListDisputesRequest{PageSize: 501}, codes.InvalidArgument, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.Parent == "" {
				tc.req.Parent = parent
			}
			_, err := tc.c.ListDisputes(tc.c.ctx(t), tc.req)
			wantCode(t, err, tc.code, tc.reason)
			if tc.reason == apierr.ReasonInvalidArgument {
				if vs := apierr.FieldViolations(err); len(vs) != 1 || vs[0].Field != "page_token" {
					t.Errorf("violations = %v, want page_token", vs)
				}
			}
		})
	}
}

// TestListMasksFreeText: the numbers a clerk typed into the complaint are
// masked in lists like the claimant's own; GetDispute shows them in full.
func TestListMasksFreeText(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	tax := e.as(conn, region, "tax", "clerk1", "clerk")
	d := validForm()
	d.Complaint = "申请人13912345678（身份证142301199001011234，原电话0358-7654321）称单位91350100M000100Y43未缴费"
	n := tax.register(t, d).GetDispute().GetName()
	resp, err := tax.ListDisputes(tax.ctx(t), &intakev1.ListDisputesRequest{Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetDisputes()) != 1 {
		t.Fatalf("listed %d disputes", len(resp.GetDisputes()))
	}
	want := "申请人139****5678（身份证142301********1234，原电话0358-*****21）称单位9135**********0Y43未缴费"
	if got := resp.GetDisputes()[0].GetComplaint(); got != want {
		t.Errorf("listed complaint %q, want %q", got, want)
	}
	if got := tax.get(t, n).GetComplaint(); got != d.GetComplaint() {
		t.Errorf("GetDispute complaint %q, want it in full", got)
	}
}
