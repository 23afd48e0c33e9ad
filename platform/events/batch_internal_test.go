package events

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// zcall is one ZAdd (remove false) or ZRem a delivery queues.
type zcall struct {
	key, member string
	score       float64
	remove      bool
}

// delivery is what one Apply queues, and whether it then fails.
type delivery struct {
	ops  []zcall
	fail bool
}

// applyAll runs ds on a fresh batch as tryLane does: each delivery between
// begin and commit, or rolled back when it fails.
func applyAll(ds []delivery) *Batch {
	b := &Batch{ctx: context.Background(), vals: map[string]*string{}, keys: map[string]bool{}}
	for _, d := range ds {
		nw, na := b.begin()
		for _, op := range d.ops {
			if op.remove {
				b.ZRem(op.key, op.member)
			} else {
				b.ZAdd(op.key, op.score, op.member)
			}
		}
		if d.fail {
			b.rollback(nw, na)
		} else {
			b.commit()
		}
	}
	return b
}

func add(key, member string, score float64) zcall {
	return zcall{key: key, member: member, score: score}
}
func rem(key, member string) zcall { return zcall{key: key, member: member, remove: true} }

// TestBatchCoalescesSortedSetWrites: per key and member the last ZAdd or
// ZRem of the deliveries applied wins; a failed delivery's are taken back,
// leaving what the earlier deliveries had queued.
func TestBatchCoalescesSortedSetWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		ds   []delivery
		want map[string]map[string]zop
	}{{
		name: "add then remove nets to the removal",
		ds:   []delivery{{ops: []zcall{add("k", "a", 1)}}, {ops: []zcall{rem("k", "a")}}},
		want: map[string]map[string]zop{"k": {"a": {remove: true}}},
	}, {
		name: "remove then add nets to the add with its score",
		ds:   []delivery{{ops: []zcall{rem("k", "a"), add("k", "a", 2)}}, {ops: []zcall{add("k", "a", 3)}}},
		want: map[string]map[string]zop{"k": {"a": {score: 3}}},
	}, {
		name: "a failed delivery's removal restores the earlier add",
		ds: []delivery{
			{ops: []zcall{add("k", "a", 1), add("k", "b", 2)}},
			{ops: []zcall{rem("k", "a"), add("k", "b", 5), add("k", "a", 7)}, fail: true},
		},
		want: map[string]map[string]zop{"k": {"a": {score: 1}, "b": {score: 2}}},
	}, {
		name: "a failed delivery's new members are gone",
		ds: []delivery{
			{ops: []zcall{add("k", "a", 1)}},
			{ops: []zcall{add("k", "c", 1), rem("j", "a"), add("k", "c", 4)}, fail: true},
			{ops: []zcall{rem("k", "b")}},
		},
		want: map[string]map[string]zop{"k": {"a": {score: 1}, "b": {remove: true}}, "j": {}},
	}, {
		name: "a delivery after a failed one builds on the one before",
		ds: []delivery{
			{ops: []zcall{add("k", "a", 1)}},
			{ops: []zcall{add("k", "a", 2)}, fail: true},
			{ops: []zcall{add("j", "a", 3)}},
		},
		want: map[string]map[string]zop{"k": {"a": {score: 1}}, "j": {"a": {score: 3}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			b := applyAll(tc.ds)
			if diff := cmp.Diff(tc.want, b.zsets, cmp.AllowUnexported(zop{})); diff != "" {
				t.Errorf("queued sorted-set writes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBatchWritesOneZAddPerSortedSet: a batch's sorted-set writes reach
// Redis as one ZADD and one ZREM per key, leaving each set as the writes
// one by one would.
func TestBatchWritesOneZAddPerSortedSet(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	const keys = 5
	for k := range keys {
		if err := rdb.ZAdd(ctx, fmt.Sprintf("{r}idx:%d", k), redis.Z{Score: 9, Member: "old"}, redis.Z{Score: 9, Member: "m3"}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// 40 deliveries of one batch, each moving members of every index; every
	// fourth fails. Applied one by one on a model of the sets.
	model := map[string]map[string]float64{}
	for k := range keys {
		model[fmt.Sprintf("{r}idx:%d", k)] = map[string]float64{"old": 9, "m3": 9}
	}
	var ds []delivery
	for i := range 40 {
		var d delivery
		d.fail = i%4 == 3
		for k := range keys {
			key := fmt.Sprintf("{r}idx:%d", k)
			m := fmt.Sprintf("m%d", (i+k)%7)
			if (i+k)%3 == 0 {
				d.ops = append(d.ops, rem(key, m), rem(key, "old"))
			} else {
				d.ops = append(d.ops, add(key, m, float64(i)))
			}
		}
		ds = append(ds, d)
		if d.fail {
			continue
		}
		for _, op := range d.ops {
			if op.remove {
				delete(model[op.key], op.member)
			} else {
				model[op.key][op.member] = op.score
			}
		}
	}
	b := applyAll(ds)
	before := testenv.CommandCalls(t, rdb)
	if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error { b.flushSortedSets(p); return nil }); err != nil {
		t.Fatal(err)
	}
	after := testenv.CommandCalls(t, rdb)
	if n := after["zadd"] - before["zadd"]; n != keys {
		t.Errorf("%d ZADD for %d sorted sets, want one each", n, keys)
	}
	if n := after["zrem"] - before["zrem"]; n != keys {
		t.Errorf("%d ZREM for %d sorted sets, want one each", n, keys)
	}
	for key, want := range model {
		zs, err := rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, z := range zs {
			got[z.Member.(string)] = z.Score
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-written one by one +coalesced):\n%s", key, diff)
		}
	}
}

// TestBatchWritesEachValueOnce: of a key's Sets and Dels in one batch only
// the last reaches Redis, in its place among the other writes; a failed
// delivery's Set is taken back and the one before it is written.
func TestBatchWritesEachValueOnce(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	b := &Batch{ctx: ctx, vals: map[string]*string{}, keys: map[string]bool{}}
	step := func(fail bool, fn func()) {
		nw, na := b.begin()
		fn()
		if fail {
			b.rollback(nw, na)
		} else {
			b.commit()
		}
	}
	step(false, func() { b.Set("{r}a", []byte("1"), 0); b.Set("{r}gone", []byte("x"), 0) })
	step(false, func() {
		b.Set("{r}a", []byte("2"), 0)
		b.Do(func(ctx context.Context, p redis.Pipeliner) { p.RPush(ctx, "{r}log", "after a=2") })
	})
	step(false, func() { b.Set("{r}b", []byte("1"), 0); b.Del("{r}gone") })
	step(true, func() { b.Set("{r}a", []byte("3"), 0); b.Set("{r}b", []byte("2"), 0) })
	step(false, func() { b.Set("{r}a", []byte("4"), 0) })
	before := testenv.CommandCalls(t, rdb)
	if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error { b.flushWrites(p); return nil }); err != nil {
		t.Fatal(err)
	}
	after := testenv.CommandCalls(t, rdb)
	if n := after["set"] - before["set"]; n != 2 {
		t.Errorf("%d SET for two keys, want one each", n)
	}
	if n := after["del"] - before["del"]; n != 1 {
		t.Errorf("%d DEL, want 1", n)
	}
	want := map[string]string{"{r}a": "4", "{r}b": "1", "{r}gone": ""}
	for k, v := range want {
		got, err := rdb.Get(ctx, k).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		if got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if l, _ := rdb.LRange(ctx, "{r}log", 0, -1).Result(); len(l) != 1 || l[0] != "after a=2" {
		t.Errorf("the other writes: %v", l)
	}
}
