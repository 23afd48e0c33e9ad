package routingfeed_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/intake/internal/routingfeed"
	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

const region = "141181"

type rosters map[string]*rosterv1.Roster

func (r rosters) Get(region string) (*rosterv1.Roster, bool) { v, ok := r[region]; return v, ok }

func TestHolders(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	s := store.New(rdb)
	now := time.Date(2026, 5, 4, 9, 30, 0, 0, dispute.Shanghai)
	d := &intakev1.Dispute{
		Claimant:  &intakev1.Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL, Name: "张三", Phone: "13812345678"},
		Complaint: "x", Category: typesv1.Category_CATEGORY_LATE_FEE, Channel: typesv1.Channel_CHANNEL_WINDOW,
		RegisteringDepartment: "petition", RegisterTime: timestamppb.New(now),
	}
	registered, _, err := s.Register(ctx, store.Registration{Region: region, RequestID: "r1", Time: now, Dispute: d,
		Actor:       &typesv1.Actor{Region: region, Department: "petition"},
		Identifiers: []string{"phone:13812345678"}})
	if err != nil {
		t.Fatal(err)
	}
	name := registered.GetName()
	f := &routingfeed.Feed{Store: s, Rosters: rosters{region: {Leadership: &rosterv1.Leadership{OfficeHostUnit: "tax"}}}}
	slip := func(to string) *routingv1.TransferSlip { return &routingv1.TransferSlip{ReceivingDepartment: to} }

	for _, tc := range []struct {
		name    string
		payload proto.Message
		want    []string
	}{
		{"self: the registering department", &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_SELF}, []string{"petition"}},
		{"office without a slip: the office host", &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE}, []string{"petition", "tax"}},
		{"transfer", &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: "hrss", Slip: slip("hrss")}, []string{"hrss", "petition", "tax"}},
		{"received", &routingv1.TransferReceived{Slip: slip("justice")}, []string{"hrss", "justice", "petition", "tax"}},
		{"returned to the registering department", &routingv1.TransferReturned{Slip: slip("justice"), ReturnCount: 1}, []string{"hrss", "justice", "petition", "tax"}},
		{"redone", &routingv1.DisputeRedone{Holder: "plc"}, []string{"hrss", "justice", "petition", "plc", "tax"}},
		{"a warning changes nothing", &routingv1.DeadlineWarning{Department: "finance"}, []string{"hrss", "justice", "petition", "plc", "tax"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := events.New("routing", region, name, &typesv1.Actor{Region: region, Department: "hrss"}, "", tc.payload, now)
			if err != nil {
				t.Fatal(err)
			}
			// Delivered twice (at-least-once): applied once.
			for i := 0; i < 2; i++ {
				if err := f.Handle(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Get(ctx, region, "2026-1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.GetHolders()); diff != "" {
				t.Errorf("holders (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("unknown dispute is retried", func(t *testing.T) {
		ev, err := events.New("routing", region, "regions/141181/disputes/2026-99", nil, "",
			&routingv1.DisputeRedone{Holder: "plc"}, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Handle(ctx, ev); err == nil {
			t.Error("a holder of an unknown dispute was accepted")
		}
	})
	t.Run("office host needs the roster", func(t *testing.T) {
		noRoster := &routingfeed.Feed{Store: s, Rosters: rosters{}}
		ev, err := events.New("routing", region, name, nil, "", &routingv1.TransferReturned{SentToOffice: true}, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := noRoster.Handle(ctx, ev); err == nil {
			t.Error("sent to the office without a roster: accepted")
		}
	})
}
