package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// TestEmployerWarningEpisode registers claimants against one employer with
// a threshold of three: the third raises one warning listing the three,
// the fourth and fifth add themselves to it under the same warning id.
// Once withdrawals leave fewer than three open, the next registration ends
// the episode, and reaching three again raises a new warning.
func TestEmployerWarningEpisode(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	s := New(rdb)
	start := time.Date(2026, 5, 4, 9, 30, 0, 0, dispute.Shanghai)
	const credit = "91350100M000100Y43"
	n := 0
	register := func() {
		t.Helper()
		n++
		now := start.Add(time.Duration(n) * time.Minute)
		r := registration(t, now, fmt.Sprintf("r%d", n), "")
		phone := fmt.Sprintf("1381234%04d", n)
		r.Dispute.Claimant.Phone, r.Identifiers = phone, []string{"phone:" + phone}
		r.Dispute.EmployerCreditCode, r.Dispute.EmployerName = credit, "孝义市示例煤业有限公司"
		r.Employer = "credit:" + credit
		r.Mass = dispute.NewMassRule(0, 3, 30, []string{"petition"}, "tax")
		if _, _, err := s.Register(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	warnings := func() []*eventv1.Event {
		t.Helper()
		msgs, err := rdb.XRange(ctx, events.Stream(Service, region), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []*eventv1.Event
		for _, m := range msgs {
			ev, err := events.Decode(m)
			if err != nil {
				t.Fatal(err)
			}
			if events.Is(ev, &intakev1.MassDisputeWarning{}) {
				out = append(out, ev)
			}
		}
		return out
	}
	dname := func(i int) string { return fmt.Sprintf("regions/%s/disputes/2026-%d", region, i) }
	check := func(ev *eventv1.Event, warningID string, count, size int32, disputes ...string) {
		t.Helper()
		w, err := events.Payload[*intakev1.MassDisputeWarning](ev)
		if err != nil {
			t.Fatal(err)
		}
		want := &intakev1.MassDisputeWarning{Trigger: "same_employer", OpenDisputesSameEmployer: count,
			AddressedTo: []string{"petition", "tax"}, WarningId: warningID, Disputes: disputes, WarningDisputes: size,
			EmployerName: "孝义市示例煤业有限公司", EmployerCreditCode: credit}
		if d := cmp.Diff(want, w, protocmp.Transform()); d != "" {
			t.Errorf("warning %s (-want +got):\n%s", ev.GetId(), d)
		}
		if ev.GetDispute() != disputes[len(disputes)-1] {
			t.Errorf("warning %s published under %s, want the registration %s", ev.GetId(), ev.GetDispute(), disputes[len(disputes)-1])
		}
	}

	for range 5 {
		register()
	}
	ws := warnings()
	if len(ws) != 3 {
		t.Fatalf("%d warning events for five registrations, want 3 (raise, two additions)", len(ws))
	}
	first := ws[0].GetId()
	check(ws[0], first, 3, 3, dname(1), dname(2), dname(3))
	check(ws[1], first, 4, 4, dname(4))
	check(ws[2], first, 5, 5, dname(5))
	for i, marked := range []bool{false, false, true, true, true} {
		d, err := s.Get(ctx, region, fmt.Sprintf("2026-%d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		if d.GetMassDispute() != marked {
			t.Errorf("%s marked %v, want %v", d.GetName(), d.GetMassDispute(), marked)
		}
	}
	episode := EpisodeKey(region, "credit:"+credit)
	if ttl, err := rdb.PTTL(ctx, episode).Result(); err != nil || ttl <= 0 || ttl > 30*24*time.Hour {
		t.Errorf("episode %s lives %v (err %v), want at most the 30-day window", episode, ttl, err)
	}

	// Four of five withdrawn: the sixth finds two open, fewer than three.
	for i := 1; i <= 4; i++ {
		if _, err := s.Withdraw(ctx, region, fmt.Sprintf("2026-%d", i), func(d *intakev1.Dispute) (*eventv1.Event, error) {
			return events.New(Service, region, d.GetName(), nil, "", &intakev1.DisputeWithdrawn{}, start)
		}); err != nil {
			t.Fatal(err)
		}
	}
	register()
	if got := len(warnings()); got != 3 {
		t.Errorf("%d warning events after a registration below the threshold, want still 3", got)
	}
	if exists, err := rdb.Exists(ctx, episode).Result(); err != nil || exists != 0 {
		t.Errorf("episode key after falling below the threshold: exists %d (err %v), want gone", exists, err)
	}
	register()
	ws = warnings()
	if len(ws) != 4 {
		t.Fatalf("%d warning events, want a fourth raising a new warning", len(ws))
	}
	if ws[3].GetId() == first {
		t.Fatal("the new episode reuses the first warning's id")
	}
	check(ws[3], ws[3].GetId(), 3, 3, dname(5), dname(6), dname(7))
}

// TestPeopleAndEmployerWarnings: a registration of many people that also
// reaches the employer threshold raises both warnings, the people warning
// its own; the next registration against the employer only adds itself to
// the employer's.
func TestPeopleAndEmployerWarnings(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	s := New(rdb)
	now := time.Date(2026, 5, 4, 9, 30, 0, 0, dispute.Shanghai)
	for i, people := range []int32{8, 1} {
		r := registration(t, now.Add(time.Duration(i)*time.Minute), fmt.Sprintf("r%d", i), "")
		r.Dispute.PeopleInvolved = people
		r.Dispute.EmployerName = "某煤业公司"
		r.Employer = "name:某煤业公司"
		r.Mass = dispute.NewMassRule(5, 1, 30, []string{"petition"}, "tax")
		if _, _, err := s.Register(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := rdb.XRange(ctx, events.Stream(Service, region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []*intakev1.MassDisputeWarning
	var ids []string
	for _, m := range msgs {
		ev, err := events.Decode(m)
		if err != nil {
			t.Fatal(err)
		}
		if w, err := events.Payload[*intakev1.MassDisputeWarning](ev); err == nil && events.Is(ev, &intakev1.MassDisputeWarning{}) {
			got, ids = append(got, w), append(ids, ev.GetId())
		}
	}
	if len(got) != 3 {
		t.Fatalf("%d warning events, want 3 (employer and people for the first, employer for the second)", len(got))
	}
	d1, d2 := "regions/141181/disputes/2026-1", "regions/141181/disputes/2026-2"
	want := []*intakev1.MassDisputeWarning{
		{Trigger: "same_employer", PeopleInvolved: 8, OpenDisputesSameEmployer: 1, AddressedTo: []string{"petition", "tax"},
			WarningId: ids[0], Disputes: []string{d1}, WarningDisputes: 1, EmployerName: "某煤业公司"},
		{Trigger: "people_involved", PeopleInvolved: 8, OpenDisputesSameEmployer: 1, AddressedTo: []string{"petition", "tax"},
			WarningId: ids[1], Disputes: []string{d1}, WarningDisputes: 1, EmployerName: "某煤业公司"},
		{Trigger: "same_employer", PeopleInvolved: 1, OpenDisputesSameEmployer: 2, AddressedTo: []string{"petition", "tax"},
			WarningId: ids[0], Disputes: []string{d2}, WarningDisputes: 2, EmployerName: "某煤业公司"},
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}

// TestOneScriptRunEpisode sends five registrations against one employer in
// ONE flush: they see each other in order, so the third raises the warning
// and the fourth and fifth add themselves to it.
func TestOneScriptRunEpisode(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client(t)
	s := New(rdb)
	now := time.Date(2026, 5, 4, 9, 30, 0, 0, dispute.Shanghai)
	var calls []*regCall
	for i := range 5 {
		r := registration(t, now.Add(time.Duration(i)*time.Second), fmt.Sprintf("r%d", i), "")
		phone := fmt.Sprintf("1381234%04d", i)
		r.Dispute.Claimant.Phone, r.Identifiers = phone, []string{"phone:" + phone}
		r.Dispute.EmployerName, r.Employer = "某煤业公司", "name:某煤业公司"
		r.Mass = dispute.NewMassRule(0, 3, 30, []string{"petition"}, "tax")
		c, err := prepare(r)
		if err != nil {
			t.Fatal(err)
		}
		c.done = make(chan scriptResult, 1)
		calls = append(calls, c)
	}
	s.flush(calls)
	for i, c := range calls {
		if res := <-c.done; res.err != nil {
			t.Fatalf("registration %d: %v", i, res.err)
		}
	}
	msgs, err := rdb.XRange(ctx, events.Stream(Service, region), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var raised string
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
		if raised == "" {
			raised = ev.GetId()
		}
		if w.GetWarningId() != raised {
			t.Errorf("event %s of warning %s, want %s", ev.GetId(), w.GetWarningId(), raised)
		}
		got = append(got, fmt.Sprintf("%d %s", w.GetWarningDisputes(), strings.Join(w.GetDisputes(), " ")))
	}
	d := func(n int) string { return fmt.Sprintf("regions/%s/disputes/2026-%d", region, n) }
	want := []string{"3 " + d(1) + " " + d(2) + " " + d(3), "4 " + d(4), "5 " + d(5)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warning events (-want +got):\n%s", diff)
	}
}

// TestScriptKeysInRegionSlot checks that every key a registration names to
// the script is in the region's hash slot, the employer's episode among
// them, so the script runs on Redis Cluster.
func TestScriptKeysInRegionSlot(t *testing.T) {
	now := time.Date(2026, 5, 4, 9, 30, 0, 0, dispute.Shanghai)
	r := registration(t, now, "req-1", "WO-1")
	r.Dispute.EmployerCreditCode = "91350100M000100Y43"
	r.Employer = "credit:91350100M000100Y43"
	r.Mass = dispute.NewMassRule(5, 3, 30, []string{"petition"}, "tax")
	c, err := prepare(r)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := scriptInput([]*regCall{c})
	if !containsKey(keys, EpisodeKey(region, r.Employer)) {
		t.Errorf("keys %v lack the employer's episode", keys)
	}
	for _, k := range keys {
		if !strings.Contains(k, "{"+region+"}") {
			t.Errorf("key %s is outside the region's hash slot", k)
		}
	}
}

func containsKey(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}
