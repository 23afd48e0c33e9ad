package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// commandStats reads INFO commandstats: calls per command, summed over
// the masters of a Redis Cluster (the commands the platform sends; a
// replica only repeats its master's writes). nodes is how many servers
// answered, each of which counted the INFO itself.
func commandStats(ctx context.Context, rdb redis.UniversalClient) (out map[string]int64, nodes int, err error) {
	out = map[string]int64{}
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		s, err := rdb.Info(ctx, "commandstats").Result()
		if err != nil {
			return nil, 0, fmt.Errorf("info commandstats: %w", err)
		}
		addCommandStats(out, s)
		return out, 1, nil
	}
	var mu sync.Mutex
	err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		s, err := c.Info(ctx, "commandstats").Result()
		if err != nil {
			return fmt.Errorf("info commandstats on %s: %w", c.Options().Addr, err)
		}
		mu.Lock()
		defer mu.Unlock()
		addCommandStats(out, s)
		nodes++
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, nodes, nil
}

// addCommandStats adds one server's INFO commandstats to out.
func addCommandStats(out map[string]int64, s string) {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				out[strings.TrimPrefix(name, "cmdstat_")] += n
			}
		}
	}
}

// commandDelta is after-before per command, largest first.
type commandCount struct {
	name string
	n    int64
}

func commandDelta(before, after map[string]int64) (list []commandCount, total int64) {
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			list = append(list, commandCount{k, d})
			total += d
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].n > list[j].n })
	return list, total
}

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
