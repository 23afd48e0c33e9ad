package store

import (
	"context"
	"encoding/json"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// PutSummaries writes dossiers' summaries and the region index as the
// consumer would, without their events or indexes and counters (benchmarks
// build those with EnsureDerived).
func (s *Store) PutSummaries(ctx context.Context, ds []*dossier.Dossier) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, d := range ds {
			region, id, err := names.DisputeID(d.Name)
			if err != nil {
				return err
			}
			b, err := json.Marshal(d)
			if err != nil {
				return err
			}
			p.Set(ctx, metaKey(region, id), b, 0)
			p.ZAdd(ctx, indexKey(region), redis.Z{Score: d.Score(), Member: id})
		}
		return nil
	})
	return err
}
