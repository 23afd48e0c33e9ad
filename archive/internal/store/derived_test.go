package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/archive/internal/feed"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

const region = "141181"

type env struct {
	rdb   redis.UniversalClient
	admin *redis.Client // nil on a Redis Cluster
	st    *store.Store
}

// start runs the archive's consumer on a real Redis.
func start(t *testing.T) *env {
	t.Helper()
	rs := testenv.StartRedis(t)
	e := startOn(t, rs.Client(t))
	e.admin = rs.AdminClient(t)
	return e
}

// startOn runs the archive's consumer on the Redis of rdb.
func startOn(t *testing.T, rdb redis.UniversalClient) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st := store.New(rdb)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sub := &events.Subscription{Redis: rdb, Group: feed.Group, Name: "t", Default: feed.Handler(st), Log: log,
		Block: 50 * time.Millisecond, Sources: feed.Sources, Regions: func() []string { return []string{region} },
		CounterLog: store.StatsLogKey}
	done := make(chan struct{})
	go func() { sub.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &env{rdb: rdb, st: st}
}

func (e *env) publish(t *testing.T, evs ...*eventv1.Event) {
	t.Helper()
	for _, ev := range evs {
		vals, err := events.Values(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: events.Stream(ev.GetSource(), region), Values: vals}).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// settle waits, with a generous deadline, until the consumer applied every
// entry published so far.
func (e *env) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, src := range feed.Sources {
		if err := events.WaitConsumed(ctx, e.rdb, events.Stream(src, region), feed.Group, 20*time.Millisecond); err != nil {
			t.Fatalf("consumer did not catch up on %s: %v", src, err)
		}
	}
}

func name(n int) string { return fmt.Sprintf("regions/%s/disputes/2026-%d", region, n) }

func ev(t *testing.T, source string, n int, p proto.Message, at time.Time) *eventv1.Event {
	t.Helper()
	e, err := events.New(source, region, name(n), &typesv1.Actor{Region: region, Department: "tax", StaffId: "li_na"}, "", p, at)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// lifecycle is one dispute's routing account as the test moves it.
type lifecycle struct {
	version int64
	readers []string
	holder  string
}

func (l *lifecycle) next(e *eventv1.Event, s typesv1.DisputeState, readers ...string) *eventv1.Event {
	l.version++
	for _, r := range readers {
		if !slices.Contains(l.readers, r) {
			l.readers = append(l.readers, r)
		}
		l.holder = r
	}
	e.Lifecycle = &eventv1.Lifecycle{State: s, Version: l.version, Readers: slices.Clone(l.readers), Holder: l.holder}
	return e
}

var (
	departments   = []string{"tax", "hrss", "medical", "justice"}
	jurisdictions = []string{"141181001", "141181002", ""}
	categories    = []typesv1.Category{typesv1.Category_CATEGORY_LATE_FEE, typesv1.Category_CATEGORY_BENEFITS}
	channels      = []typesv1.Channel{typesv1.Channel_CHANNEL_WINDOW, typesv1.Channel_CHANNEL_HOTLINE_12345, typesv1.Channel_CHANNEL_ONLINE}
)

// mixedRun makes n disputes' events: registrations over three months, and
// for each a random walk through routing (transfers, returns, overdue
// clocks, extensions, replies, follow-ups, closes), some follow-ups after
// the close.
func mixedRun(t *testing.T, n int, rng *rand.Rand) []*eventv1.Event {
	var out []*eventv1.Event
	t0 := time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		at := t0.Add(time.Duration(rng.IntN(80*24)) * time.Hour)
		reg := departments[rng.IntN(len(departments))]
		out = append(out, ev(t, "intake", i, &intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{
			RegisteringDepartment: reg, Category: categories[rng.IntN(2)], Channel: channels[rng.IntN(3)],
			Jurisdiction: jurisdictions[rng.IntN(3)], RegisterTime: timestamppb.New(at), Complaint: "x"}}, at))
		lc := &lifecycle{}
		step := func(p proto.Message, s typesv1.DisputeState, readers ...string) {
			at = at.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
			out = append(out, lc.next(ev(t, "routing", i, p, at), s, readers...))
		}
		step(&routingv1.TrackingOpened{}, typesv1.DisputeState_DISPUTE_STATE_REGISTERED, reg)
		holder := reg
		if rng.IntN(2) == 0 {
			holder = departments[rng.IntN(len(departments))]
			step(&routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: holder},
				typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED, holder)
			if rng.IntN(3) == 0 {
				step(&routingv1.TransferReturned{ReturnCount: 1}, typesv1.DisputeState_DISPUTE_STATE_HANDLING, reg)
				holder = reg
			}
		}
		step(&routingv1.TransferReceived{}, typesv1.DisputeState_DISPUTE_STATE_HANDLING, holder)
		if rng.IntN(3) == 0 {
			step(&routingv1.ExtensionDecided{Extension: &routingv1.Extension{Decided: true, Approved: rng.IntN(2) == 0}},
				typesv1.DisputeState_DISPUTE_STATE_HANDLING)
		}
		if rng.IntN(4) == 0 {
			step(&routingv1.Overdue{Stage: routingv1.Stage_STAGE_HANDLING, DueTime: timestamppb.New(at)},
				typesv1.DisputeState_DISPUTE_STATE_HANDLING)
		}
		if rng.IntN(4) == 0 {
			continue // still being handled
		}
		step(&routingv1.ReplyRecorded{Reply: &routingv1.Reply{ReplyTime: timestamppb.New(at.Add(time.Hour))}},
			typesv1.DisputeState_DISPUTE_STATE_REPLIED)
		if rng.IntN(2) == 0 {
			step(&routingv1.FollowUpRecorded{FollowUp: &routingv1.FollowUp{Satisfied: rng.IntN(3) > 0}},
				typesv1.DisputeState_DISPUTE_STATE_REPLIED)
		}
		if rng.IntN(3) > 0 {
			step(&routingv1.DisputeClosed{Cause: "objection_window_ended"}, typesv1.DisputeState_DISPUTE_STATE_CLOSED)
			if rng.IntN(2) == 0 {
				step(&routingv1.FollowUpRecorded{FollowUp: &routingv1.FollowUp{Satisfied: true}},
					typesv1.DisputeState_DISPUTE_STATE_CLOSED)
			}
		}
	}
	return out
}

// The counters equal a recount from the dossiers' summaries, in every
// scope, after a mixed run published out of order across streams and
// then partly again (replayed entries, whole batches of them).
// On a Redis Cluster too: rebuilding scans the region's keys on the master
// that holds its slot, and finding the regions scans every master.
func TestCountersEqualRecount(t *testing.T) {
	t.Run("single", func(t *testing.T) { countersEqualRecount(t, start(t)) })
	t.Run("cluster", func(t *testing.T) { countersEqualRecount(t, startOn(t, testenv.StartRedisCluster(t).Client(t))) })
}

func countersEqualRecount(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 60
	evs := mixedRun(t, n, rng)
	// Published in the order the services would; the consumer applies
	// each region's disputes in lanes, in parallel.
	e.publish(t, evs...)
	e.settle(t)
	first := dump(t, e.rdb)
	// Replays: every fourth event again, then the whole first half again
	// (redelivered and replayed entries keep their event ids).
	for i := 0; i < len(evs); i += 4 {
		e.publish(t, evs[i])
	}
	e.publish(t, evs[:len(evs)/2]...)
	e.settle(t)
	if diff := cmp.Diff(first, dump(t, e.rdb)); diff != "" {
		t.Fatalf("replays changed the indexes or counters (-before +after):\n%s", diff)
	}
	// Stale accounts: new events carrying an older version of routing's
	// lifecycle (as a late event from another stream would) move nothing.
	for i := 1; i <= n; i += 5 {
		stale := ev(t, "routing", i, &routingv1.DisputeRouted{}, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		stale.Lifecycle = &eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_AT_OFFICE, Version: 1, Readers: []string{"finance"}, Holder: "finance"}
		e.publish(t, stale)
	}
	e.settle(t)
	if diff := cmp.Diff(first, dump(t, e.rdb)); diff != "" {
		t.Fatalf("stale lifecycle accounts changed the indexes or counters (-before +after):\n%s", diff)
	}

	ctx := context.Background()
	ds, err := e.st.List(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != n {
		t.Fatalf("%d dossiers, want %d", len(ds), n)
	}
	var closed, satisfied int64
	for _, d := range ds {
		if d.Closed() {
			closed++
		}
		satisfied += d.Satisfied
	}
	for _, scope := range append([]string{dossier.ScopeRegion}, departments...) {
		got, months, err := e.st.Statistics(ctx, region, scope, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(dossier.Recount(ds, scope), got); diff != "" {
			t.Fatalf("scope %s: counters differ from a recount (-recount +counters):\n%s", scope, diff)
		}
		if scope == dossier.ScopeRegion {
			if diff := cmp.Diff([]string{"2026-01", "2026-02", "2026-03"}, months); diff != "" {
				t.Errorf("months (-want +got):\n%s", diff)
			}
			tot := dossier.Totals(got, dossier.DimTotal, dossier.MRegistered)
			if len(tot) != 1 || tot[0].Value != n {
				t.Errorf("registered = %v, want %d", tot, n)
			}
			if c := dossier.Totals(got, dossier.DimTotal, dossier.MClosed); closed == 0 || len(c) != 1 || c[0].Value != closed {
				t.Errorf("closed = %v, want %d", c, closed)
			}
			if c := dossier.Totals(got, dossier.DimTotal, dossier.MSatisfied); satisfied == 0 || len(c) != 1 || c[0].Value != satisfied {
				t.Errorf("satisfied = %v, want %d", c, satisfied)
			}
		}
	}
	// A month range counts only its months.
	got, months, err := e.st.Statistics(ctx, region, dossier.ScopeRegion, "2026-02", "2026-02")
	if err != nil {
		t.Fatal(err)
	}
	if len(months) != 1 || len(got) == 0 {
		t.Fatalf("February: months %v, %d rows", months, len(got))
	}
	for _, r := range got {
		if r.Month != "2026-02" {
			t.Fatalf("February's statistics hold %v", r)
		}
	}

	// Built again from the summaries (as at an upgrade), they are the same.
	before := dump(t, e.rdb)
	for _, k := range []string{"archive:{" + region + "}:derived"} {
		e.rdb.Del(ctx, k)
	}
	e.rdb.HSet(ctx, "archive:{"+region+"}:stats:*:2026-01", "total|all|registered", 999) // stale
	rebuilt, err := e.st.EnsureDerived(ctx, region)
	if err != nil || !rebuilt {
		t.Fatalf("EnsureDerived = %v, %v", rebuilt, err)
	}
	if diff := cmp.Diff(before, dump(t, e.rdb)); diff != "" {
		t.Fatalf("rebuilt indexes and counters differ (-consumer +rebuilt):\n%s", diff)
	}
	if rebuilt, err := e.st.EnsureDerived(ctx, region); err != nil || rebuilt {
		t.Fatalf("EnsureDerived again = %v, %v", rebuilt, err)
	}
	if regions, err := e.st.Regions(ctx); err != nil || !slices.Equal(regions, []string{region}) {
		t.Fatalf("Regions = %v, %v", regions, err)
	}
}

// dump reads every index and counter of the region.
func dump(t *testing.T, rdb redis.UniversalClient) map[string]string {
	t.Helper()
	ctx := context.Background()
	if _, err := events.FoldCounters(ctx, rdb, store.StatsLogKey(region)); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, pattern := range []string{"archive:{" + region + "}:idx:*", "archive:{" + region + "}:stats:*"} {
		keys, err := events.ScanRegion(ctx, rdb, region, pattern, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if strings.Contains(k, ":idx:") {
				zs, err := rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
				if err != nil {
					t.Fatal(err)
				}
				if len(zs) > 0 {
					out[k] = fmt.Sprint(zs)
				}
				continue
			}
			h, err := rdb.HGetAll(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			for f, v := range h {
				if v != "0" {
					out[k+" "+f] = v
				}
			}
		}
	}
	return out
}

// Search pages through one index and reads only the dossiers of its pages,
// whatever the size of the region.
func TestSearchReadsAnIndexNotTheRegion(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	const n = 300
	var want []string // the HOTLINE ones readable by hrss, latest first
	for i := 1; i <= n; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		ch := typesv1.Channel_CHANNEL_WINDOW
		reg := "tax"
		if i%50 == 0 {
			ch = typesv1.Channel_CHANNEL_HOTLINE_12345
		}
		if i%100 == 0 {
			reg = "hrss"
		}
		e.publish(t, ev(t, "intake", i, &intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{
			RegisteringDepartment: reg, Category: typesv1.Category_CATEGORY_LATE_FEE, Channel: ch,
			RegisterTime: timestamppb.New(at), Complaint: "x"}}, at))
		if ch == typesv1.Channel_CHANNEL_HOTLINE_12345 && reg == "hrss" {
			want = append([]string{name(i)}, want...)
		}
	}
	e.settle(t)

	// Every other dossier's summary is made unreadable: a search that read
	// one would fail.
	for i := 1; i <= n; i++ {
		if i%50 != 0 {
			if err := e.rdb.Set(ctx, fmt.Sprintf("archive:{%s}:dossier:2026-%d", region, i), "{not json", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	all := func(q store.Query) []string {
		var got []string
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("search does not end: %v", got)
			}
			p, err := e.st.Search(ctx, region, q)
			if err != nil {
				t.Fatalf("search %+v: %v", q, err)
			}
			for _, d := range p.Dossiers {
				got = append(got, d.Name)
			}
			if p.Next == nil {
				return got
			}
			q.After = p.Next
		}
	}
	got := all(store.Query{Scope: "hrss", Filter: dossier.Filter{Channel: typesv1.Channel_CHANNEL_HOTLINE_12345}, Limit: 1})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("hrss's hotline dossiers (-want +got):\n%s", diff)
	}
	got = all(store.Query{Scope: dossier.ScopeRegion, Filter: dossier.Filter{Channel: typesv1.Channel_CHANNEL_HOTLINE_12345, Query: "2026-2"}, Limit: 2})
	if diff := cmp.Diff([]string{name(250), name(200)}, got); diff != "" {
		t.Fatalf("free text (-want +got):\n%s", diff)
	}
	// Free text over the whole region, a filter that matches nothing: both
	// refused or bounded, never a read of the region.
	if _, err := e.st.Search(ctx, region, store.Query{Scope: dossier.ScopeRegion, Filter: dossier.Filter{Query: "x"}, Limit: 10}); err == nil {
		// n is below the limit: the search reads the region's dossiers and
		// meets the unreadable ones.
		t.Fatal("free text over unreadable dossiers succeeded")
	}

	// The first page of the whole region reads its page and no more.
	if err := e.admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	p, err := e.st.Search(ctx, region, store.Query{Scope: dossier.ScopeRegion, Filter: dossier.Filter{Channel: typesv1.Channel_CHANNEL_HOTLINE_12345}, Limit: 3})
	if err != nil || len(p.Dossiers) != 3 || p.Next == nil {
		t.Fatalf("page = %v, %v", p, err)
	}
	info, err := e.admin.Info(ctx, "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	if hits, misses := stat(info, "keyspace_hits"), stat(info, "keyspace_misses"); hits+misses > 10 {
		t.Fatalf("a page of 3 looked up %d keys", hits+misses)
	}
}

func stat(info, field string) int64 {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// Free text is refused, naming the limit, when the filters leave more
// dossiers than it may search.
func TestFreeTextTooBroad(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	// The index alone decides: fill the region's "all" past the limit.
	zs := make([]redis.Z, store.TextScanLimit+1)
	for i := range zs {
		zs[i] = redis.Z{Score: float64(i), Member: fmt.Sprintf("2026-%d", i+1)}
	}
	if err := e.rdb.ZAdd(ctx, "archive:{"+region+"}:idx:*:all", zs...).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := e.st.Search(ctx, region, store.Query{Scope: dossier.ScopeRegion, Filter: dossier.Filter{Query: "17"}, Limit: 10})
	var broad *store.TooBroadError
	if !errors.As(err, &broad) || !strings.Contains(err.Error(), strconv.Itoa(store.TextScanLimit)) {
		t.Fatalf("free text over %d dossiers: %v", len(zs), err)
	}
	// Without free text the same index pages, bounded.
	p, err := e.st.Search(ctx, region, store.Query{Scope: dossier.ScopeRegion, Limit: 10})
	if err != nil || p.Next == nil {
		t.Fatalf("page = %v, %v", p, err)
	}
}
