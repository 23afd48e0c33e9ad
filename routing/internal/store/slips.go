package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// Transfer slips are numbered without gaps per region and year, so every
// change that allocates one checks the counter in its write. Calls that
// route concurrently would all read the same counter and all but one would
// lose; instead they queue per region and year, and one pass reads their
// trackers and the counter together, numbers their slips one after the
// other and sends their writes in order in one pipeline. A write that finds
// its tracker changed fails, and so do the writes counted after it (the
// counter no longer matches); they go into the next pass.

type slipQueues struct {
	mu sync.Mutex
	m  map[string]*slipQueue
}

type slipQueue struct {
	mu      sync.Mutex
	waiting []*slipReq
	running bool
}

type slipReq struct {
	ctx      context.Context
	key      string
	fn       MutateFunc
	attempts int
	done     chan slipResult
}

type slipResult struct {
	t   *tracker.Tracker
	err error
}

// slipPassTimeout bounds the Redis calls of one pass.
const slipPassTimeout = 5 * time.Second

func (qs *slipQueues) mutate(ctx context.Context, s *Store, key, region, year string, fn MutateFunc) (*tracker.Tracker, error) {
	qs.mu.Lock()
	q := qs.m[region+"/"+year]
	if q == nil {
		q = &slipQueue{}
		qs.m[region+"/"+year] = q
	}
	qs.mu.Unlock()
	r := &slipReq{ctx: ctx, key: key, fn: fn, done: make(chan slipResult, 1)}
	q.mu.Lock()
	q.waiting = append(q.waiting, r)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		go q.drain(s, region, year)
	}
	select {
	case res := <-r.done:
		return res.t, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (q *slipQueue) drain(s *Store, region, year string) {
	for {
		q.mu.Lock()
		batch := q.waiting
		q.waiting = nil
		if len(batch) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		again := s.slipPass(region, year, batch)
		if len(again) > 0 {
			q.mu.Lock()
			q.waiting = append(again, q.waiting...)
			q.mu.Unlock()
		}
	}
}

// slipPass runs one pass over batch and returns the requests for the next.
func (s *Store) slipPass(region, year string, batch []*slipReq) (again []*slipReq) {
	ctx, cancel := context.WithTimeout(context.Background(), slipPassTimeout)
	defer cancel()
	seqKey := slipSeqKey(region, year)
	keys := []string{seqKey}
	var now []*slipReq
	seen := map[string]bool{}
	for _, r := range batch {
		switch {
		case r.ctx.Err() != nil:
			r.done <- slipResult{err: r.ctx.Err()}
		case seen[r.key]: // one change per tracker and pass
			again = append(again, r)
		default:
			seen[r.key] = true
			now = append(now, r)
			keys = append(keys, r.key)
		}
	}
	if len(now) == 0 {
		return again
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		for _, r := range now {
			r.done <- slipResult{err: fmt.Errorf("read trackers: %w", err)}
		}
		return again
	}
	base, err := counter(vals[0])
	if err != nil {
		for _, r := range now {
			r.done <- slipResult{err: fmt.Errorf("slip counter %s: %w", seqKey, err)}
		}
		return again
	}
	type prepared struct {
		r *slipReq
		w *write
	}
	var ps []prepared
	next := base
	for i, r := range now {
		raw, ok := vals[i+1].(string)
		if !ok {
			r.done <- slipResult{err: tracker.ErrNotFound}
			continue
		}
		x := &Tx{region: region, year: year, base: next, slips: true}
		w, err := prepare(r.key, []byte(raw), x, r.fn)
		if err != nil {
			r.done <- slipResult{err: err}
			continue
		}
		if x.next > 0 {
			next = x.next
		}
		ps = append(ps, prepared{r, w})
	}
	if len(ps) == 0 {
		return again
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(ps))
	for i, p := range ps {
		cmds[i] = p.w.queue(ctx, pipe)
	}
	_, _ = pipe.Exec(ctx) // each command's own error is read below
	reload := false
	for i, p := range ps {
		n, err := result(cmds[i])
		switch {
		case err != nil:
			p.r.done <- slipResult{err: err}
		case n == writeDone:
			s.recent.put(p.r.key, p.w.enc)
			p.r.done <- slipResult{t: p.w.t}
		default:
			reload = reload || n == writeScriptNotLoaded
			p.r.attempts++
			if p.r.attempts >= maxAttempts {
				p.r.done <- slipResult{err: fmt.Errorf("mutate %s: too much contention", p.r.key)}
				continue
			}
			again = append(again, p.r)
		}
	}
	if reload {
		if err := writeScript.Load(ctx, s.rdb).Err(); err != nil {
			for _, r := range again {
				r.done <- slipResult{err: fmt.Errorf("load write script: %w", err)}
			}
			return nil
		}
	}
	return again
}

// counter parses the slip counter as MGET returns it (nil: none yet).
func counter(v any) (int64, error) {
	switch c := v.(type) {
	case nil:
		return 0, nil
	case string:
		return strconv.ParseInt(c, 10, 64)
	}
	return 0, errors.New("unexpected value")
}
