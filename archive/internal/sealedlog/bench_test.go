package sealedlog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
)

// benchDossier is dossier n the size of a typical closed one: eight
// events with a few hundred bytes of text each, about 4 KB sealed.
func benchDossier(n int) *archivev1.Dossier {
	d := dossier(n, regOf(n))
	text := strings.Repeat("单位未足额缴纳社会保险费，", 12)
	for i := range 6 {
		d.Events = append(d.Events, &eventv1.Event{Id: fmt.Sprintf("%s-%d", regOf(n), i), Type: "disputes.routing.v1.NoteAdded",
			Source: "routing", Region: region, Dispute: d.GetName(), Reason: text})
	}
	d.Events[0].Reason = text
	return d
}

// BenchmarkSealBatch seals b.N dossiers in batches of one sealer tick each
// (one integration and one kept checkpoint per batch) and reports
// dossiers sealed per second (make bench-archive; docs/PERFORMANCE.md).
func BenchmarkSealBatch(b *testing.B) {
	for _, batch := range []int{1000, 4096, 16384} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			l, err := sealedlog.Open(b.TempDir(), newKey(&testing.T{}), discard, sealedlog.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			ds := make([]*archivev1.Dossier, b.N)
			for i := range ds {
				ds[i] = benchDossier(i + 1)
			}
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < len(ds); i += batch {
				for _, r := range l.SealBatch(ctx, ds[i:min(len(ds), i+batch)]) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			el := time.Since(start)
			b.ReportMetric(float64(b.N)/el.Seconds(), "dossiers/s")
			b.ReportMetric(0, "ns/op")
			// Proofs and checkpoints read O(log n) tiles, not the log.
			pstart := time.Now()
			const proofs = 200
			for i := range proofs {
				if _, err := l.InclusionProof(ctx, region, int64(i*(b.N/proofs)), 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(pstart).Microseconds())/proofs, "µs/proof")
		})
	}
}
