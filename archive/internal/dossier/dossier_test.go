package dossier

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestApply(t *testing.T) {
	if _, err := New("regions/141181/disputes/2026-017"); err == nil {
		t.Error("New accepted a sequence number with a leading zero")
	}
	d, err := New("regions/141181/disputes/2026-17")
	if err != nil {
		t.Fatal(err)
	}
	// Routing's accounts applied out of order: the higher version wins,
	// whatever the times say, and who may read follows it.
	d.Apply(Fact{Time: t0.Add(time.Hour), Version: 3, State: typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE, Readers: []string{"justice", "tax", ""}})
	d.Apply(Fact{Time: t0, RegisteringDepartment: "justice",
		Category: typesv1.Category_CATEGORY_BENEFITS, Channel: typesv1.Channel_CHANNEL_PHONE, RegisterTime: t0})
	d.Apply(Fact{Time: t0.Add(2 * time.Hour), Version: 2, State: typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED, Readers: []string{"justice", "hrss"}})
	d.Apply(Fact{Time: t0.Add(3 * time.Hour)}) // an event of another service tells nothing of the lifecycle
	want := &Dossier{
		Name: "regions/141181/disputes/2026-17", Region: "141181", Number: "2026年第17号",
		State: typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE, StateTime: t0.Add(time.Hour), Version: 3,
		RegisteringDepartment: "justice", Category: typesv1.Category_CATEGORY_BENEFITS, Channel: typesv1.Channel_CHANNEL_PHONE,
		RegisterTime: t0, Departments: []string{"justice", "tax"}, Events: 4, FirstTime: t0,
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("dossier (-want +got):\n%s", diff)
	}
}

func TestCanViewAndMatch(t *testing.T) {
	d := &Dossier{Name: "regions/141181/disputes/2026-1", Region: "141181", Number: "2026年第1号", Departments: []string{"hrss", "tax"},
		State: typesv1.DisputeState_DISPUTE_STATE_HANDLING, Category: typesv1.Category_CATEGORY_LATE_FEE, RegisterTime: t0}
	views := []struct {
		name string
		c    Caller
		want bool
	}{
		{"involved", Caller{Region: "141181", Department: "hrss"}, true},
		{"not involved", Caller{Region: "141181", Department: "finance"}, false},
		{"office", Caller{Region: "141181", Department: "gov_office", RegionWide: true}, true},
		{"other region office", Caller{Region: "110105", Department: "tax", RegionWide: true}, false},
	}
	for _, tt := range views {
		t.Run(tt.name, func(t *testing.T) {
			if got := d.CanView(tt.c); got != tt.want {
				t.Fatalf("CanView = %v", got)
			}
		})
	}
	filters := []struct {
		name string
		f    Filter
		want bool
	}{
		{"none", Filter{}, true},
		{"state", Filter{State: typesv1.DisputeState_DISPUTE_STATE_HANDLING}, true},
		{"other state", Filter{State: typesv1.DisputeState_DISPUTE_STATE_CLOSED}, false},
		{"other category", Filter{Category: typesv1.Category_CATEGORY_BENEFITS}, false},
		{"query number", Filter{Query: "第1号"}, true},
		{"query department", Filter{Query: "hrs"}, true},
		{"query miss", Filter{Query: "police"}, false},
		{"in range", Filter{From: t0, To: t0.Add(time.Hour)}, true},
		{"before range", Filter{From: t0.Add(time.Second)}, false},
		{"end exclusive", Filter{To: t0}, false},
	}
	for _, tt := range filters {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Match(d); got != tt.want {
				t.Fatalf("Match = %v", got)
			}
		})
	}
}
