package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/platform/events"
)

// The indexes and counters search and statistics are served from
// (docs/PERFORMANCE.md, "Archive search and statistics"). The consumer
// keeps them in the transaction that writes the dossier's summary and the
// event's apply-once marker, by the difference between the summary before
// and after the event, so a replayed event changes nothing and the
// counters always equal a recount from the summaries.

// idxKey is the sorted set of one index (dossier.Dossier.Indexes) of a
// region: dispute ids scored by registration time.
func idxKey(region, index string) string { return events.Key(Service, region, "idx", index) }

// statsKey is the hash of the counters of one scope and month.
func statsKey(region, scope, month string) string {
	return events.Key(Service, region, "stats", scope, month)
}

// StatsLogKey is the region's counter log: the statistics deltas of event
// batches not yet folded into the counters (events.FoldCounters).
func StatsLogKey(region string) string { return events.Key(Service, region, "stats-log") }

// FoldStatistics adds region's logged counter deltas to its counters.
func (s *Store) FoldStatistics(ctx context.Context, region string) error {
	_, err := events.FoldCounters(ctx, s.rdb, StatsLogKey(region))
	return err
}

// monthsKey is the sorted set of the months any counter of a region has,
// scored 202603 for "2026-03".
func monthsKey(region string) string { return events.Key(Service, region, "stats-months") }

// derivedKey holds the version of the indexes and counters a region's
// keys were built for.
func derivedKey(region string) string { return events.Key(Service, region, "derived") }

// derivedVersion changes whenever what a dossier contributes changes, so
// the archive rebuilds them at its next start. Version 2 also drops the
// per-dossier sorted sets of event ids ("...:order") the archive kept
// before: the events' hash alone orders them (store.go, ordered).
const derivedVersion = "2"

// counterDelta is one change of a statistics counter.
type counterDelta struct {
	key, field string
	delta      int64
}

// indexWrite adds member to sorted set key with score, or removes it.
type indexWrite struct {
	key, member string
	score       float64
	remove      bool
}

// derived is what moves a dossier from one summary's indexes and counters
// to another's: index writes and counter deltas, both of which a batch
// coalesces over its events before writing (docs/PERFORMANCE.md).
type derived struct {
	index  []indexWrite
	counts []counterDelta
}

// toBatch queues w on an event batch.
func (w *derived) toBatch(b *events.Batch) {
	if w == nil {
		return
	}
	for _, x := range w.index {
		if x.remove {
			b.ZRem(x.key, x.member)
		} else {
			b.ZAdd(x.key, x.score, x.member)
		}
	}
	for _, c := range w.counts {
		b.HIncrBy(c.key, c.field, c.delta)
	}
}

// toPipe queues w on a pipeline.
func (w *derived) toPipe(ctx context.Context, p redis.Pipeliner) {
	if w == nil {
		return
	}
	for _, x := range w.index {
		if x.remove {
			p.ZRem(ctx, x.key, x.member)
		} else {
			p.ZAdd(ctx, x.key, redis.Z{Score: x.score, Member: x.member})
		}
	}
	for _, c := range w.counts {
		p.HIncrBy(ctx, c.key, c.field, c.delta)
	}
}

// derive returns the writes that move dispute id of region from prev's
// indexes and counters to cur's (prev nil: a new dossier), nil when none.
func derive(region, id string, prev, cur *dossier.Dossier) *derived {
	if prev != nil && dossier.SameDerived(prev, cur) {
		return nil
	}
	old := map[string]bool{}
	if prev != nil {
		for _, k := range prev.Indexes() {
			old[k] = true
		}
	}
	moved := prev == nil || prev.Score() != cur.Score()
	var add, rem []string
	now := map[string]bool{}
	for _, k := range cur.Indexes() {
		now[k] = true
		if moved || !old[k] {
			add = append(add, k)
		}
	}
	for k := range old {
		if !now[k] {
			rem = append(rem, k)
		}
	}
	delta := dossier.CellDelta(prev, cur)
	var month string
	if !cur.RegisterTime.IsZero() && (prev == nil || prev.RegisterTime.IsZero() ||
		dossier.MonthOf(prev.RegisterTime) != dossier.MonthOf(cur.RegisterTime)) {
		month = dossier.MonthOf(cur.RegisterTime)
	}
	if len(add) == 0 && len(rem) == 0 && len(delta) == 0 && month == "" {
		return nil
	}
	score := cur.Score()
	w := &derived{}
	// Most cells of a change share a few (scope, month) hashes.
	keys := map[[2]string]string{}
	for c, v := range delta {
		k, ok := keys[[2]string{c.Scope, c.Month}]
		if !ok {
			k = statsKey(region, c.Scope, c.Month)
			keys[[2]string{c.Scope, c.Month}] = k
		}
		w.counts = append(w.counts, counterDelta{k, c.Field(), v})
	}
	for _, k := range rem {
		w.index = append(w.index, indexWrite{key: idxKey(region, k), member: id, remove: true})
	}
	for _, k := range add {
		w.index = append(w.index, indexWrite{key: idxKey(region, k), member: id, score: score})
	}
	if month != "" {
		w.index = append(w.index, indexWrite{key: monthsKey(region), member: month, score: dossier.MonthScore(month)})
	}
	return w
}

// Cursor is where a search page ends: the score and id of the last index
// entry it read.
type Cursor struct {
	Score float64
	ID    string
}

// Query asks for one page of a search.
type Query struct {
	// Scope is the caller's (dossier.ScopeOf).
	Scope  string
	Filter dossier.Filter
	// After continues a search after a page's cursor.
	After *Cursor
	// Limit is the page size.
	Limit int
}

// Page is one page of a search; Next is nil on the last page.
type Page struct {
	Dossiers []*dossier.Dossier
	Next     *Cursor
}

// Bounds of one search call.
const (
	// ScanBudget is the most index entries one search call reads. A call
	// that reaches it before its page is full returns the page so far with
	// a cursor after the last entry read (a page may be shorter than asked).
	ScanBudget = 1000
	// TextScanLimit is the most dossiers free text may be searched in: a
	// query whose filters leave more is refused (TooBroadError).
	TextScanLimit = 5000
	scanChunk     = 200
)

// TooBroadError refuses free text over more dossiers than TextScanLimit.
type TooBroadError struct {
	Candidates, Limit int64
}

func (e *TooBroadError) Error() string {
	return fmt.Sprintf("free text searches at most %d dossiers and the filters leave %d; add a state, category, channel, registering department, jurisdiction or time filter", e.Limit, e.Candidates)
}

func micros(t float64) string { return strconv.FormatFloat(t, 'f', -1, 64) }

// Search returns a page of the dossiers of region in q's scope that pass
// q's filter, latest registered first. It reads one index: the one of the
// filters with the fewest entries in the time range; the other filters and
// free text are checked on the summaries read, at most ScanBudget per call.
func (s *Store) Search(ctx context.Context, region string, q Query) (Page, error) {
	f := q.Filter
	lo, hi := "-inf", "+inf"
	if !f.From.IsZero() {
		lo = micros(float64(f.From.UnixMicro()))
	}
	if !f.To.IsZero() {
		hi = "(" + micros(float64(f.To.UnixMicro()))
	}
	if q.After != nil {
		hi = micros(q.After.Score)
	}
	indexes := f.Indexes(q.Scope)
	key := idxKey(region, indexes[0])
	check := len(indexes) > 1 || f.Query != ""
	if check {
		pipe := s.rdb.Pipeline()
		counts := make([]*redis.IntCmd, len(indexes))
		for i, ix := range indexes {
			counts[i] = pipe.ZCount(ctx, idxKey(region, ix), lo, hi)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return Page{}, fmt.Errorf("count search candidates in %s: %w", region, err)
		}
		least := counts[0].Val()
		for i, c := range counts {
			if c.Val() < least || i == 0 {
				least, key = c.Val(), idxKey(region, indexes[i])
			}
		}
		if f.Query != "" && least > TextScanLimit {
			return Page{}, &TooBroadError{Candidates: least, Limit: TextScanLimit}
		}
	}
	var page Page
	offset, scanned := 0, 0
	var last *Cursor
	for scanned < ScanBudget {
		n := scanChunk
		if !check {
			n = q.Limit - len(page.Dossiers) + 1
		}
		n = min(n, ScanBudget-scanned+1)
		zs, err := s.rdb.ZRevRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: lo, Max: hi, Offset: int64(offset), Count: int64(n)}).Result()
		if err != nil {
			return Page{}, fmt.Errorf("read index of %s: %w", region, err)
		}
		offset += len(zs)
		// Entries of the cursor's score at or after its id were on earlier pages.
		var ids []string
		var scores []float64
		for _, z := range zs {
			id, _ := z.Member.(string)
			if q.After != nil && z.Score == q.After.Score && id >= q.After.ID {
				continue
			}
			ids, scores = append(ids, id), append(scores, z.Score)
		}
		ds, err := s.summaries(ctx, region, ids)
		if err != nil {
			return Page{}, err
		}
		for i, d := range ds {
			if len(page.Dossiers) == q.Limit || scanned == ScanBudget {
				// One more entry exists: the page has a next one.
				page.Next = last
				return page, nil
			}
			scanned++
			last = &Cursor{Score: scores[i], ID: ids[i]}
			if d != nil && (!check || f.Match(d)) {
				page.Dossiers = append(page.Dossiers, d)
			}
		}
		if len(zs) < n {
			return page, nil // the index has no more
		}
	}
	page.Next = last
	return page, nil
}

// summaries reads the summaries of dispute ids of region; one Redis no
// longer holds is nil.
func (s *Store) summaries(ctx context.Context, region string, ids []string) ([]*dossier.Dossier, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = metaKey(region, id)
	}
	raws, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("read dossiers of %s: %w", region, err)
	}
	out := make([]*dossier.Dossier, len(raws))
	for i, r := range raws {
		str, ok := r.(string)
		if !ok {
			continue
		}
		if out[i], err = decodeMeta([]byte(str)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Statistics returns the counters of scope in region for the months of
// registration from fromMonth to toMonth ("2026-03"; empty: unbounded), and
// the months they cover. It folds the region's counter log, then reads one
// hash per month, whatever the number of dossiers.
func (s *Store) Statistics(ctx context.Context, region, scope, fromMonth, toMonth string) ([]dossier.Row, []string, error) {
	// The counters hold every batch applied before this read once the
	// region's counter log is folded.
	if err := s.FoldStatistics(ctx, region); err != nil {
		return nil, nil, err
	}
	lo, hi := "-inf", "+inf"
	if fromMonth != "" {
		lo = micros(dossier.MonthScore(fromMonth))
	}
	if toMonth != "" {
		hi = micros(dossier.MonthScore(toMonth))
	}
	months, err := s.rdb.ZRangeByScore(ctx, monthsKey(region), &redis.ZRangeBy{Min: lo, Max: hi}).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("read months of %s: %w", region, err)
	}
	if len(months) == 0 {
		return nil, nil, nil
	}
	pipe := s.rdb.Pipeline()
	hashes := make([]*redis.MapStringStringCmd, len(months))
	for i, m := range months {
		hashes[i] = pipe.HGetAll(ctx, statsKey(region, scope, m))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, fmt.Errorf("read statistics of %s: %w", region, err)
	}
	var rows []dossier.Row
	for i, h := range hashes {
		byKey := map[[2]string]map[string]int64{}
		for field, val := range h.Val() {
			dim, key, measure, ok := dossier.ParseField(field)
			n, err := strconv.ParseInt(val, 10, 64)
			if !ok || err != nil {
				return nil, nil, fmt.Errorf("statistics of %s: bad counter %q=%q", region, field, val)
			}
			if n == 0 {
				continue
			}
			k := [2]string{dim, key}
			if byKey[k] == nil {
				byKey[k] = map[string]int64{}
			}
			byKey[k][measure] = n
		}
		for k, m := range byKey {
			rows = append(rows, dossier.Row{Dimension: k[0], Key: k[1], Month: months[i], Measures: m})
		}
	}
	dossier.SortRows(rows)
	return rows, months, nil
}

// EnsureDerived builds region's indexes and counters from its dossiers'
// summaries when they were built for another version (or never, as before
// they existed): it drops them, adds every dossier and records the
// version. It reads the whole region once, so it runs at start, before the
// consumer; a start cut short builds them again from the start.
func (s *Store) EnsureDerived(ctx context.Context, region string) (bool, error) {
	v, err := s.rdb.Get(ctx, derivedKey(region)).Result()
	if err == nil && v == derivedVersion {
		return false, nil
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("read derived version of %s: %w", region, err)
	}
	// The order sets of dossiers and of their addenda.
	orderSets := events.Key(Service, region, "dossier", "*", "order")
	for _, pattern := range []string{idxKey(region, "*"), statsKey(region, "*", "*"), monthsKey(region), StatsLogKey(region), orderSets} {
		keys, err := events.ScanRegion(ctx, s.rdb, region, pattern, 500)
		if err != nil {
			return false, err
		}
		for i := 0; i < len(keys); i += 500 {
			if err := s.rdb.Del(ctx, keys[i:min(i+500, len(keys))]...).Err(); err != nil {
				return false, fmt.Errorf("drop derived keys of %s: %w", region, err)
			}
		}
	}
	const chunk = 500
	for start := int64(0); ; start += chunk {
		ids, err := s.rdb.ZRange(ctx, indexKey(region), start, start+chunk-1).Result()
		if err != nil {
			return false, fmt.Errorf("read index of %s: %w", region, err)
		}
		ds, err := s.summaries(ctx, region, ids)
		if err != nil {
			return false, err
		}
		_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for i, d := range ds {
				if d != nil {
					derive(region, ids[i], nil, d).toPipe(ctx, p)
				}
			}
			return nil
		})
		if err != nil {
			return false, fmt.Errorf("build derived keys of %s: %w", region, err)
		}
		if len(ids) < chunk {
			break
		}
	}
	if err := s.rdb.Set(ctx, derivedKey(region), derivedVersion, 0).Err(); err != nil {
		return false, fmt.Errorf("record derived version of %s: %w", region, err)
	}
	return true, nil
}

// Regions lists the regions Redis holds dossiers of. It scans the key
// space (every master of a Redis Cluster), so it runs once, at start.
func (s *Store) Regions(ctx context.Context) ([]string, error) {
	var out []string
	keys, err := events.ScanAll(ctx, s.rdb, Service+":{*}:dossiers", 1000)
	if err != nil {
		return nil, fmt.Errorf("scan regions: %w", err)
	}
	for _, k := range keys {
		i, j := strings.IndexByte(k, '{'), strings.IndexByte(k, '}')
		if i >= 0 && j > i && k == indexKey(k[i+1:j]) {
			out = append(out, k[i+1:j])
		}
	}
	return out, nil
}
