package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/events"
)

// Registrations arriving together are registered together: while
// RunBatches runs, Register queues its registration and one of a few batch
// loops takes every registration queued, groups them by region and year, and
// sends each group as ONE run of the registration script (register.lua),
// all of them in one pipeline. The script registers a group's disputes in
// order, each as if alone, and Redis appends the whole script to the
// append-only file and fsyncs it before replying, so an acknowledged
// registration is as durable as one sent alone. Registrations of one run
// see each other in order, as if sent one after another: a request id the
// same department repeats with the same form replays the earlier one, with
// another form it is refused as reused, and another department's use of it
// is a registration of its own (each department has its own request ids).
// Nothing waits for a batch to fill: a loop sends what is queued the moment
// it is free.
const (
	batchLoops    = 4
	maxBatch      = 64
	batchTimeout  = 10 * time.Second
	queueCapacity = 1024
)

// fixedArgs is the number of fixed script arguments per registration
// (register.lua's FIXED).
const fixedArgs = 20

// regCall is one registration's part of a script run: its keys and its
// block of arguments, in register.lua's layout.
type regCall struct {
	region string
	year   int
	keys   []string
	args   []any
	done   chan scriptResult
}

type scriptResult struct {
	vals []string
	err  error
}

type batcher struct {
	mu      sync.RWMutex
	running int
	queue   chan *regCall
}

// RunBatches sends queued registration scripts to Redis in pipelines until
// ctx is done. Run it as one of the service's background loops; without it
// every registration is sent on its own.
func (s *Store) RunBatches(ctx context.Context) error {
	s.batch.mu.Lock()
	s.batch.running++
	s.batch.mu.Unlock()
	defer func() {
		s.batch.mu.Lock()
		s.batch.running--
		s.batch.mu.Unlock()
	}()
	var wg sync.WaitGroup
	for range batchLoops {
		wg.Go(func() { s.batchLoop(ctx) })
	}
	wg.Wait()
	return nil
}

func (s *Store) batchLoop(ctx context.Context) {
	batch := make([]*regCall, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case c := <-s.batch.queue:
			batch = append(batch, c)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case c := <-s.batch.queue:
				batch = append(batch, c)
			default:
				break fill
			}
		}
		s.flush(batch)
	}
}

// flush registers a batch: one script run per region and year, all in one
// pipeline, and hands each caller its result. A script unknown to Redis
// (flushed, or a restarted server) did not run and is sent again with its
// source.
func (s *Store) flush(batch []*regCall) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	groups := group(batch)
	cmds := make([]*redis.Cmd, len(groups))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, g := range groups {
			keys, args := scriptInput(g)
			cmds[i] = s.register.EvalSha(ctx, p, keys, args...)
		}
		return nil
	})
	for i, g := range groups {
		cmd := cmds[i]
		if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			keys, args := scriptInput(g)
			cmd = s.register.Run(ctx, s.rdb, keys, args...)
		}
		deliver(g, cmd)
	}
}

// group splits a batch into runs of one region and year, each in arrival
// order.
func group(batch []*regCall) [][]*regCall {
	var groups [][]*regCall
next:
	for _, c := range batch {
		for i, g := range groups {
			if g[0].region == c.region && g[0].year == c.year {
				groups[i] = append(g, c)
				continue next
			}
		}
		groups = append(groups, []*regCall{c})
	}
	return groups
}

// scriptInput returns the keys and arguments of one script run registering
// calls, all of one region and year.
func scriptInput(calls []*regCall) (keys []string, args []any) {
	region, year := calls[0].region, calls[0].year
	nKeys, nArgs := 3, 6+len(eventTypes)
	for _, c := range calls {
		nKeys += len(c.keys)
		nArgs += len(c.args)
	}
	keys = make([]string, 0, nKeys)
	keys = append(keys, SequenceKey(region, year), IndexKey(region), events.Stream(Service, region))
	args = make([]any, 0, nArgs)
	args = append(args, DisputeKey(region, ""), region, strconv.Itoa(year), setPrefix(region), dispute.MaxLinks, len(calls))
	args = append(args, eventTypes...)
	for _, c := range calls {
		keys = append(keys, c.keys...)
		args = append(args, c.args...)
	}
	return keys, args
}

// deliver hands each call of a script run its reply: an error of the run
// goes to all of them, an "error" reply to its registration only.
func deliver(calls []*regCall, cmd *redis.Cmd) {
	replies, err := cmd.Slice()
	if err == nil && len(replies) != len(calls) {
		err = fmt.Errorf("%d replies for %d registrations", len(replies), len(calls))
	}
	for i, c := range calls {
		if err != nil {
			c.done <- scriptResult{err: err}
			continue
		}
		c.done <- reply(replies[i])
	}
}

func reply(v any) scriptResult {
	items, ok := v.([]any)
	if !ok {
		return scriptResult{err: fmt.Errorf("unexpected reply %v", v)}
	}
	vals := make([]string, len(items))
	for i, item := range items {
		s, ok := item.(string)
		if !ok {
			return scriptResult{err: fmt.Errorf("unexpected reply %v", v)}
		}
		vals[i] = s
	}
	if len(vals) == 2 && vals[0] == "error" {
		return scriptResult{err: errors.New(vals[1])}
	}
	return scriptResult{vals: vals}
}

// runRegister registers one call: batched when RunBatches runs, else as a
// script run of its own.
func (s *Store) runRegister(ctx context.Context, c *regCall) ([]string, error) {
	c.done = make(chan scriptResult, 1)
	s.batch.mu.RLock()
	batching := s.batch.running > 0
	s.batch.mu.RUnlock()
	if !batching {
		keys, args := scriptInput([]*regCall{c})
		deliver([]*regCall{c}, s.register.Run(ctx, s.rdb, keys, args...))
		r := <-c.done
		return r.vals, r.err
	}
	select {
	case s.batch.queue <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued the call will be sent; a caller that gives up early may
	// still have registered, and its retry with the same request id replays.
	select {
	case r := <-c.done:
		return r.vals, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
