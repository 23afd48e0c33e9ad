package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

const region = "141181"

// appendHandler appends each event's id to a per-dispute list kept in one
// string key, so lost updates and reordering both show.
func appendHandler(fail func(d *events.Delivery) error) events.Handler {
	key := func(d *events.Delivery) string { return "list:" + d.Event.GetDispute() }
	return events.HandlerFuncs{
		KeysFunc: func(d *events.Delivery) ([]string, error) { return []string{"{" + region + "}" + key(d)}, nil },
		ApplyFunc: func(b *events.Batch, d *events.Delivery) error {
			if fail != nil {
				if err := fail(d); err != nil {
					return err
				}
			}
			k := "{" + region + "}" + key(d)
			v, _, err := b.Get(k)
			if err != nil {
				return err
			}
			b.Set(k, append(v, []byte(d.Event.GetId()+",")...), 0)
			return nil
		},
	}
}

func newSub(rdb redis.UniversalClient, name string, h events.Handler) *events.Subscription {
	return &events.Subscription{
		Redis: rdb, Group: "archive", Name: name, Sources: []string{"intake"},
		Regions: func() []string { return []string{region} },
		Default: h, Block: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	}
}

func run(t testing.TB, subs ...*events.Subscription) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	stop := func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return stop
}

func publishN(t *testing.T, rdb *redis.Client, disputes, perDispute int) map[string][]string {
	t.Helper()
	want := map[string][]string{}
	stream := events.Stream("intake", region)
	for i := 0; i < perDispute; i++ {
		for d := 1; d <= disputes; d++ {
			name := fmt.Sprintf("regions/%s/disputes/2026-%d", region, d)
			ev := newEvent(t, name)
			publish(t, rdb, stream, ev)
			want[name] = append(want[name], ev.GetId())
		}
	}
	return want
}

func lists(t *testing.T, rdb *redis.Client, want map[string][]string) (map[string][]string, int) {
	got := map[string][]string{}
	n := 0
	for name := range want {
		v, err := rdb.Get(context.Background(), "{"+region+"}list:"+name).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		ids := strings.Split(strings.TrimSuffix(v, ","), ",")
		if v == "" {
			ids = nil
		}
		got[name] = ids
		n += len(ids)
	}
	return got, n
}

func TestSubscriptionAppliesInBatchesKeepingEachDisputesOrder(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	want := publishN(t, rdb, 40, 50) // 2,000 events
	before := testenv.CommandCalls(t, rdb)["exec"]

	sub := newSub(rdb, "c1", appendHandler(nil))
	sub.Lanes = 4
	stop := run(t, sub)
	waitFor(t, "2000 events applied", func() bool { _, n := lists(t, rdb, want); return n == 2000 })
	stop()

	got, _ := lists(t, rdb, want)
	for name, ids := range want {
		if strings.Join(got[name], ",") != strings.Join(ids, ",") {
			t.Fatalf("%s: applied %v, want %v in publishing order", name, got[name], ids)
		}
	}
	// 2,000 events cost a handful of transactions, not one each.
	if n := testenv.CommandCalls(t, rdb)["exec"] - before; n > 200 {
		t.Errorf("%d MULTI/EXEC transactions for 2000 events; want them batched", n)
	}
	p, err := rdb.XPending(context.Background(), events.Stream("intake", region), "archive").Result()
	if err != nil || p.Count != 0 {
		t.Fatalf("pending after apply: %+v %v", p, err)
	}
}

// A key the batch read and another client changed before the batch was
// written makes the batch run again on the new value: nothing is lost.
func TestBatchRunsAgainWhenWhatItReadChanged(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	other := srv.Client(t)
	ctx := context.Background()
	name := "regions/141181/disputes/2026-1"
	key := "{" + region + "}list:" + name
	var calls atomic.Int32
	h := appendHandler(func(d *events.Delivery) error {
		if calls.Add(1) == 1 {
			// Between the batch's read and its write.
			if err := other.Set(ctx, key, "outside,", 0).Err(); err != nil {
				return err
			}
		}
		return nil
	})
	ev := newEvent(t, name)
	publish(t, rdb, events.Stream("intake", region), ev)
	run(t, newSub(rdb, "c1", h))
	waitFor(t, "the event applied", func() bool {
		v, _ := rdb.Get(ctx, key).Result()
		return strings.Contains(v, ev.GetId())
	})
	if v, _ := rdb.Get(ctx, key).Result(); v != "outside,"+ev.GetId()+"," {
		t.Fatalf("%s = %q, want the outside write kept and the event appended after it", key, v)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("handler ran %d times, want 2 (once more after the conflict)", n)
	}
}

// A few events of as many disputes, read together, are applied in one
// transaction however many lanes the subscription has: lanes pay for
// themselves only on batches of many events.
func TestSmallBatchIsOneTransaction(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	want := publishN(t, rdb, 8, 1)
	before := testenv.CommandCalls(t, rdb)["exec"]
	sub := newSub(rdb, "c1", appendHandler(nil))
	sub.Lanes = 4
	stop := run(t, sub)
	waitFor(t, "8 events applied", func() bool { _, n := lists(t, rdb, want); return n == 8 })
	stop()
	if n := testenv.CommandCalls(t, rdb)["exec"] - before; n != 1 {
		t.Fatalf("%d transactions for 8 events read at once, want 1", n)
	}
}

func TestSubscriptionReplicasApplyEachEventOnce(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	want := publishN(t, rdb, 5, 200) // few disputes, so replicas contend on the same keys
	// A producer retry publishes one event twice: applied once.
	stream := events.Stream("intake", region)
	dup := newEvent(t, "regions/141181/disputes/2026-1")
	publish(t, rdb, stream, dup)
	publish(t, rdb, stream, dup)
	want["regions/141181/disputes/2026-1"] = append(want["regions/141181/disputes/2026-1"], dup.GetId())

	run(t, newSub(rdb, "c1", appendHandler(nil)), newSub(rdb, "c2", appendHandler(nil)))
	waitFor(t, "1001 events applied", func() bool { _, n := lists(t, rdb, want); return n >= 1001 })
	time.Sleep(200 * time.Millisecond)
	got, n := lists(t, rdb, want)
	if n != 1001 {
		t.Fatalf("applied %d events, want 1001", n)
	}
	for name, ids := range got {
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%s: event %s applied twice", name, id)
			}
			seen[id] = true
		}
	}
}

func TestSubscriptionRetriesTransientAndParksOnlyTheBroken(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	stream := events.Stream("intake", region)

	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"event": "not a protobuf \xff"}}).Err(); err != nil {
		t.Fatal(err)
	}
	notYet := newEvent(t, "regions/141181/disputes/2026-1")  // waits for another service
	afterIt := newEvent(t, "regions/141181/disputes/2026-1") // same dispute: must wait behind it
	flaky := newEvent(t, "regions/141181/disputes/2026-2")   // fails twice, then applies
	broken := newEvent(t, "regions/141181/disputes/2026-3")  // can never apply
	panics := newEvent(t, "regions/141181/disputes/2026-4")  // handler panics
	laterOf4 := newEvent(t, "regions/141181/disputes/2026-4")
	for _, ev := range []*eventv1.Event{notYet, afterIt, flaky, broken, panics, laterOf4} {
		publish(t, rdb, stream, ev)
	}
	var ready atomic.Bool
	var flakyCalls atomic.Int32
	h := appendHandler(func(d *events.Delivery) error {
		switch d.Event.GetId() {
		case notYet.GetId():
			if !ready.Load() {
				return events.NotYet(errors.New("tracker not opened yet"))
			}
		case flaky.GetId():
			if flakyCalls.Add(1) <= 2 {
				return errors.New("temporary failure")
			}
		case broken.GetId():
			return events.Permanent(errors.New("payload names no dispute"))
		case panics.GetId():
			var m map[string]int
			m["boom"]++ // assignment to a nil map
		}
		return nil
	})
	sub := newSub(rdb, "c1", h)
	sub.MaxAttempts = 3
	run(t, sub)

	parked := events.ParkedStream(stream, "archive")
	waitFor(t, "broken entries parked", func() bool { n, _ := rdb.XLen(ctx, parked).Result(); return n == 3 })
	// NotYet holds dispute 1 (both its events) however long it takes, without parking.
	time.Sleep(1500 * time.Millisecond)
	if v, _ := rdb.Get(ctx, "{141181}list:regions/141181/disputes/2026-1").Result(); v != "" {
		t.Fatalf("dispute 1 applied %q while its first event was not yet applicable", v)
	}
	ready.Store(true)
	waitFor(t, "dispute 1 applied in order", func() bool {
		v, _ := rdb.Get(ctx, "{141181}list:regions/141181/disputes/2026-1").Result()
		return v == notYet.GetId()+","+afterIt.GetId()+","
	})
	waitFor(t, "nothing pending", func() bool {
		p, err := rdb.XPending(ctx, stream, "archive").Result()
		return err == nil && p.Count == 0
	})
	if v, _ := rdb.Get(ctx, "{141181}list:regions/141181/disputes/2026-2").Result(); v != flaky.GetId()+"," {
		t.Errorf("flaky event applied as %q", v)
	}
	if v, _ := rdb.Get(ctx, "{141181}list:regions/141181/disputes/2026-4").Result(); v != laterOf4.GetId()+"," {
		t.Errorf("dispute 4 after the panic: %q, want only the later event", v)
	}
	entries, err := rdb.XRange(ctx, parked, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var whys []string
	for _, e := range entries {
		whys = append(whys, fmt.Sprint(e.Values["orig_id"], ": ", e.Values["error"]))
	}
	joined := strings.Join(whys, "\n")
	for _, want := range []string{"malformed", broken.GetId() + ": cannot be applied: payload names no dispute",
		panics.GetId() + ": cannot be applied: handler panicked: assignment to entry in nil map"} {
		if !strings.Contains(joined, want) {
			t.Errorf("parked entries\n%s\nlack %q", joined, want)
		}
	}
}

func TestSubscriptionRidesOutAPausedRedis(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	want := publishN(t, rdb, 10, 20)
	sub := newSub(rdb, "c1", appendHandler(func(d *events.Delivery) error {
		time.Sleep(time.Millisecond)
		return nil
	}))
	sub.Batch = 16
	run(t, sub)
	time.Sleep(30 * time.Millisecond)
	srv.Pause()
	time.Sleep(4 * time.Second) // longer than the client's read timeout
	srv.Resume()
	waitFor(t, "200 events applied", func() bool { _, n := lists(t, rdb, want); return n == 200 })
	if n, _ := rdb.XLen(context.Background(), events.ParkedStream(events.Stream("intake", region), "archive")).Result(); n != 0 {
		t.Fatalf("%d entries parked after a pause of Redis", n)
	}
}

// archiveGroup starts Redis and creates the group "archive" on intake's
// stream of region, which it returns.
func archiveGroup(t *testing.T) (*redis.Client, string) {
	t.Helper()
	rdb := testenv.StartRedis(t).Client(t)
	stream := events.Stream("intake", region)
	if err := rdb.XGroupCreateMkStream(context.Background(), stream, "archive", "0").Err(); err != nil {
		t.Fatal(err)
	}
	return rdb, stream
}

func TestWaitConsumedAndWatermark(t *testing.T) {
	rdb, stream := archiveGroup(t)
	ctx := context.Background()
	want := publishN(t, rdb, 3, 3)
	last, _ := rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result()

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := events.WaitConsumed(short, rdb, stream, "archive", 0); !errors.Is(err, events.ErrBehind) {
		t.Fatalf("WaitConsumed with no consumer = %v, want ErrBehind", err)
	}
	w, err := events.Watermark(ctx, rdb, stream, "archive")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := rdb.XRangeN(ctx, stream, "-", "+", 1).Result()
	if w > events.IDMillis(first[0].ID) {
		t.Fatalf("watermark %d passes the first unread entry %s", w, first[0].ID)
	}

	run(t, newSub(rdb, "c1", appendHandler(nil)))
	wait, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	if err := events.WaitConsumed(wait, rdb, stream, "archive", 0); err != nil {
		t.Fatalf("WaitConsumed with a consumer: %v", err)
	}
	if _, n := lists(t, rdb, want); n != 9 {
		t.Fatalf("WaitConsumed returned with %d of 9 events applied", n)
	}
	w, err = events.Watermark(ctx, rdb, stream, "archive")
	if err != nil {
		t.Fatal(err)
	}
	if w <= events.IDMillis(last[0].ID) {
		t.Fatalf("watermark %d not past the last applied entry %s", w, last[0].ID)
	}
}

func TestTrimmerKeepsWhatAGroupHasNotAcknowledged(t *testing.T) {
	rdb, stream := archiveGroup(t)
	ctx := context.Background()
	publishN(t, rdb, 1, 10)
	// The group reads 4 entries and acknowledges 3 of them.
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "archive", Consumer: "c", Streams: []string{stream, ">"}, Count: 4}).Result()
	if err != nil {
		t.Fatal(err)
	}
	msgs := res[0].Messages
	if err := rdb.XAck(ctx, stream, "archive", msgs[0].ID, msgs[1].ID, msgs[3].ID).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	tr := &events.Trimmer{Redis: rdb, Streams: func() []string { return []string{stream} }, Retention: time.Millisecond}
	if _, err := tr.Trim(ctx, stream); err != nil {
		t.Fatal(err)
	}
	left, _ := rdb.XRange(ctx, stream, "-", "+").Result()
	if len(left) == 0 || events.CompareIDs(left[0].ID, msgs[2].ID) > 0 {
		t.Fatalf("trim removed the unacknowledged entry %s; first left %v", msgs[2].ID, left)
	}
	if len(left) == 10 && msgs[0].ID[:strings.IndexByte(msgs[0].ID, '-')] != msgs[2].ID[:strings.IndexByte(msgs[2].ID, '-')] {
		t.Fatalf("trim removed nothing though entries before %s were acknowledged", msgs[2].ID)
	}
}

// A consumer group that is lost and created again meets the retained
// history again: every entry is skipped by its apply-once marker, so
// nothing is applied twice onto live state.
func TestLostGroupDoesNotReplayHistory(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	want := publishN(t, rdb, 10, 10)
	stop := run(t, newSub(rdb, "c1", appendHandler(nil)))
	waitFor(t, "100 events applied", func() bool { _, n := lists(t, rdb, want); return n == 100 })
	stop()
	before, _ := lists(t, rdb, want)

	stream := events.Stream("intake", region)
	if err := rdb.XGroupDestroy(ctx, stream, "archive").Err(); err != nil {
		t.Fatal(err)
	}
	run(t, newSub(rdb, "c2", appendHandler(nil)))
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		err := events.WaitConsumed(wait, rdb, stream, "archive", 0)
		if err == nil {
			break
		}
		if wait.Err() != nil {
			t.Fatalf("recreated group did not catch up: %v", err)
		}
	}
	after, n := lists(t, rdb, want)
	if n != 100 {
		t.Fatalf("%d events applied after the group was recreated, want the same 100", n)
	}
	for name := range before {
		if strings.Join(before[name], ",") != strings.Join(after[name], ",") {
			t.Fatalf("%s changed after the group was recreated", name)
		}
	}
}

// TestBatchSumsCounters: counters a batch's events move are written as one
// HINCRBY per counter, and a delivery that fails takes its deltas back.
// everyTenth returns the ids of every tenth event of want, the deliveries
// the counter tests' handler fails.
func everyTenth(want map[string][]string) map[string]bool {
	out := map[string]bool{}
	n := 0
	for _, ids := range want {
		for _, id := range ids {
			if n%10 == 0 {
				out[id] = true
			}
			n++
		}
	}
	return out
}

// countingHandler moves counters of hash key for each delivery: "all" by 1,
// "by:<dispute>" by 2 and each of extra by 1, and then fails the broken
// ones, whose changes are taken back.
func countingHandler(key string, broken map[string]bool, extra ...string) events.Handler {
	return events.HandlerFuncs{
		ApplyFunc: func(b *events.Batch, d *events.Delivery) error {
			b.HIncrBy(key, "all", 1)
			b.HIncrBy(key, "by:"+d.Event.GetDispute(), 2)
			for _, f := range extra {
				b.HIncrBy(key, f, 1)
			}
			if broken[d.Event.GetId()] {
				return events.Permanent(errors.New("broken on purpose"))
			}
			return nil
		},
	}
}

// checkCounters checks the hash key the counter tests' handler moves: "all"
// and "by:<dispute>" (2 each) counted for every delivery not broken.
func checkCounters(t *testing.T, rdb *redis.Client, key string, want map[string][]string, broken map[string]bool) {
	t.Helper()
	got, err := rdb.HGetAll(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got["all"] != "450" {
		t.Errorf("all = %s, want 450: the 50 broken deliveries' deltas taken back", got["all"])
	}
	for name, ids := range want {
		ok := 0
		for _, id := range ids {
			if !broken[id] {
				ok++
			}
		}
		if got["by:"+name] != fmt.Sprint(2*ok) {
			t.Errorf("by:%s = %s, want %d", name, got["by:"+name], 2*ok)
		}
	}
}

func TestBatchSumsCounters(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	want := publishN(t, rdb, 20, 25) // 500 events
	broken := everyTenth(want)
	key := "{" + region + "}counters"
	h := countingHandler(key, broken)
	before := testenv.CommandCalls(t, rdb)["hincrby"]
	stop := run(t, newSub(rdb, "c1", h))
	waitFor(t, "every event handled", func() bool {
		p, err := rdb.XPending(context.Background(), events.Stream("intake", region), "archive").Result()
		all, _ := rdb.HGet(context.Background(), key, "all").Int()
		return err == nil && p.Count == 0 && all == 450
	})
	stop()
	checkCounters(t, rdb, key, want, broken)
	// 450 deliveries touching 21 counters: one HINCRBY per counter and
	// batch, far fewer than two per delivery.
	if calls := testenv.CommandCalls(t, rdb)["hincrby"] - before; calls >= 900 || calls < 21 {
		t.Errorf("%d HINCRBY for 450 deliveries of 21 counters; want them summed per batch", calls)
	} else {
		t.Logf("%d HINCRBY for 450 deliveries of 21 counters", calls)
	}
}

// TestBatchCoalescesSortedSets: sorted-set writes through a subscription's
// batches leave each set as the events applied one by one would, without
// the deliveries that failed, in fewer ZADD than deliveries.
func TestBatchCoalescesSortedSets(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	want := publishN(t, rdb, 20, 25) // 500 events
	pos := map[string]int{}
	broken := map[string]bool{}
	latest := map[string]float64{} // dispute -> position of its last event applied
	applied := map[string]float64{}
	for name, ids := range want {
		for i, id := range ids {
			pos[id] = i
			if (i+len(name))%7 == 0 {
				broken[id] = true
				continue
			}
			latest[name] = float64(i)
			applied[id] = 0
		}
	}
	latestKey, appliedKey := "{"+region+"}latest", "{"+region+"}applied"
	h := events.HandlerFuncs{
		ApplyFunc: func(b *events.Batch, d *events.Delivery) error {
			id := d.Event.GetId()
			b.ZAdd(appliedKey, 0, id)
			b.ZRem(latestKey, d.Event.GetDispute())
			b.ZAdd(latestKey, float64(pos[id]), d.Event.GetDispute())
			if broken[id] {
				return events.Permanent(errors.New("broken on purpose"))
			}
			return nil
		},
	}
	before := testenv.CommandCalls(t, rdb)["zadd"]
	stop := run(t, newSub(rdb, "c1", h))
	waitFor(t, "every event handled", func() bool {
		p, err := rdb.XPending(context.Background(), events.Stream("intake", region), "archive").Result()
		return err == nil && p.Count == 0 && rdb.ZCard(context.Background(), appliedKey).Val() == int64(len(applied))
	})
	stop()
	for key, want := range map[string]map[string]float64{latestKey: latest, appliedKey: applied} {
		zs, err := rdb.ZRangeWithScores(context.Background(), key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, z := range zs {
			got[z.Member.(string)] = z.Score
		}
		if len(got) != len(want) {
			t.Errorf("%s has %d members, want %d", key, len(got), len(want))
		}
		for m, s := range want {
			if g, ok := got[m]; !ok || g != s {
				t.Errorf("%s: %s scored %v (held %v), want %v", key, m, g, ok, s)
			}
		}
	}
	// Two sorted sets written by each of the 500 deliveries: one ZADD per
	// set and batch.
	if calls := testenv.CommandCalls(t, rdb)["zadd"] - before; calls >= 500 || calls < 2 {
		t.Errorf("%d ZADD for 500 deliveries writing 2 sorted sets; want them coalesced per batch", calls)
	} else {
		t.Logf("%d ZADD for 500 deliveries writing 2 sorted sets", calls)
	}
}

// One look answers every caller waiting on a stream; a caller waits for
// the entries the stream held when it asked, not for later ones; a Kick
// looks at once.
func TestProgressAnswersWaitersTogether(t *testing.T) {
	rdb, stream := archiveGroup(t)
	ctx := context.Background()
	publishN(t, rdb, 1, 3)
	// No poll within the test: looks come from arrivals and Kicks only.
	p := &events.Progress{Redis: rdb, Group: "archive", Poll: time.Hour}
	const waiters = 40
	done := make(chan error, waiters)
	for range waiters {
		go func() { done <- p.Wait(ctx, stream) }()
	}
	waitFor(t, "a first look", func() bool { return testenv.CommandCalls(t, rdb)["xinfo|groups"] > 0 })
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("a waiter returned (%v) before the group read anything", err)
	default:
	}

	// The group takes the three entries; an entry added afterwards is not
	// what the waiters wait for.
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "archive", Consumer: "c", Streams: []string{stream, ">"}, Count: 3}).Result()
	if err != nil {
		t.Fatal(err)
	}
	publishN(t, rdb, 1, 1)
	msgs := res[0].Messages
	if err := rdb.XAck(ctx, stream, "archive", msgs[0].ID, msgs[1].ID).Err(); err != nil {
		t.Fatal(err)
	}
	p.Kick(stream)
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("a waiter returned (%v) with one entry it waits for still pending", err)
	default:
	}
	before := testenv.CommandCalls(t, rdb)["xinfo|groups"]
	if err := rdb.XAck(ctx, stream, "archive", msgs[2].ID).Err(); err != nil {
		t.Fatal(err)
	}
	p.Kick(stream)
	for range waiters {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("waiter: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a Kick after the last acknowledgement did not answer the waiters")
		}
	}
	if n := testenv.CommandCalls(t, rdb)["xinfo|groups"] - before; n != 1 {
		t.Fatalf("%d looks answered %d waiters, want 1", n, waiters)
	}

	// A caller arriving now waits for the entry added above, and gives up
	// with ErrBehind when its context ends first.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := p.Wait(short, stream); !errors.Is(err, events.ErrBehind) {
		t.Fatalf("Wait with an unread entry = %v, want ErrBehind", err)
	}
}

// A Versioned handler's events are applied without apply-once markers:
// none is written, and an entry delivered again reaches the handler, whose
// own version rule must make it harmless.
func TestVersionedHandlerIsAppliedWithoutMarkers(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	want := publishN(t, rdb, 5, 4)
	h := appendHandler(nil).(events.HandlerFuncs)
	h.ByVersion = true
	stop := run(t, newSub(rdb, "c1", h))
	waitFor(t, "20 events applied", func() bool { _, n := lists(t, rdb, want); return n == 20 })
	stop()
	for _, ids := range want {
		for _, id := range ids {
			if n, err := rdb.Exists(ctx, events.Marker("archive", region, id)).Result(); err != nil || n != 0 {
				t.Fatalf("marker of %s: exists=%d err=%v; a versioned handler's events need none", id, n, err)
			}
		}
	}
	stream := events.Stream("intake", region)
	if err := rdb.XGroupDestroy(ctx, stream, "archive").Err(); err != nil {
		t.Fatal(err)
	}
	run(t, newSub(rdb, "c2", h))
	waitFor(t, "the 20 events delivered again", func() bool { _, n := lists(t, rdb, want); return n == 40 })
}

// With a counter log, a batch's summed counters are one list entry; a fold
// adds each entry once, whoever folds at the same time, each counter once
// per fold; a delivery that fails takes its deltas back as before; a
// counter whose name holds a separator of the log is written directly.
func TestCounterLogFoldsEachBatchOnce(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	want := publishN(t, rdb, 20, 25) // 500 events
	broken := everyTenth(want)
	key := "{" + region + "}counters"
	logKey := "{" + region + "}counter-log"
	odd := "odd\x1ffield"
	h := countingHandler(key, broken, odd)
	sub := newSub(rdb, "c1", h)
	sub.CounterLog = func(r string) string { return "{" + r + "}counter-log" }
	stop := run(t, sub)
	waitFor(t, "every event handled", func() bool {
		p, err := rdb.XPending(ctx, events.Stream("intake", region), "archive").Result()
		odd, _ := rdb.HGet(ctx, key, odd).Int()
		return err == nil && p.Count == 0 && odd == 450
	})
	stop()
	if all, err := rdb.HGet(ctx, key, "all").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("all = %q (%v) before a fold; the log holds the deltas", all, err)
	}
	entries, err := rdb.LLen(ctx, logKey).Result()
	if err != nil || entries == 0 {
		t.Fatalf("counter log holds %d entries (%v)", entries, err)
	}
	before := testenv.CommandCalls(t, rdb)["hincrby"]
	var wg sync.WaitGroup
	folded := make([]int, 4)
	for i := range folded {
		wg.Go(func() {
			n, err := events.FoldCounters(ctx, rdb, logKey)
			if err != nil {
				t.Error(err)
			}
			folded[i] = n
		})
	}
	wg.Wait()
	if sum := folded[0] + folded[1] + folded[2] + folded[3]; sum != int(entries) {
		t.Fatalf("folds took %v entries, want %d in all", folded, entries)
	}
	if n, _ := rdb.LLen(ctx, logKey).Result(); n != 0 {
		t.Fatalf("%d entries left after the folds", n)
	}
	// At most one HINCRBY per counter (21) per fold that found entries.
	if calls := testenv.CommandCalls(t, rdb)["hincrby"] - before; calls > 4*21 {
		t.Fatalf("folds ran %d HINCRBY for 21 counters", calls)
	}
	checkCounters(t, rdb, key, want, broken)
}
