package store_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
)

// twin is ev again under a new id, at ev's time (a tie the id breaks) or a
// few microseconds before it (the same millisecond, so its id may sort
// either way).
func twin(ev *eventv1.Event, rng *rand.Rand) *eventv1.Event {
	at := ev.GetTime().AsTime()
	if rng.IntN(2) == 0 {
		at = at.Add(-time.Duration(rng.IntN(900)) * time.Microsecond)
	}
	c := proto.Clone(ev).(*eventv1.Event)
	c.Id, c.Time = events.NewID(at), timestamppb.New(at)
	return c
}

// orderOf is the order the archive kept its dossiers' events in before it
// dropped the per-dossier sorted sets: a sorted set of event ids scored by
// their time in microseconds, read by Redis itself.
func orderOf(t *testing.T, rdb redis.UniversalClient, key string, evs []*eventv1.Event) []string {
	t.Helper()
	ctx := context.Background()
	rdb.Del(ctx, key)
	if len(evs) == 0 {
		return nil
	}
	zs := make([]redis.Z, len(evs))
	for i, ev := range evs {
		zs[i] = redis.Z{Score: float64(ev.GetTime().AsTime().UnixMicro()), Member: ev.GetId()}
	}
	if err := rdb.ZAdd(ctx, key, zs...).Err(); err != nil {
		t.Fatal(err)
	}
	ids, err := rdb.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func ids(evs []*eventv1.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.GetId())
	}
	return out
}

// A dossier's events and its addendum read back in the order the sorted
// set of event ids scored by time kept: by time to the microsecond, ties
// by id; and a region whose dossiers still have those sets (written before
// they were dropped) loses them at the rebuild, reading the same.
func TestDossierEventsReadInTimeThenIDOrder(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 24
	evs := mixedRun(t, n, rng)
	for _, ev := range slices.Clone(evs) {
		if rng.IntN(2) == 0 {
			evs = append(evs, twin(ev, rng))
		}
	}
	rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	e.publish(t, evs...)
	e.settle(t)
	// Late events of the closed dossiers, published after their close: the
	// addendum, ties and all.
	time.Sleep(5 * time.Millisecond)
	last := map[string]*eventv1.Event{}
	for _, ev := range evs {
		if l := last[ev.GetDispute()]; l == nil || ev.GetTime().AsTime().After(l.GetTime().AsTime()) {
			last[ev.GetDispute()] = ev
		}
	}
	late := 0
	for i := 1; i <= n; i++ {
		d, _, err := e.st.Get(ctx, name(i))
		if err != nil {
			t.Fatal(err)
		}
		if !d.Closed() {
			continue
		}
		for range 3 {
			l := twin(last[name(i)], rng)
			evs = append(evs, l, twin(l, rng))
			e.publish(t, evs[len(evs)-2:]...)
			late += 2
		}
	}
	e.settle(t)
	if late == 0 {
		t.Fatal("no dossier closed: the test has no addendum")
	}

	read := func() map[string][2][]string {
		out := map[string][2][]string{}
		for i := 1; i <= n; i++ {
			_, got, err := e.st.Get(ctx, name(i))
			if err != nil {
				t.Fatal(err)
			}
			add, err := e.st.Addendum(ctx, name(i))
			if err != nil {
				t.Fatal(err)
			}
			out[name(i)] = [2][]string{ids(got), ids(add)}
		}
		return out
	}
	got := read()
	byDispute := map[string][]*eventv1.Event{}
	for _, ev := range evs {
		byDispute[ev.GetDispute()] = append(byDispute[ev.GetDispute()], ev)
	}
	ties, addenda := 0, 0
	for i := 1; i <= n; i++ {
		nm := name(i)
		inDossier := map[string]bool{}
		for _, id := range got[nm][0] {
			inDossier[id] = true
		}
		var dossierEvs, addendumEvs []*eventv1.Event
		micros := map[int64]bool{}
		for _, ev := range byDispute[nm] {
			if inDossier[ev.GetId()] {
				dossierEvs = append(dossierEvs, ev)
			} else {
				addendumEvs = append(addendumEvs, ev)
			}
			if us := ev.GetTime().AsTime().UnixMicro(); micros[us] {
				ties++
			} else {
				micros[us] = true
			}
		}
		if len(addendumEvs) > 0 {
			addenda++
		}
		if diff := cmp.Diff(orderOf(t, e.rdb, "{"+region+"}ref", dossierEvs), got[nm][0]); diff != "" {
			t.Errorf("%s: events (-sorted set +read):\n%s", nm, diff)
		}
		if diff := cmp.Diff(orderOf(t, e.rdb, "{"+region+"}ref", addendumEvs), got[nm][1]); diff != "" {
			t.Errorf("%s: addendum (-sorted set +read):\n%s", nm, diff)
		}
	}
	if ties == 0 || addenda == 0 {
		t.Fatalf("%d ties of time, %d addenda: the test orders nothing that matters", ties, addenda)
	}

	// Dossiers written before the order sets were dropped still have them:
	// the rebuild at start drops them, and the dossiers read the same.
	var old []string
	for i := 1; i <= n; i++ {
		_, id, _ := names.DisputeID(name(i))
		k := "archive:{" + region + "}:dossier:" + id + ":order"
		old = append(old, k, "archive:{"+region+"}:dossier:"+id+":addendum:order")
		if err := e.rdb.ZAdd(ctx, k, redis.Z{Score: 1, Member: "x"}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := e.rdb.ZAdd(ctx, old[len(old)-1], redis.Z{Score: 1, Member: "x"}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	e.rdb.Set(ctx, "archive:{"+region+"}:derived", "1", 0)
	if rebuilt, err := e.st.EnsureDerived(ctx, region); err != nil || !rebuilt {
		t.Fatalf("EnsureDerived = %v, %v", rebuilt, err)
	}
	if n, err := e.rdb.Exists(ctx, old...).Result(); err != nil || n != 0 {
		t.Errorf("%d order sets left after the rebuild (%v)", n, err)
	}
	if diff := cmp.Diff(got, read()); diff != "" {
		t.Errorf("dossiers read differently after the rebuild (-before +after):\n%s", diff)
	}
}

// A dossier is read with the events of the same moment while batches keep
// landing: its count of events is always the number of events listed.
func TestDossierReadsWithItsOwnEvents(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	var evs []*eventv1.Event
	for _, ev := range mixedRun(t, 40, rng) {
		ev.Dispute = name(1)
		evs = append(evs, ev)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < len(evs); i += 3 {
			e.publish(t, evs[i:min(i+3, len(evs))]...)
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() { <-done }() // a failed check ends the test after the publisher
	reads := 0
	for running := true; running; reads++ {
		select {
		case <-done:
			running = false
		default:
		}
		d, got, err := e.st.Get(ctx, name(1))
		if errors.Is(err, dossier.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if d.Events != len(got) {
			t.Fatalf("read %d: the dossier counts %d events and lists %d", reads, d.Events, len(got))
		}
	}
	e.settle(t)
	d, got, err := e.st.Get(ctx, name(1))
	if err != nil || d.Events != len(got) || d.Events == 0 {
		t.Fatalf("after the last batch: %v events counted, %d listed, %v", d.Events, len(got), err)
	}
}

// GetMany answers each dispute in its place, as Get would: found, not
// found, or a name that is none.
func TestGetManyAnswersEachAsGet(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.publish(t, mixedRun(t, 3, rand.New(rand.NewPCG(9, 10)))...)
	e.settle(t)
	asked := []string{name(2), name(99), "regions/141181/nothing", name(1), name(3)}
	got := e.st.GetMany(ctx, asked)
	if len(got) != len(asked) {
		t.Fatalf("%d answers for %d disputes", len(got), len(asked))
	}
	for i, n := range asked {
		d, evs, err := e.st.Get(ctx, n)
		r := got[i]
		if (err == nil) != (r.Err == nil) || (err != nil && err.Error() != r.Err.Error()) {
			t.Fatalf("%s: GetMany error %v, Get error %v", n, r.Err, err)
		}
		if err != nil {
			continue
		}
		if r.Dossier.Name != d.Name || r.Dossier.Events != d.Events || !slices.Equal(ids(r.Events), ids(evs)) || len(evs) == 0 {
			t.Fatalf("%s: GetMany read %v with %v, Get %v with %v", n, r.Dossier, ids(r.Events), d, ids(evs))
		}
	}
	if !errors.Is(got[1].Err, dossier.ErrNotFound) || got[2].Err == nil || errors.Is(got[2].Err, dossier.ErrNotFound) {
		t.Fatalf("a missing dossier and a bad name: %v, %v", got[1].Err, got[2].Err)
	}
}
