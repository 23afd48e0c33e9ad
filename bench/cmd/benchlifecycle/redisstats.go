package main

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// groupState is one consumer group on one stream at one moment.
type groupState struct {
	stream, group string
	lag, pending  int64
	behind        time.Duration // age of the oldest entry not yet acknowledged
}

func (g groupState) key() string { return g.group + "<-" + g.stream }

// sampleGroups reads every group of streams: lag, pending and how far
// behind in time it is (the age of its oldest entry not yet acknowledged,
// by the entry ids' milliseconds and Redis's clock). It returns how many
// commands it sent.
func sampleGroups(ctx context.Context, rdb redis.UniversalClient, streams []string) ([]groupState, int, error) {
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		return nil, 1, err
	}
	cmds := 1
	var out []groupState
	for _, st := range streams {
		gs, err := rdb.XInfoGroups(ctx, st).Result()
		cmds++
		if err != nil {
			if strings.Contains(err.Error(), "no such key") {
				continue
			}
			return nil, cmds, err
		}
		for _, g := range gs {
			s := groupState{stream: st, group: g.Name, lag: g.Lag, pending: g.Pending}
			var oldest string
			if g.Pending > 0 {
				p, err := rdb.XPending(ctx, st, g.Name).Result()
				cmds++
				if err == nil && p.Count > 0 {
					oldest = p.Lower
				}
			}
			if oldest == "" && g.Lag != 0 {
				ms, err := rdb.XRangeN(ctx, st, "("+g.LastDeliveredID, "+", 1).Result()
				cmds++
				if err == nil && len(ms) > 0 {
					oldest = ms[0].ID
				}
			}
			if oldest != "" {
				msPart, _, _ := strings.Cut(oldest, "-")
				if t, err := strconv.ParseInt(msPart, 10, 64); err == nil {
					s.behind = max(0, now.Sub(time.UnixMilli(t)))
				}
			}
			out = append(out, s)
		}
	}
	return out, cmds, nil
}

// lagSampler samples the groups every interval while it runs.
type lagSampler struct {
	mu      sync.Mutex
	samples []lagSample
	cmds    int
}

type lagSample struct {
	at     time.Time
	groups []groupState
}

func (l *lagSampler) run(ctx context.Context, rdb redis.UniversalClient, streams []string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		gs, n, err := sampleGroups(ctx, rdb, streams)
		l.mu.Lock()
		l.cmds += n
		if err == nil {
			l.samples = append(l.samples, lagSample{time.Now(), gs})
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *lagSampler) commands() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cmds
}

// between returns the samples taken in [from, to).
func (l *lagSampler) between(from, to time.Time) []lagSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []lagSample
	for _, s := range l.samples {
		if !s.at.Before(from) && s.at.Before(to) {
			out = append(out, s)
		}
	}
	return out
}

// idle reports whether every group has neither lag nor pending entries.
func idle(gs []groupState) bool {
	for _, g := range gs {
		if g.lag != 0 || g.pending != 0 {
			return false
		}
	}
	return true
}
