// Package rstats reads what Redis counts of the commands it ran.
package rstats

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// CommandStats reads INFO commandstats: calls per command, summed over
// the masters of a Redis Cluster (the commands the platform sends; a
// replica only repeats its master's writes). nodes is how many servers
// answered, each of which counted the INFO itself.
func CommandStats(ctx context.Context, rdb redis.UniversalClient) (out map[string]int64, nodes int, err error) {
	out = map[string]int64{}
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		s, err := rdb.Info(ctx, "commandstats").Result()
		if err != nil {
			return nil, 0, fmt.Errorf("info commandstats: %w", err)
		}
		addStats(out, s)
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
		addStats(out, s)
		nodes++
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, nodes, nil
}

// addStats adds one server's INFO commandstats to out.
func addStats(out map[string]int64, s string) {
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

// Count is one command and how many times it was called.
type Count struct {
	Name string
	N    int64
}

// Delta is after-before per command, largest first, and its total.
func Delta(before, after map[string]int64) (list []Count, total int64) {
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			list = append(list, Count{k, d})
			total += d
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].N > list[j].N })
	return list, total
}
