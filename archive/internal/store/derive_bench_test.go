package store

import (
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// BenchmarkDeriveClose works out the index writes and counter deltas of a
// dossier with three readers closing, the largest change of one event.
func BenchmarkDeriveClose(b *testing.B) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	prev := &dossier.Dossier{Name: "regions/141181/disputes/2026-1", Region: "141181", Number: "2026-000000001",
		State: typesv1.DisputeState_DISPUTE_STATE_REPLIED, RegisteringDepartment: "tax",
		Category: typesv1.Category_CATEGORY_BENEFITS, Channel: typesv1.Channel_CHANNEL_WINDOW, RegisterTime: at,
		Departments: []string{"tax", "hrss", "medical"}, Holder: "hrss", Jurisdiction: "town-1",
		ReplyTime: at.Add(72 * time.Hour), Events: 5, Version: 4}
	cur := *prev
	cur.State, cur.Version, cur.Events = typesv1.DisputeState_DISPUTE_STATE_CLOSED, 5, 6
	b.ReportAllocs()
	for b.Loop() {
		if derive("141181", "2026-1", prev, &cur) == nil {
			b.Fatal("closing changes nothing")
		}
	}
}
