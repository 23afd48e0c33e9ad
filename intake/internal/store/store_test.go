package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

const region = "141181"

func form(now time.Time, ref string) *intakev1.Dispute {
	return &intakev1.Dispute{
		Claimant: &intakev1.Claimant{
			Kind: typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL, Name: "张三", Phone: "13812345678",
		},
		Complaint:             "单位未足额缴纳社会保险费",
		Category:              typesv1.Category_CATEGORY_CONTRIBUTION_AMOUNT,
		Channel:               typesv1.Channel_CHANNEL_HOTLINE_12345,
		ExternalRef:           ref,
		RegisteringDepartment: "tax",
		RegisteringStaff:      "clerk1",
		FirstReceiver:         "clerk1",
		ProposedDepartment:    "tax",
		RegisterTime:          timestamppb.New(now),
	}
}

func registration(t testing.TB, now time.Time, requestID, ref string) Registration {
	t.Helper()
	return Registration{Region: region, RequestID: requestID, Time: now, Dispute: form(now, ref),
		Actor:       &typesv1.Actor{Region: region, Department: "tax", StaffId: "clerk1"},
		Identifiers: []string{"phone:13812345678"}}
}

// TestRegisterBuildsValidMessages checks the bytes the Lua script
// assembles: the stored Dispute and the Event envelope both decode with
// proto.Unmarshal and carry the allocated name and number.
func TestRegisterBuildsValidMessages(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	s := New(rdb)
	now := time.Date(2026, 5, 4, 9, 30, 0, 0, dispute.Shanghai)

	r := registration(t, now, "req-1", "WO-1")
	r.Dispute.LookupCode = "K7Q2M9XP"
	sent := proto.Clone(r.Dispute).(*intakev1.Dispute)
	got, replayed, err := s.Register(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if replayed {
		t.Error("first registration reported as replayed")
	}
	want := proto.Clone(sent).(*intakev1.Dispute)
	want.Name, want.Number = "regions/141181/disputes/2026-1", "2026年第1号"
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("returned dispute (-want +got):\n%s", d)
	}

	raw, err := rdb.Get(ctx, DisputeKey(region, "2026-1")).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	stored := &intakev1.Dispute{}
	if err := proto.Unmarshal(raw, stored); err != nil {
		t.Fatalf("stored bytes do not decode: %v", err)
	}
	if d := cmp.Diff(want, stored, protocmp.Transform()); d != "" {
		t.Errorf("stored dispute (-want +got):\n%s", d)
	}

	msgs, err := rdb.XRange(ctx, events.Stream(Service, region), "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("stream: %d entries, err %v", len(msgs), err)
	}
	ev, err := events.Decode(msgs[0])
	if err != nil {
		t.Fatalf("event does not decode: %v", err)
	}
	// The event carries the form as sent, less the lookup code.
	inEvent := proto.Clone(sent).(*intakev1.Dispute)
	inEvent.LookupCode = ""
	wantEv, err := events.New(Service, region, "regions/141181/disputes/2026-1", r.Actor, "",
		&intakev1.DisputeRegistered{Dispute: inEvent}, now)
	if err != nil {
		t.Fatal(err)
	}
	wantEv.Id = ev.GetId()
	if d := cmp.Diff(wantEv, ev, protocmp.Transform()); d != "" {
		t.Errorf("event (-want +got):\n%s", d)
	}
	if id := msgs[0].Values[events.FieldID]; id != ev.GetId() || len(ev.GetId()) < 16 ||
		msgs[0].Values[events.FieldType] != "disputes.intake.v1.DisputeRegistered" {
		t.Errorf("entry fields = %v, event id %q", msgs[0].Values, ev.GetId())
	}
}

func TestLargeNumber(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	s := New(rdb)
	now := time.Date(2026, 5, 4, 9, 30, 0, 0, dispute.Shanghai)
	rdb.Set(ctx, SequenceKey(region, 2026), 999999, 0)
	got, _, err := s.Register(ctx, registration(t, now, "req-big", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got.GetNumber() != "2026年第1000000号" || got.GetName() != "regions/141181/disputes/2026-1000000" {
		t.Errorf("got %q %q", got.GetName(), got.GetNumber())
	}
}

// TestLuaVarint runs the script's varint encoder on lengths around each
// 7-bit boundary and compares with protowire.
func TestLuaVarint(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 2097151, 2097152} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := string(make([]byte, n))
			// The helpers are locals of the script: run its head with a
			// different tail.
			helpers := registerLua[:strings.Index(registerLua, "local seqKey")]
			got, err := rdb.Eval(ctx, helpers+"return field(0x0A, ARGV[1])", nil, s).Text()
			if err != nil {
				t.Fatal(err)
			}
			m := &intakev1.Dispute{}
			if err := proto.Unmarshal([]byte(got), m); err != nil || len(m.GetName()) != n {
				t.Errorf("decoded name of %d bytes, err %v; want %d", len(m.GetName()), err, n)
			}
		})
	}
}

func TestReplayAndDuplicateRef(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	now := time.Date(2026, 5, 4, 9, 30, 0, 0, dispute.Shanghai)

	first, _, err := New(rdb).Register(ctx, registration(t, now, "req-1", "WO-1"))
	if err != nil {
		t.Fatal(err)
	}
	// Another Store (another replica) sees the same request id.
	again, replayed, err := New(rdb).Register(ctx, registration(t, now, "req-1", "WO-1"))
	if err != nil || !replayed || again.GetNumber() != first.GetNumber() {
		t.Fatalf("replay = %q replayed=%v err=%v; want %q", again.GetNumber(), replayed, err, first.GetNumber())
	}
	_, _, err = New(rdb).Register(ctx, registration(t, now, "req-2", "WO-1"))
	var dup *dispute.DuplicateRefError
	if !errors.As(err, &dup) || dup.Existing != first.GetName() {
		t.Fatalf("duplicate ref: err = %v, want DuplicateRefError naming %s", err, first.GetName())
	}
	// The same work-order number on another channel is another work order
	// (of another claimant, so no DisputesLinked either).
	r := registration(t, now, "req-3", "WO-1")
	r.Dispute.Channel = typesv1.Channel_CHANNEL_PHONE
	r.Dispute.Claimant.Phone, r.Identifiers = "13900000000", []string{"phone:13900000000"}
	second, _, err := New(rdb).Register(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if second.GetNumber() != "2026年第2号" {
		t.Errorf("after a refused duplicate, number = %q, want 2026年第2号 (no number consumed)", second.GetNumber())
	}
	if n, _ := rdb.XLen(ctx, events.Stream(Service, region)).Result(); n != 2 {
		t.Errorf("stream has %d events, want 2", n)
	}
}

func TestListPagesNewestFirst(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	s := New(rdb)
	base := time.Date(2026, 5, 4, 9, 30, 0, 0, dispute.Shanghai)
	const total = 130
	for i := 1; i <= total; i++ {
		// Two thirds share one millisecond, so ties cross batch boundaries.
		now := base
		if i > 2*total/3 {
			now = base.Add(time.Duration(i) * time.Second)
		}
		r := registration(t, now, fmt.Sprint("req-", i), "")
		if i%2 == 0 {
			r.Dispute.Category = typesv1.Category_CATEGORY_LATE_FEE
		}
		if _, _, err := s.Register(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(t *testing.T, q Query) []string {
		var names []string
		for page := 0; page < 1000; page++ {
			ds, next, err := s.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) > q.Size {
				t.Fatalf("page of %d > size %d", len(ds), q.Size)
			}
			for _, d := range ds {
				names = append(names, d.GetName())
			}
			if next == nil {
				return names
			}
			if len(ds) != q.Size {
				t.Fatalf("short page of %d with a next cursor", len(ds))
			}
			q.After = next
		}
		t.Fatal("too many pages")
		return nil
	}
	var want, wantLate []string
	for i := total; i >= 1; i-- {
		want = append(want, fmt.Sprintf("regions/141181/disputes/2026-%d", i))
		if i%2 == 0 {
			wantLate = append(wantLate, fmt.Sprintf("regions/141181/disputes/2026-%d", i))
		}
	}
	for _, size := range []int{1, 7, 50, 500} {
		t.Run(fmt.Sprint("size ", size), func(t *testing.T) {
			if d := cmp.Diff(want, collect(t, Query{Region: region, Size: size})); d != "" {
				t.Errorf("all (-want +got):\n%s", d)
			}
			late := collect(t, Query{Region: region, Size: size, Keep: func(d *intakev1.Dispute) bool {
				return d.GetCategory() == typesv1.Category_CATEGORY_LATE_FEE
			}})
			if d := cmp.Diff(wantLate, late); d != "" {
				t.Errorf("filtered (-want +got):\n%s", d)
			}
		})
	}
	// Time range [base+100s, base+120s): disputes 100..119.
	got := collect(t, Query{Region: region, Size: 6, From: base.Add(100 * time.Second), To: base.Add(120 * time.Second)})
	if len(got) != 20 || got[0] != "regions/141181/disputes/2026-119" || got[19] != "regions/141181/disputes/2026-100" {
		t.Errorf("time range gave %d: %v", len(got), got)
	}
}

// TestLinksAndCountsUnderConcurrency registers disputes of one claimant
// against one employer at once: every pair ends up linked both ways, and the
// employer counts are exactly 1..n, each raising at most one warning event,
// all of one warning that names each dispute once.
func TestLinksAndCountsUnderConcurrency(t *testing.T) {
	testenv.ForEachRedis(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		now := time.Date(2026, 5, 4, 9, 30, 0, 0, dispute.Shanghai)
		const n = 40
		rule := dispute.NewMassRule(0, 3, 30, []string{"petition"}, "tax")
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			r := registration(t, now, fmt.Sprint("req-", i), "")
			r.Dispute.EmployerCreditCode = "91350100M000100Y43"
			r.Employer, r.Mass = "credit:91350100M000100Y43", rule
			go func() {
				_, _, err := New(rdb).Register(ctx, r)
				errs <- err
			}()
		}
		for i := 0; i < n; i++ {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		s := New(rdb)
		for i := 1; i <= n; i++ {
			id := fmt.Sprintf("2026-%d", i)
			d, err := s.Get(ctx, region, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.GetLinkedDisputes()) != n-1 {
				t.Errorf("%s linked to %d disputes, want %d", id, len(d.GetLinkedDisputes()), n-1)
			}
			for _, other := range d.GetLinkedDisputes() {
				back, err := rdb.SIsMember(ctx, LinksKey(region, idOfName(other)), d.GetName()).Result()
				if err != nil || !back {
					t.Errorf("%s links to %s but not back", d.GetName(), other)
				}
			}
		}
		msgs, err := rdb.XRange(ctx, events.Stream(Service, region), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		counts := map[int32]int{}
		warningIDs := map[string]bool{}
		named := map[string]int{}
		for _, m := range msgs {
			ev, err := events.Decode(m)
			if err != nil {
				t.Fatal(err)
			}
			if !events.Is(ev, &intakev1.MassDisputeWarning{}) {
				continue
			}
			w, err := events.Payload[*intakev1.MassDisputeWarning](ev)
			if err != nil {
				t.Fatal(err)
			}
			counts[w.GetOpenDisputesSameEmployer()]++
			warningIDs[w.GetWarningId()] = true
			for _, d := range w.GetDisputes() {
				named[d]++
			}
			if w.GetWarningDisputes() != w.GetOpenDisputesSameEmployer() {
				t.Errorf("warning event %s: the warning names %d, the employer has %d open", ev.GetId(), w.GetWarningDisputes(), w.GetOpenDisputesSameEmployer())
			}
			d, err := s.Get(ctx, region, idOfName(ev.GetDispute()))
			if err != nil || !d.GetMassDispute() {
				t.Errorf("%s raised a warning but is not marked (err %v)", ev.GetDispute(), err)
			}
		}
		for c := int32(3); c <= n; c++ {
			if counts[c] != 1 {
				t.Errorf("count %d warned %d times, want once", c, counts[c])
			}
		}
		if len(counts) != n-2 {
			t.Errorf("warnings for %d distinct counts, want %d", len(counts), n-2)
		}
		if len(warningIDs) != 1 {
			t.Errorf("warning events of %d warnings, want one: %v", len(warningIDs), warningIDs)
		}
		for i := 1; i <= n; i++ {
			if d := fmt.Sprintf("regions/%s/disputes/2026-%d", region, i); named[d] != 1 {
				t.Errorf("%s named by %d warning events, want 1", d, named[d])
			}
		}
	})
}

// TestClosingLeavesOpenIndexes closes and withdraws disputes of one claimant
// against one employer: a later registration is linked only to the one
// still open and counts only it against the employer. The indexes left are
// derived from the stored form, so identifiers and an employer that are not
// the form's are refused.
func TestClosingLeavesOpenIndexes(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	s := New(rdb)
	now := time.Date(2026, 5, 4, 9, 30, 0, 0, dispute.Shanghai)
	reg := func(requestID string) Registration {
		r := registration(t, now, requestID, "")
		r.Dispute.Claimant.IdNumber = "140101199001011234"
		r.Dispute.EmployerCreditCode = "91350100M000100Y43"
		r.Identifiers = []string{"phone:13812345678", "id:140101199001011234"}
		r.Employer = "credit:91350100M000100Y43"
		r.Mass = dispute.NewMassRule(0, 1, 30, []string{"petition"}, "tax")
		return r
	}
	for _, id := range []string{"r1", "r2", "r3"} {
		if _, _, err := s.Register(ctx, reg(id)); err != nil {
			t.Fatal(err)
		}
	}
	closed := routingClosed(t, "2026-1", now)
	applyRouting(t, rdb, s, closed, closed) // delivered twice: applied once
	if _, err := s.Withdraw(ctx, region, "2026-3", func(d *intakev1.Dispute) (*eventv1.Event, error) {
		d.WithdrawReason = "已协商解决"
		return events.New(Service, region, d.GetName(), nil, "", &intakev1.DisputeWithdrawn{}, now)
	}); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Register(ctx, reg("r4"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"regions/141181/disputes/2026-2"}, got.GetLinkedDisputes()); d != "" {
		t.Errorf("links after closing 1 and withdrawing 3 (-want +got):\n%s", d)
	}
	for _, key := range []string{
		ClaimantKey(region, "phone:13812345678", typesv1.Category_CATEGORY_CONTRIBUTION_AMOUNT),
		ClaimantKey(region, "id:140101199001011234", typesv1.Category_CATEGORY_CONTRIBUTION_AMOUNT),
		EmployerKey(region, "credit:91350100M000100Y43"),
	} {
		members, err := rdb.ZRange(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{"2026-2", "2026-4"}, members); d != "" {
			t.Errorf("open index %s (-want +got):\n%s", key, d)
		}
	}
	msgs, err := rdb.XRange(ctx, events.Stream(Service, region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := events.Decode(msgs[len(msgs)-1])
	if err != nil {
		t.Fatal(err)
	}
	w, err := events.Payload[*intakev1.MassDisputeWarning](ev)
	if err != nil || w.GetOpenDisputesSameEmployer() != 2 {
		t.Errorf("last event %s: open disputes against the employer = %d (err %v), want 2", ev.GetType(), w.GetOpenDisputesSameEmployer(), err)
	}

	for _, tc := range []struct {
		name   string
		change func(r *Registration)
	}{
		{"identifier not the claimant's", func(r *Registration) { r.Identifiers = []string{"phone:13900000000"} }},
		{"identifier missing", func(r *Registration) { r.Identifiers = r.Identifiers[:1] }},
		{"employer not the form's", func(r *Registration) { r.Employer = "name:某公司" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reg("r-" + tc.name)
			tc.change(&r)
			if _, _, err := s.Register(ctx, r); err == nil {
				t.Error("registered")
			}
		})
	}
	if n, _ := rdb.Get(ctx, SequenceKey(region, 2026)).Int(); n != 4 {
		t.Errorf("sequence = %d after refused registrations, want 4", n)
	}
}

// routingClosed is routing's DisputeClosed of dispute id with its account.
func routingClosed(t *testing.T, id string, now time.Time) *eventv1.Event {
	t.Helper()
	ev, err := events.New("routing", region, dispute.Name(region, id), nil, "", &routingv1.DisputeClosed{Cause: "closed_by_holder"}, now)
	if err != nil {
		t.Fatal(err)
	}
	ev.Lifecycle = &eventv1.Lifecycle{State: typesv1.DisputeState_DISPUTE_STATE_CLOSED, Readers: []string{"petition"}, Version: 4}
	return ev
}

// applyRouting publishes evs on routing's stream and runs intake's consumer
// of routing's events until it has applied them all.
func applyRouting(t *testing.T, rdb *redis.Client, s *Store, evs ...*eventv1.Event) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := events.Stream("routing", region)
	for _, ev := range evs {
		vals, err := events.Values(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: vals}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	sub := &events.Subscription{Redis: rdb, Group: "intake", Sources: []string{"routing"},
		Regions: func() []string { return []string{region} }, Default: s.LifecycleHandler(), Block: 20 * time.Millisecond}
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if err := events.WaitConsumed(ctx, rdb, stream, "intake", 0); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("routing events not applied")
		}
	}
}
