package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// Worklists are indexes kept in the same MULTI/EXEC as every tracker write,
// so a worklist never disagrees with the trackers. Each department of a
// region has lexicographically ordered sorted sets (all scores 0) whose
// members are "<due ms, 13 digits>|<year>-<n, 9 digits>": ordering by
// member is ordering by due time, then dispute number, and a page resumes
// strictly after the last member it showed.
//
//	routing:{r}:worklist:<dept>:all          every open dispute the department holds
//	routing:{r}:worklist:<dept>:bucket:<b>   those in state bucket b (awaiting routing, receipt, handling)
//	routing:{r}:worklist:<dept>:clock        those with a running clock (due soon, overdue)
//	routing:{r}:worklist:<dept>:view:<v>     the office path's view v of the department (tracker.Views),
//	                                         due by the clock of that work; dept "_region" for the region's

// noDue sorts items without a running clock after every due time.
const noDue = "9999999999999"

type indexEntry struct{ key, member string }

func worklistKey(region, dept string, parts ...string) string {
	return events.Key(Service, region, append([]string{"worklist", dept}, parts...)...)
}

func dueField(due time.Time) string {
	if due.IsZero() {
		return noDue
	}
	return fmt.Sprintf("%013d", due.UnixMilli())
}

// memberOf is t's worklist member with due time due.
func memberOf(t *tracker.Tracker, due time.Time) string {
	_, year, n, _ := names.ParseDispute(t.Name)
	return fmt.Sprintf("%s|%s-%09d", dueField(due), year, n)
}

// nameOf is the dispute name of a worklist member of region.
func nameOf(region, member string) (string, error) {
	_, id, ok := strings.Cut(member, "|")
	year, n, ok2 := strings.Cut(id, "-")
	num, err := strconv.ParseInt(n, 10, 64)
	if !ok || !ok2 || err != nil {
		return "", fmt.Errorf("malformed worklist member %q", member)
	}
	return "regions/" + region + "/disputes/" + year + "-" + strconv.FormatInt(num, 10), nil
}

// indexOf returns the worklist entries of t; none once it is closed.
func indexOf(t *tracker.Tracker) []indexEntry {
	if t == nil {
		return nil
	}
	w, ok := t.Work()
	if !ok {
		return nil
	}
	m := memberOf(t, w.Due)
	out := []indexEntry{{worklistKey(t.Region, w.Department, "all"), m}}
	if w.Bucket != tracker.BucketAll {
		out = append(out, indexEntry{worklistKey(t.Region, w.Department, "bucket", strconv.Itoa(int(w.Bucket))), m})
	}
	if !w.Due.IsZero() {
		out = append(out, indexEntry{worklistKey(t.Region, w.Department, "clock"), m})
	}
	for _, v := range t.Views() {
		out = append(out, indexEntry{viewKey(t.Region, v.Department, v.View), memberOf(t, v.Due())})
	}
	return out
}

func viewKey(region, dept string, v tracker.View) string {
	if v == tracker.ViewOpinionsOverdue {
		v = tracker.ViewOpinionsOwed
	}
	return worklistKey(region, dept, "view", strconv.Itoa(int(v)))
}

// indexWriter queues changes of the sorted-set indexes: on the event
// consumer's batch or in a run of the write script.
type indexWriter interface {
	zadd(key string, score float64, member string)
	zrem(key, member string)
}

// batchIndex queues index changes on an event batch, which writes each
// index once per batch (events.Batch.ZAdd): many trackers of a batch move
// the same worklists and the region's deadline index.
type batchIndex struct{ b *events.Batch }

func (w batchIndex) zadd(key string, score float64, member string) { w.b.ZAdd(key, score, member) }
func (w batchIndex) zrem(key, member string)                       { w.b.ZRem(key, member) }

// reindex queues the removal of the entries a tracker no longer has and
// the addition of its new ones.
func reindex(w indexWriter, before, after []indexEntry) {
	keep := map[indexEntry]bool{}
	for _, e := range after {
		keep[e] = true
	}
	had := map[indexEntry]bool{}
	for _, e := range before {
		had[e] = true
		if !keep[e] {
			w.zrem(e.key, e.member)
		}
	}
	for _, e := range after {
		if !had[e] {
			w.zadd(e.key, 0, e.member)
		}
	}
}

// WorklistQuery selects one page of a department's worklist.
type WorklistQuery struct {
	Region, Department string
	// Bucket; tracker.BucketAll lists every open dispute the department holds.
	Bucket tracker.Bucket
	// View; tracker.ViewHolder lists by Bucket. A view lists only the
	// department's line of that view (Department tracker.RegionWide for
	// the region's).
	View tracker.View
	// Now: clocks due before it are overdue, from it until DueSoonUntil
	// (inclusive) due soon.
	Now, DueSoonUntil time.Time
	// After is the cursor of the previous page ("" for the first).
	After string
	// Limit is the page size.
	Limit int
}

// WorklistPage is one page with the counts of every bucket.
type WorklistPage struct {
	Trackers []*tracker.Tracker
	// Next is the cursor of the following page; "" on the last.
	Next string
	// Counts per bucket, tracker.BucketAll included.
	Counts map[tracker.Bucket]int64
}

// ErrBadCursor is a page cursor that is no worklist member.
var ErrBadCursor = errors.New("malformed worklist cursor")

type lexRange struct{ key, min, max string }

func (q WorklistQuery) viewRange() lexRange {
	k := viewKey(q.Region, q.Department, q.View)
	if q.View == tracker.ViewOpinionsOverdue {
		return lexRange{k, "-", "(" + dueField(q.Now)}
	}
	return lexRange{k, "-", "+"}
}

func (q WorklistQuery) rangeOf(b tracker.Bucket) lexRange {
	k := func(parts ...string) string { return worklistKey(q.Region, q.Department, parts...) }
	switch b {
	case tracker.BucketOverdue:
		return lexRange{k("clock"), "-", "(" + dueField(q.Now)}
	case tracker.BucketDueSoon:
		return lexRange{k("clock"), "[" + dueField(q.Now), "(" + dueField(q.DueSoonUntil.Add(time.Millisecond))}
	case tracker.BucketAll:
		return lexRange{k("all"), "-", "+"}
	}
	return lexRange{k("bucket", strconv.Itoa(int(b))), "-", "+"}
}

// CountedBuckets are the buckets a worklist page counts.
var CountedBuckets = []tracker.Bucket{
	tracker.BucketAll, tracker.BucketAwaitingRouting, tracker.BucketAwaitingReceipt, tracker.BucketHandling,
	tracker.BucketDueSoon, tracker.BucketOverdue,
}

// Worklist returns one page of a department's worklist, soonest due first
// (then by dispute number), with the count of every bucket.
func (s *Store) Worklist(ctx context.Context, q WorklistQuery) (*WorklistPage, error) {
	r := q.rangeOf(q.Bucket)
	if q.View != tracker.ViewHolder {
		r = q.viewRange()
	}
	if q.After != "" {
		if _, err := nameOf(q.Region, q.After); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadCursor, err)
		}
		if r.min == "-" || q.After >= r.min[1:] {
			r.min = "(" + q.After
		}
	}
	pipe := s.rdb.TxPipeline()
	page := pipe.ZRangeByLex(ctx, r.key, &redis.ZRangeBy{Min: r.min, Max: r.max, Count: int64(q.Limit) + 1})
	counts := map[tracker.Bucket]*redis.IntCmd{}
	for _, b := range CountedBuckets {
		cr := q.rangeOf(b)
		counts[b] = pipe.ZLexCount(ctx, cr.key, cr.min, cr.max)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read worklist of %s/%s: %w", q.Region, q.Department, err)
	}
	out := &WorklistPage{Counts: map[tracker.Bucket]int64{}}
	for b, c := range counts {
		out.Counts[b] = c.Val()
	}
	members := page.Val()
	if len(members) > q.Limit {
		members = members[:q.Limit]
		out.Next = members[len(members)-1]
	}
	if len(members) == 0 {
		return out, nil
	}
	keys := make([]string, len(members))
	for i, m := range members {
		name, err := nameOf(q.Region, m)
		if err != nil {
			return nil, err
		}
		if keys[i], err = trackerKey(name); err != nil {
			return nil, err
		}
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("read worklist trackers: %w", err)
	}
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue // written in the index, gone from the store: nothing to show
		}
		t := &tracker.Tracker{}
		if err := json.Unmarshal([]byte(raw), t); err != nil {
			return nil, fmt.Errorf("decode %s: %w", keys[i], err)
		}
		out.Trackers = append(out.Trackers, t)
	}
	return out, nil
}
