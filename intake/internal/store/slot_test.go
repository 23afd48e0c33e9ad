package store

import (
	"context"
	"strings"
	"testing"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// TestRegisterScriptStaysInOneSlot: the keys register.lua makes from the
// number it allocates are not in KEYS, so it refuses prefixes (and keys)
// of another hash tag than the region's before touching anything; a Redis
// Cluster would run it on the slot of KEYS[1] only.
func TestRegisterScriptStaysInOneSlot(t *testing.T) {
	rdb := testenv.StartRedis(t).Client(t)
	ctx := context.Background()
	s := New(rdb)
	keys := []string{SequenceKey(region, 2026), IndexKey(region), events.Stream(Service, region)}
	for _, c := range []struct {
		what string
		keys []string
		args []any
	}{
		{"dispute prefix of another region", keys, []any{DisputeKey("110105", ""), region, "2026", setPrefix(region), 5, 0}},
		{"link prefix of another region", keys, []any{DisputeKey(region, ""), region, "2026", setPrefix("110105"), 5, 0}},
		{"index of another region", []string{keys[0], IndexKey("110105"), keys[2]},
			[]any{DisputeKey(region, ""), region, "2026", setPrefix(region), 5, 0}},
	} {
		err := s.register.Run(ctx, rdb, c.keys, c.args...).Err()
		if err == nil || !strings.Contains(err.Error(), "outside the hash slot") {
			t.Errorf("%s: got %v, want refused as outside the hash slot", c.what, err)
		}
	}
	if n, err := rdb.Exists(ctx, keys...).Result(); err != nil || n != 0 {
		t.Fatalf("refused runs wrote %d keys (%v)", n, err)
	}
}
