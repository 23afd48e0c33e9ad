// Package ratelimit holds the per-caller token buckets every service checks
// after authentication: one bucket per staff member and one per department
// (region and department), each per class of method (reads and writes).
//
// The buckets live in the process's memory: each replica counts only the
// calls it serves, so a service's effective limit is the configured one
// times its replicas. A shared bucket in Redis would make the limit exact
// but cost a round trip on every call, where the lifecycle targets of
// docs/PERFORMANCE.md count the Redis commands per lifecycle; the limits
// guard against runaway and abusive clients, for which per-replica buckets
// are close enough (docs/SECURITY.md, "Rate limits").
package ratelimit

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Class is a method's class: reads and writes have buckets of their own, so
// a clerk paging through a worklist does not use up the tokens to register.
type Class uint8

// The classes.
const (
	Read Class = iota
	Write
)

func (c Class) String() string {
	if c == Read {
		return "read"
	}
	return "write"
}

// readVerbs begin the names of methods that change nothing.
var readVerbs = []string{"Get", "List", "Search", "Export"}

// ClassOf returns the class of a full method name
// ("/disputes.intake.v1.IntakeService/GetDispute" is a read).
func ClassOf(fullMethod string) Class {
	name := fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
	for _, v := range readVerbs {
		if strings.HasPrefix(name, v) {
			return Read
		}
	}
	return Write
}

// Rate is one bucket's limit: it holds at most Burst tokens and gains
// PerSecond tokens a second.
type Rate struct {
	PerSecond float64
	Burst     float64
}

// Limits are a region's limits, indexed by Class.
type Limits struct {
	Staff, Department [2]Rate
}

// Default limits, in force for a region without a rate-limits document and
// for each limit it leaves unset. They only stop a runaway client: the
// benches drive one staff id at several thousand calls a second against one
// replica (docs/PERFORMANCE.md), which they must not throttle. A region sets
// limits fit for people in etcd (docs/SECURITY.md, "Rate limits").
var (
	DefaultStaff      = Rate{PerSecond: 10000, Burst: 20000}
	DefaultDepartment = Rate{PerSecond: 50000, Burst: 100000}
)

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		Staff:      [2]Rate{DefaultStaff, DefaultStaff},
		Department: [2]Rate{DefaultDepartment, DefaultDepartment},
	}
}

// Source returns the limits of a region. It is called on every check, so
// it must be fast and must not block.
type Source func(region string) Limits

// Caller is who a call is counted against.
type Caller struct {
	Region, Department, Staff string
}

// Scope names the bucket that refused a call.
type Scope string

// The scopes.
const (
	ScopeStaff      Scope = "staff"
	ScopeDepartment Scope = "department"
)

// Decision is the outcome of a check.
type Decision struct {
	// Allowed is true when the call took its tokens.
	Allowed bool
	// Scope is the bucket that refused the call (staff first).
	Scope Scope
	// RetryAfter is how long until that bucket holds a token again.
	RetryAfter time.Duration
	// Limit is the refusing bucket's limit.
	Limit Rate
}

// Bounds of the bucket table. Every SweepInterval, and whenever the table
// grows past MaxIdleBuckets entries (at most once a second), a sweep drops
// the buckets that have filled up again: a full bucket is the same as none,
// so dropping it changes no decision. The table holds only callers with a
// valid token, so it is further bounded by the roster.
const (
	SweepInterval  = time.Minute
	MaxIdleBuckets = 1 << 16
	minSweepGap    = time.Second
)

type bucketKey struct {
	scope              Scope
	class              Class
	region, department string
	staff              string
}

type bucket struct {
	tokens float64
	last   time.Time
	rate   Rate // as of the last update, for the sweep
}

// Limiter is a table of token buckets. It is safe for concurrent use.
type Limiter struct {
	source atomic.Pointer[Source]
	now    func() time.Time

	mu        sync.Mutex
	buckets   map[bucketKey]*bucket
	lastSweep time.Time
}

// New returns a limiter with limits from src (DefaultLimits when nil) and
// the clock now (time.Now when nil).
func New(src Source, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{now: now, buckets: map[bucketKey]*bucket{}, lastSweep: now()}
	l.SetSource(src)
	return l
}

// SetSource replaces where the limits come from (DefaultLimits when nil).
// Buckets keep their tokens and follow the new limits from the next call.
func (l *Limiter) SetSource(src Source) {
	if src == nil {
		src = func(string) Limits { return DefaultLimits() }
	}
	l.source.Store(&src)
}

// Len returns the number of buckets held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// Allow takes a token from the caller's staff bucket and one from its
// department's bucket for class, or neither when either is empty.
func (l *Limiter) Allow(c Caller, class Class) Decision {
	lim := (*l.source.Load())(c.Region)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybeSweep(now)
	staff := l.refill(bucketKey{scope: ScopeStaff, class: class, region: c.Region, staff: c.Staff}, lim.Staff[class], now)
	dept := l.refill(bucketKey{scope: ScopeDepartment, class: class, region: c.Region, department: c.Department}, lim.Department[class], now)
	for _, b := range []*bucket{staff, dept} {
		if b.tokens < 1 {
			scope := ScopeStaff
			if b == dept {
				scope = ScopeDepartment
			}
			return Decision{Scope: scope, RetryAfter: retryAfter(b), Limit: b.rate}
		}
	}
	staff.tokens--
	dept.tokens--
	return Decision{Allowed: true}
}

// retryAfter is the time until b holds one token, rounded up to a
// millisecond so a client that waits it finds the token there.
func retryAfter(b *bucket) time.Duration {
	d := time.Duration((1 - b.tokens) / b.rate.PerSecond * float64(time.Second))
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

// refill returns the bucket of k with the tokens it has gained since its
// last use; a new bucket starts full.
func (l *Limiter) refill(k bucketKey, r Rate, now time.Time) *bucket {
	b := l.buckets[k]
	if b == nil {
		b = &bucket{tokens: r.Burst, last: now, rate: r}
		l.buckets[k] = b
		return b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens += el.Seconds() * r.PerSecond
		b.last = now
	}
	if b.tokens > r.Burst {
		b.tokens = r.Burst
	}
	b.rate = r
	return b
}

func (l *Limiter) maybeSweep(now time.Time) {
	since := now.Sub(l.lastSweep)
	if since < SweepInterval && (len(l.buckets) <= MaxIdleBuckets || since < minSweepGap) {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*b.rate.PerSecond >= b.rate.Burst {
			delete(l.buckets, k)
		}
	}
}
