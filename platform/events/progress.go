package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrBehind is returned by WaitConsumed when the group has not reached the
// stream's end before the context's deadline.
var ErrBehind = errors.New("consumer group still behind")

// WaitConsumed waits until group has applied (acknowledged) every entry that
// stream held when it was called, so a caller can read what another service
// has just written and this service has not applied yet (docs/ARCHITECTURE.md,
// "Reading your own writes"). It polls every poll (default 10 ms) until ctx
// is done, then returns ErrBehind. It does not depend on which replica of
// the group holds the entries.
func WaitConsumed(ctx context.Context, rdb redis.UniversalClient, stream, group string, poll time.Duration) error {
	if poll <= 0 {
		poll = 10 * time.Millisecond
	}
	last, err := rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if err != nil {
		return fmt.Errorf("read end of %s: %w", stream, err)
	}
	if len(last) == 0 {
		return nil
	}
	target := last[0].ID
	for {
		ok, err := consumedThrough(ctx, rdb, stream, group, target)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s in %s", ErrBehind, group, stream)
		case <-time.After(poll):
		}
	}
}

// consumedThrough reports whether group has delivered every entry of stream
// up to id and acknowledged all of them.
func consumedThrough(ctx context.Context, rdb redis.UniversalClient, stream, group, id string) (bool, error) {
	gs, err := rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		return false, fmt.Errorf("xinfo groups %s: %w", stream, err)
	}
	for _, g := range gs {
		if g.Name != group {
			continue
		}
		if CompareIDs(g.LastDeliveredID, id) < 0 {
			return false, nil
		}
		if g.Pending == 0 {
			return true, nil
		}
		p, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: group, Start: "-", End: id, Count: 1}).Result()
		if err != nil {
			return false, fmt.Errorf("xpending %s: %w", stream, err)
		}
		return len(p) == 0, nil
	}
	return false, nil
}

// CompareIDs orders two stream entry ids ("<ms>-<seq>").
func CompareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	switch {
	case am != bm:
		if am < bm {
			return -1
		}
		return 1
	case as != bs:
		if as < bs {
			return -1
		}
		return 1
	}
	return 0
}

func splitID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}

// IDMillis returns the milliseconds part of a stream entry id: when Redis
// added it.
func IDMillis(id string) uint64 {
	ms, _ := splitID(id)
	return ms
}

// Watermark returns the time W (Unix ms) below which group has
// acknowledged every entry of stream and below which no new entry can be
// added: every event published before W has been applied by the group. The
// archive seals a dossier once the watermark of every stream it reads has
// passed the dossier's close (docs/ARCHITECTURE.md, "Sealing").
func Watermark(ctx context.Context, rdb redis.UniversalClient, stream, group string) (uint64, error) {
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("redis time: %w", err)
	}
	gs, err := rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		if strings.HasPrefix(err.Error(), "ERR no such key") {
			return uint64(now.UnixMilli()), nil
		}
		return 0, fmt.Errorf("xinfo groups %s: %w", stream, err)
	}
	var g *redis.XInfoGroup
	for i := range gs {
		if gs[i].Name == group {
			g = &gs[i]
		}
	}
	if g == nil {
		return 0, nil
	}
	last, err := rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if err != nil {
		return 0, fmt.Errorf("read end of %s: %w", stream, err)
	}
	w := uint64(now.UnixMilli())
	if len(last) > 0 {
		if CompareIDs(last[0].ID, g.LastDeliveredID) > 0 {
			// Entries after the last delivered one wait: they are not older
			// than it.
			w = IDMillis(g.LastDeliveredID)
		} else {
			w = max(w, IDMillis(last[0].ID))
		}
	}
	if g.Pending > 0 {
		p, err := rdb.XPending(ctx, stream, group).Result()
		if err != nil {
			return 0, fmt.Errorf("xpending %s: %w", stream, err)
		}
		if p.Count > 0 {
			w = min(w, IDMillis(p.Lower))
		}
	}
	return w, nil
}
