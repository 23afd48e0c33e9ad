package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func fixed(l Limits) Source              { return func(string) Limits { return l } }
func limits(staff, dept Rate) Limits {
	return Limits{Staff: [2]Rate{staff, staff}, Department: [2]Rate{dept, dept}}
}
func caller(dept, staff string) Caller {
	return Caller{Region: "141181", Department: dept, Staff: staff}
}
func allowN(l *Limiter, c Caller, n int) int {
	ok := 0
	for range n {
		if l.Allow(c, Write).Allowed {
			ok++
		}
	}
	return ok
}

func TestClassOf(t *testing.T) {
	for _, tc := range []struct {
		method string
		want   Class
	}{
		{"/disputes.intake.v1.IntakeService/GetDispute", Read},
		{"/disputes.intake.v1.IntakeService/ListDisputes", Read},
		{"/disputes.archive.v1.ArchiveService/SearchDossiers", Read},
		{"/disputes.archive.v1.ArchiveService/ExportDossier", Read},
		{"/disputes.intake.v1.IntakeService/RegisterDispute", Write},
		{"/disputes.routing.v1.RoutingService/RouteDispute", Write},
		{"/disputes.meeting.v1.RosterService/UpdateRoster", Write},
	} {
		if got := ClassOf(tc.method); got != tc.want {
			t.Errorf("ClassOf(%s) = %v, want %v", tc.method, got, tc.want)
		}
	}
}

func TestBucket(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(fixed(limits(Rate{PerSecond: 2, Burst: 5}, Rate{PerSecond: 100, Burst: 100})), clk.now)
	a := caller("tax", "a")

	if got := allowN(l, a, 8); got != 5 {
		t.Fatalf("a burst of 8 let %d through, want the burst of 5", got)
	}
	d := l.Allow(a, Write)
	if d.Allowed || d.Scope != ScopeStaff || d.RetryAfter != 500*time.Millisecond {
		t.Fatalf("empty bucket: %+v, want refused by staff, retry after 500ms (one token at 2/s)", d)
	}
	clk.advance(250 * time.Millisecond)
	if d := l.Allow(a, Write); d.Allowed || d.RetryAfter != 250*time.Millisecond {
		t.Fatalf("half a token: %+v, want refused, retry after 250ms", d)
	}
	clk.advance(250 * time.Millisecond)
	if !l.Allow(a, Write).Allowed {
		t.Fatal("refused after waiting the retry delay")
	}
	if l.Allow(a, Write).Allowed {
		t.Fatal("a second call went through on one token")
	}
	// Reads have their own bucket.
	reads := 0
	for range 5 {
		if l.Allow(a, Read).Allowed {
			reads++
		}
	}
	if reads != 5 {
		t.Fatalf("reads after the writes were used up: %d of 5 allowed", reads)
	}
	// Another staff member is not affected; a long wait refills to the burst only.
	if got := allowN(l, caller("tax", "b"), 5); got != 5 {
		t.Fatalf("staff b: %d of 5 allowed", got)
	}
	clk.advance(time.Hour)
	if got := allowN(l, a, 8); got != 5 {
		t.Fatalf("after an hour: %d of 8 allowed, want the burst of 5", got)
	}
}

func TestDepartmentCapsItsStaffTogether(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(fixed(limits(Rate{PerSecond: 1, Burst: 10}, Rate{PerSecond: 1, Burst: 15})), clk.now)
	got := allowN(l, caller("tax", "a"), 10) + allowN(l, caller("tax", "b"), 10)
	if got != 15 {
		t.Fatalf("two staff of one department: %d allowed, want the department's 15", got)
	}
	d := l.Allow(caller("tax", "c"), Write)
	if d.Allowed || d.Scope != ScopeDepartment || d.RetryAfter != time.Second {
		t.Fatalf("a third staff member: %+v, want refused by the department, retry after 1s", d)
	}
	// A refused call takes no token: c's own bucket is still full.
	clk.advance(time.Second)
	if !l.Allow(caller("tax", "c"), Write).Allowed {
		t.Fatal("refused once the department has a token again")
	}
	if got := allowN(l, caller("hrss", "d"), 10); got != 10 {
		t.Fatalf("another department: %d of 10 allowed", got)
	}
}

func TestLimitsFollowTheSource(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(nil, clk.now)
	a := caller("tax", "a")
	if got := allowN(l, a, 100); got != 100 {
		t.Fatalf("defaults: %d of 100 allowed", got)
	}
	l.SetSource(fixed(limits(Rate{PerSecond: 1, Burst: 3}, DefaultDepartment)))
	if got := allowN(l, a, 10); got != 3 {
		t.Fatalf("after lowering the limit: %d of 10 allowed, want the new burst of 3", got)
	}
	l.SetSource(nil)
	clk.advance(time.Millisecond)
	if got := allowN(l, a, 10); got != 10 {
		t.Fatalf("back to defaults: %d of 10 allowed", got)
	}
}

func TestIdleBucketsAreDropped(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(fixed(limits(Rate{PerSecond: 1, Burst: 10}, Rate{PerSecond: 1, Burst: 1000})), clk.now)
	for i := range 100 {
		allowN(l, caller("tax", fmt.Sprint("idle", i)), 1)
	}
	busy := caller("tax", "busy")
	allowN(l, busy, 10)
	if n := l.Len(); n != 101+1 {
		t.Fatalf("%d buckets, want 101 staff and 1 department", n)
	}
	// A sweep interval later the idle staff buckets (1 token short, refilled
	// in a second) are full again and dropped; busy, emptied again 2 s before
	// the sweep, and its department (59 tokens short at 1/s) are kept.
	clk.advance(SweepInterval - time.Second)
	allowN(l, busy, 10)
	clk.advance(2 * time.Second)
	allowN(l, caller("hrss", "x"), 1)
	if n := l.Len(); n != 4 {
		t.Fatalf("%d buckets after the sweep, want busy's and tax's (not full) and hrss's two new ones", n)
	}
	// Dropping full buckets changes no decision: busy's bucket is still short.
	if got := allowN(l, busy, 10); got != 2 {
		t.Fatalf("busy after the sweep: %d allowed, want the 2 tokens gained", got)
	}
}

func TestBucketTableBoundedUnderChurn(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(fixed(limits(Rate{PerSecond: 1000, Burst: 1}, Rate{PerSecond: 1e6, Burst: 1e6})), clk.now)
	for i := range 3 * MaxIdleBuckets {
		l.Allow(caller("tax", fmt.Sprint(i)), Read)
		if i%1000 == 0 {
			clk.advance(time.Second)
		}
	}
	if n := l.Len(); n > MaxIdleBuckets+2000 {
		t.Fatalf("%d buckets after %d callers, want at most about %d", n, 3*MaxIdleBuckets, MaxIdleBuckets)
	}
}
