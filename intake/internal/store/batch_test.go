package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// TestBatchedRegistrations registers concurrently through the batch loops,
// with the script flushed from Redis halfway, and finds every registration
// stored under a gapless series of numbers.
func TestBatchedRegistrations(t *testing.T) {
	testenv.ForEachRedis(t, func(t *testing.T, rdb redis.UniversalClient) {
		s := New(rdb)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.RunBatches(ctx) }()
		defer func() { cancel(); <-done }()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			s.batch.mu.RLock()
			running := s.batch.running > 0
			s.batch.mu.RUnlock()
			if running {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("batch loops did not start")
			}
		}

		const n = 300
		now := time.Date(2026, 5, 6, 9, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var numbers []string
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			if i == n/2 {
				if err := rdb.ScriptFlush(context.Background()).Err(); err != nil {
					t.Fatal(err)
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, replayed, err := s.Register(context.Background(), registration(t, now, fmt.Sprintf("batch-%d", i), ""))
				if err != nil || replayed {
					errs <- fmt.Errorf("registration %d: replayed=%v err=%v", i, replayed, err)
					return
				}
				mu.Lock()
				numbers = append(numbers, d.GetName())
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		sort.Slice(numbers, func(i, j int) bool { return idNum(numbers[i]) < idNum(numbers[j]) })
		for i, name := range numbers {
			if want := fmt.Sprintf("regions/141181/disputes/2026-%d", i+1); name != want {
				t.Fatalf("dispute %d is %s, want %s (numbers must be 1..%d without gaps)", i, name, want, n)
			}
		}
		if len(numbers) != n {
			t.Fatalf("%d registrations stored, want %d", len(numbers), n)
		}
	})
}

func idNum(name string) int {
	var year, n int
	fmt.Sscanf(name[len("regions/141181/disputes/"):], "%d-%d", &year, &n)
	return n
}

// TestOneScriptRunRegistersInOrder sends registrations that depend on each
// other in ONE flush and finds each treated as if registered alone, in
// order: a repeated request id replays, a repeated external reference is
// refused, the claimant's second dispute links to the first, and a
// registration of another year is numbered in its own series.
func TestOneScriptRunRegistersInOrder(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	s := New(rdb)
	now := time.Date(2026, 12, 31, 9, 0, 0, 0, time.UTC)
	regs := []Registration{
		registration(t, now, "one", "WO-9"),
		registration(t, now, "one", "WO-9"),                   // the same request again
		registration(t, now, "two", "WO-9"),                   // another request, the same reference
		registration(t, now.Add(time.Second), "three", ""),    // the same claimant again
		registration(t, now.AddDate(0, 0, 1), "new-year", ""), // 2027
		registration(t, now.Add(2*time.Second), "four", "WO-10"),
	}
	calls := make([]*regCall, len(regs))
	for i, r := range regs {
		c, err := prepare(r)
		if err != nil {
			t.Fatal(err)
		}
		c.done = make(chan scriptResult, 1)
		calls[i] = c
	}
	s.flush(calls)
	type outcome struct {
		name     string
		replayed bool
		links    []string
		err      error
	}
	got := make([]outcome, len(regs))
	for i, c := range calls {
		res := <-c.done
		if res.err != nil {
			t.Fatalf("registration %d: %v", i, res.err)
		}
		d, replayed, err := s.registered(ctx, regs[i], res.vals)
		got[i] = outcome{name: d.GetName(), replayed: replayed, links: d.GetLinkedDisputes(), err: err}
	}
	name := func(id string) string { return "regions/141181/disputes/" + id }
	if g := got[0]; g.name != name("2026-1") || g.replayed || len(g.links) != 0 || g.err != nil {
		t.Errorf("first: %+v", g)
	}
	if g := got[1]; g.name != name("2026-1") || !g.replayed || g.err != nil {
		t.Errorf("same request id: %+v, want a replay of 2026-1", g)
	}
	var dup *dispute.DuplicateRefError
	if g := got[2]; !errors.As(g.err, &dup) || dup.Existing != name("2026-1") {
		t.Errorf("same reference: %+v, want a duplicate of 2026-1", g)
	}
	if g := got[3]; g.name != name("2026-2") || len(g.links) != 1 || g.links[0] != name("2026-1") {
		t.Errorf("same claimant: %+v, want 2026-2 linked to 2026-1", g)
	}
	if g := got[4]; g.name != name("2027-1") {
		t.Errorf("next year: %+v, want 2027-1", g)
	}
	if g := got[5]; g.name != name("2026-3") || len(g.links) != 2 {
		t.Errorf("fourth: %+v, want 2026-3 linked to 2026-1 and 2026-2", g)
	}
	first, err := s.Get(ctx, region, "2026-1")
	if err != nil {
		t.Fatal(err)
	}
	// 2027-1 runs in a script of its own after the 2026 group: the
	// claimant's open disputes of every year are linked.
	if l := first.GetLinkedDisputes(); strings.Join(l, " ") != name("2026-2")+" "+name("2026-3")+" "+name("2027-1") {
		t.Errorf("2026-1 links %v, want 2026-2, 2026-3 and 2027-1", l)
	}
	for year, want := range map[int]string{2026: "3", 2027: "1"} {
		if n, _ := rdb.Get(ctx, SequenceKey(region, year)).Result(); n != want {
			t.Errorf("sequence %d = %s, want %s (no number consumed by a replay or duplicate)", year, n, want)
		}
	}
	msgs, err := rdb.XRange(ctx, events.Stream(Service, region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	lastID := map[string]string{} // by dispute
	for _, m := range msgs {
		ev, err := events.Decode(m)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.GetType()+" "+ev.GetDispute())
		// A dispute's events share their time; their ids keep the order.
		if prev := lastID[ev.GetDispute()]; ev.GetId() <= prev {
			t.Errorf("%s of %s has id %s, not after %s", ev.GetType(), ev.GetDispute(), ev.GetId(), prev)
		}
		lastID[ev.GetDispute()] = ev.GetId()
	}
	want := []string{
		"disputes.intake.v1.DisputeRegistered " + name("2026-1"),
		"disputes.intake.v1.DisputeRegistered " + name("2026-2"),
		"disputes.intake.v1.DisputesLinked " + name("2026-2"),
		"disputes.intake.v1.DisputeRegistered " + name("2026-3"),
		"disputes.intake.v1.DisputesLinked " + name("2026-3"),
		"disputes.intake.v1.DisputeRegistered " + name("2027-1"),
		"disputes.intake.v1.DisputesLinked " + name("2027-1"),
	}
	if strings.Join(types, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(types, "\n"), strings.Join(want, "\n"))
	}
}

// TestOneScriptRunKeysRequestIDsByDepartmentAndForm sends, in ONE flush, a
// request id used twice with one form, once with another form, and once by
// another department: the repeat replays, the changed form is refused as
// reused, and the other department gets a registration of its own.
func TestOneScriptRunKeysRequestIDsByDepartmentAndForm(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	s := New(rdb)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	changed := registration(t, now, "one", "")
	changed.Dispute.Complaint = "另一件事"
	hrss := registration(t, now, "one", "")
	hrss.Dispute.RegisteringDepartment = "hrss"
	regs := []Registration{
		registration(t, now, "one", ""),
		registration(t, now.Add(time.Second), "one", ""), // a retry: the time differs, the form not
		changed,
		hrss,
	}
	calls := make([]*regCall, len(regs))
	for i, r := range regs {
		c, err := prepare(r)
		if err != nil {
			t.Fatal(err)
		}
		c.done = make(chan scriptResult, 1)
		calls[i] = c
	}
	s.flush(calls)
	names := make([]string, len(regs))
	errs := make([]error, len(regs))
	replays := make([]bool, len(regs))
	for i, c := range calls {
		res := <-c.done
		if res.err != nil {
			t.Fatalf("registration %d: %v", i, res.err)
		}
		d, replayed, err := s.registered(ctx, regs[i], res.vals)
		names[i], replays[i], errs[i] = d.GetName(), replayed, err
	}
	name := func(id string) string { return "regions/141181/disputes/" + id }
	if names[0] != name("2026-1") || replays[0] || errs[0] != nil {
		t.Errorf("first: %s replayed=%v err=%v", names[0], replays[0], errs[0])
	}
	if names[1] != name("2026-1") || !replays[1] || errs[1] != nil {
		t.Errorf("retry: %s replayed=%v err=%v, want a replay of 2026-1", names[1], replays[1], errs[1])
	}
	if !errors.Is(errs[2], dispute.ErrRequestIDReused) || names[2] != "" {
		t.Errorf("changed form: %s err=%v, want ErrRequestIDReused", names[2], errs[2])
	}
	if names[3] != name("2026-2") || replays[3] || errs[3] != nil {
		t.Errorf("other department: %s replayed=%v err=%v, want its own 2026-2", names[3], replays[3], errs[3])
	}
	// The same three again, each in a script run of its own, find the
	// records the batch wrote.
	for i, want := range []error{nil, nil, dispute.ErrRequestIDReused, nil} {
		r := regs[i]
		r.Dispute = proto.Clone(r.Dispute).(*intakev1.Dispute)
		r.Dispute.Name, r.Dispute.Number, r.Dispute.LinkedDisputes, r.Dispute.MassDispute = "", "", nil, false
		_, replayed, err := s.Register(ctx, r)
		if !errors.Is(err, want) || (want == nil && !replayed) {
			t.Errorf("later retry %d: replayed=%v err=%v, want err %v", i, replayed, err, want)
		}
	}
}
