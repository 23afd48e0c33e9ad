package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// clusterRegions hash to three different slots of a Redis Cluster (the
// test checks), so one subscription reads streams of several slots.
var clusterRegions = []string{"141181", "141102", "140105"}

// regionHandler appends each event's id to a per-dispute list under the
// event's own region's tag.
func regionHandler() events.Handler {
	key := func(d *events.Delivery) string { return "{" + d.Region + "}list:" + d.Event.GetDispute() }
	return events.HandlerFuncs{
		KeysFunc: func(d *events.Delivery) ([]string, error) { return []string{key(d)}, nil },
		ApplyFunc: func(b *events.Batch, d *events.Delivery) error {
			v, _, err := b.Get(key(d))
			if err != nil {
				return err
			}
			b.Set(key(d), append(v, []byte(d.Event.GetId()+",")...), 0)
			return nil
		},
	}
}

// TestSubscriptionOverRegionsOnSingleAndCluster: two replicas consume the
// streams of three regions; on a Redis Cluster those are three hash slots,
// which one XREADGROUP or one transaction may not span. Every event is
// applied once, each dispute's in order, and broken entries are parked in
// their own region.
func TestSubscriptionOverRegionsOnSingleAndCluster(t *testing.T) {
	testenv.ForEachRedis(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		if c, ok := rdb.(*redis.ClusterClient); ok {
			slots := map[int64]bool{}
			for _, r := range clusterRegions {
				s, err := c.ClusterKeySlot(ctx, events.Stream("intake", r)).Result()
				if err != nil {
					t.Fatal(err)
				}
				slots[s] = true
			}
			if len(slots) != len(clusterRegions) {
				t.Fatalf("regions share slots %v; pick others", slots)
			}
		}
		want := map[string][]string{}
		for i := 0; i < 30; i++ {
			for _, r := range clusterRegions {
				for d := 1; d <= 3; d++ {
					name := fmt.Sprintf("regions/%s/disputes/2026-%d", r, d)
					ev, err := events.New("intake", r, name, &typesv1.Actor{Department: "tax"}, "",
						&intakev1.DisputeWithdrawn{Reason: "resolved"}, time.Now())
					if err != nil {
						t.Fatal(err)
					}
					stream := events.Stream("intake", r)
					if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
						p.Set(ctx, events.Key("intake", r, "state", ev.GetId()), "x", 0)
						return events.Append(ctx, p, stream, ev)
					}); err != nil {
						t.Fatal(err)
					}
					want[r+" "+name] = append(want[r+" "+name], ev.GetId())
				}
			}
		}
		broken := clusterRegions[1]
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: events.Stream("intake", broken),
			Values: map[string]any{"event": "not a protobuf \xff"}}).Err(); err != nil {
			t.Fatal(err)
		}
		sub := func(name string) *events.Subscription {
			return &events.Subscription{
				Redis: rdb, Group: "archive", Name: name, Sources: []string{"intake"},
				Regions: func() []string { return clusterRegions },
				Default: regionHandler(), Block: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
			}
		}
		run(t, sub("c1"), sub("c2"))
		total := 30 * 3 * len(clusterRegions)
		read := func() (map[string][]string, int) {
			got, n := map[string][]string{}, 0
			for k := range want {
				r, name, _ := strings.Cut(k, " ")
				v, err := rdb.Get(ctx, "{"+r+"}list:"+name).Result()
				if err != nil && !errors.Is(err, redis.Nil) {
					t.Fatal(err)
				}
				if v != "" {
					got[k] = strings.Split(strings.TrimSuffix(v, ","), ",")
					n += len(got[k])
				}
			}
			return got, n
		}
		waitFor(t, fmt.Sprintf("%d events applied", total), func() bool { _, n := read(); return n >= total })
		waitFor(t, "the broken entry parked", func() bool {
			n, err := rdb.XLen(ctx, events.ParkedStream(events.Stream("intake", broken), "archive")).Result()
			return err == nil && n == 1
		})
		// The parked stream is found where its region's keys are, on
		// whichever master holds the slot; the other regions have none.
		for _, r := range clusterRegions {
			parked, err := events.ParkedStreams(ctx, rdb, r)
			if err != nil {
				t.Fatal(err)
			}
			if want := r == broken; (len(parked) == 1) != want || len(parked) > 1 {
				t.Fatalf("region %s: parked streams %v, want one: %v", r, parked, want)
			}
		}
		all, err := events.ScanAll(ctx, rdb, "intake:{*}:events", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(clusterRegions) {
			t.Fatalf("streams found on every node: %v, want one per region", all)
		}
		got, n := read()
		if n != total {
			t.Fatalf("applied %d events, want %d", n, total)
		}
		for k, ids := range want {
			if strings.Join(got[k], ",") != strings.Join(ids, ",") {
				t.Fatalf("%s: applied %v, want %v once each in publishing order", k, got[k], ids)
			}
		}
		for _, r := range clusterRegions {
			p, err := rdb.XPending(ctx, events.Stream("intake", r), "archive").Result()
			if err != nil || p.Count != 0 {
				t.Fatalf("region %s pending after apply: %+v %v", r, p, err)
			}
		}
	})
}

// The fold of a counter log writes hashes its script does not name as keys:
// they share the log's hash slot (the region's tag), which a Redis Cluster
// allows.
func TestFoldCountersOnSingleAndCluster(t *testing.T) {
	testenv.ForEachRedis(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		for _, r := range clusterRegions {
			logKey := events.Key("archive", r, "stats-log")
			hash := events.Key("archive", r, "stats", "*", "2026-12")
			for i := 1; i <= 3; i++ {
				entry := fmt.Sprintf("%s\x1ftotal|all|registered\x1f%d\x1e%s\x1fstate|X|closed\x1f-1\x1e", hash, i, hash)
				if err := rdb.RPush(ctx, logKey, entry).Err(); err != nil {
					t.Fatal(err)
				}
			}
			n, err := events.FoldCounters(ctx, rdb, logKey)
			if err != nil || n != 3 {
				t.Fatalf("%s: FoldCounters = %d, %v; want 3 entries", r, n, err)
			}
			got, err := rdb.HGetAll(ctx, hash).Result()
			if err != nil {
				t.Fatal(err)
			}
			if got["total|all|registered"] != "6" || got["state|X|closed"] != "-3" {
				t.Fatalf("%s: counters after the fold %v, want 6 and -3", r, got)
			}
		}
	})
}
