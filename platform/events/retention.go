package events

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRetention is how long a stream keeps entries every group has
// acknowledged. Apply-once markers live longer (MarkerTTL), so an entry
// replayed within the retention is still applied once.
const DefaultRetention = 7 * 24 * time.Hour

// Trimmer trims a service's own streams (docs/ARCHITECTURE.md,
// "Retention"): entries older than Retention go, but never one that some
// consumer group has not yet acknowledged.
type Trimmer struct {
	Redis redis.UniversalClient
	// Streams lists the streams to trim.
	Streams func() []string
	// Retention is how long acknowledged entries are kept (default
	// DefaultRetention).
	Retention time.Duration
	// Interval is how often to trim (default 1 min).
	Interval time.Duration
	Log      *slog.Logger
}

// Run trims every Interval until ctx is done.
func (t *Trimmer) Run(ctx context.Context) error {
	every := t.Interval
	if every <= 0 {
		every = time.Minute
	}
	for ctx.Err() == nil {
		for _, st := range t.Streams() {
			if n, err := t.Trim(ctx, st); err != nil && ctx.Err() == nil {
				t.Log.Warn("stream trim failed", "stream", st, "error", err)
			} else if n > 0 {
				t.Log.Info("stream trimmed", "stream", st, "entries", n)
			}
		}
		sleep(ctx, every)
	}
	return nil
}

// Trim removes the entries of stream older than the retention that every
// group has acknowledged, and returns how many it removed.
func (t *Trimmer) Trim(ctx context.Context, stream string) (int64, error) {
	ret := t.Retention
	if ret <= 0 {
		ret = DefaultRetention
	}
	now, err := t.Redis.Time(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("redis time: %w", err)
	}
	minID := uint64(now.Add(-ret).UnixMilli())
	gs, err := t.Redis.XInfoGroups(ctx, stream).Result()
	if err != nil {
		return 0, nil // no stream yet
	}
	for _, g := range gs {
		minID = min(minID, IDMillis(g.LastDeliveredID))
		if g.Pending > 0 {
			p, err := t.Redis.XPending(ctx, stream, g.Name).Result()
			if err != nil {
				return 0, fmt.Errorf("xpending %s %s: %w", stream, g.Name, err)
			}
			if p.Count > 0 {
				minID = min(minID, IDMillis(p.Lower))
			}
		}
	}
	if minID == 0 {
		return 0, nil
	}
	return t.Redis.XTrimMinID(ctx, stream, strconv.FormatUint(minID, 10)).Result()
}
