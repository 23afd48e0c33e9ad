package events

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ScanRegion returns the keys matching pattern, all of region's hash slot
// (pattern names keys of events.Key(..., region, ...)), sorted. On a Redis
// Cluster a client's SCAN reaches one node only, so it runs on the master
// that holds the region's slot.
func ScanRegion(ctx context.Context, rdb redis.UniversalClient, region, pattern string, count int64) ([]string, error) {
	node := redis.UniversalClient(rdb)
	if c, ok := rdb.(*redis.ClusterClient); ok {
		m, err := c.MasterForKey(ctx, Key("", region))
		if err != nil {
			return nil, fmt.Errorf("master of region %s: %w", region, err)
		}
		node = m
	}
	keys, err := scan(ctx, node, pattern, count)
	if err != nil {
		return nil, err
	}
	return sortedUnique(keys), nil
}

// ScanAll returns the keys matching pattern on every node holding data
// (every master of a Redis Cluster), sorted.
func ScanAll(ctx context.Context, rdb redis.UniversalClient, pattern string, count int64) ([]string, error) {
	c, ok := rdb.(*redis.ClusterClient)
	if !ok {
		keys, err := scan(ctx, rdb, pattern, count)
		return sortedUnique(keys), err
	}
	var mu sync.Mutex
	var all []string
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		keys, err := scan(ctx, m, pattern, count)
		mu.Lock()
		defer mu.Unlock()
		all = append(all, keys...)
		return err
	})
	return sortedUnique(all), err
}

func scan(ctx context.Context, rdb redis.UniversalClient, pattern string, count int64) ([]string, error) {
	var keys []string
	iter := rdb.Scan(ctx, 0, pattern, count).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("scan %s: %w", pattern, err)
	}
	return keys, nil
}

// sortedUnique sorts keys and drops repeats (SCAN may return a key twice).
func sortedUnique(keys []string) []string {
	sort.Strings(keys)
	return compactStrings(keys)
}
