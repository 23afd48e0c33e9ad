package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// region of n dossiers registered over twelve months by eight departments
// in fifteen jurisdictions, with their indexes and counters.
func benchRegion(b *testing.B, n int) *store.Store {
	b.Helper()
	st := store.New(testenv.StartRedis(b).Client(b))
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	states := []typesv1.DisputeState{typesv1.DisputeState_DISPUTE_STATE_HANDLING, typesv1.DisputeState_DISPUTE_STATE_REPLIED,
		typesv1.DisputeState_DISPUTE_STATE_CLOSED, typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED}
	var batch []*dossier.Dossier
	for i := 1; i <= n; i++ {
		reg := t0.Add(time.Duration(rng.IntN(365*24)) * time.Hour)
		dep := fmt.Sprintf("dept%d", rng.IntN(8))
		d := &dossier.Dossier{Name: fmt.Sprintf("regions/%s/disputes/2026-%d", region, i), Region: region,
			State: states[rng.IntN(len(states))], RegisteringDepartment: dep, Holder: dep, Departments: []string{dep},
			Category: typesv1.Category(1 + rng.IntN(4)), Channel: typesv1.Channel(1 + rng.IntN(5)),
			Jurisdiction: fmt.Sprintf("1411810%02d", rng.IntN(15)), RegisterTime: reg, FirstTime: reg}
		if d.State != typesv1.DisputeState_DISPUTE_STATE_HANDLING && d.State != typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED {
			d.ReplyTime = reg.Add(time.Duration(1+rng.IntN(60)) * 24 * time.Hour)
		}
		batch = append(batch, d)
		if len(batch) == 1000 || i == n {
			if err := st.PutSummaries(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := st.EnsureDerived(ctx, region); err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkStatistics is GetStatistics' read for the whole region and for
// one department over regions of growing size: its cost follows the
// months and keys counted, not the number of dossiers (docs/PERFORMANCE.md).
// "read-region" is what a call cost before: every dossier read and counted;
// "search" is the first page of 50 of a search with two filters.
func BenchmarkStatistics(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		st := benchRegion(b, n)
		ctx := context.Background()
		for _, scope := range []string{dossier.ScopeRegion, "dept3"} {
			b.Run(fmt.Sprintf("dossiers=%d/scope=%s", n, scope), func(b *testing.B) {
				for b.Loop() {
					rows, _, err := st.Statistics(ctx, region, scope, "", "")
					if err != nil || len(rows) == 0 {
						b.Fatal(rows, err)
					}
				}
			})
		}
		// What a call cost before: reading every dossier of the region
		// (left out at the largest size, where it takes seconds a call).
		b.Run(fmt.Sprintf("dossiers=%d/read-region", n), func(b *testing.B) {
			if n > 10000 {
				b.Skip("reads the whole region")
			}
			for b.Loop() {
				ds, err := st.List(ctx, region)
				if err != nil || len(dossier.Recount(ds, dossier.ScopeRegion)) == 0 {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("dossiers=%d/search", n), func(b *testing.B) {
			q := store.Query{Scope: dossier.ScopeRegion, Limit: 50,
				Filter: dossier.Filter{State: typesv1.DisputeState_DISPUTE_STATE_CLOSED, RegisteringDepartment: "dept3"}}
			for b.Loop() {
				p, err := st.Search(ctx, region, q)
				if err != nil || len(p.Dossiers) == 0 {
					b.Fatal(p, err)
				}
			}
		})
	}
}
