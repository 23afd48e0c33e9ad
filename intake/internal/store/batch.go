package store

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Registrations arriving together are sent to Redis together: while
// RunBatches runs, Register queues its script call and one of a few batch
// loops sends every queued call in one pipeline (one write and one read on
// each side instead of one per call). Each script still runs atomically on
// its own; Redis runs a pipeline's commands in one event-loop iteration and
// fsyncs the append-only file once for all of them before replying, so an
// acknowledged registration is as durable as one sent alone. Nothing waits
// for a batch to fill: a loop sends what is queued the moment it is free.
const (
	batchLoops    = 4
	maxBatch      = 64
	batchTimeout  = 10 * time.Second
	queueCapacity = 1024
)

type scriptCall struct {
	keys []string
	args []any
	done chan scriptResult
}

type scriptResult struct {
	vals []string
	err  error
}

type batcher struct {
	mu      sync.RWMutex
	running int
	queue   chan *scriptCall
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
	batch := make([]*scriptCall, 0, maxBatch)
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

// flush sends a batch in one pipeline and hands each caller its result. A
// script unknown to Redis (flushed, or a restarted server) is sent again
// with its source.
func (s *Store) flush(batch []*scriptCall) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	cmds := make([]*redis.Cmd, len(batch))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range batch {
			cmds[i] = s.register.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	for i, c := range batch {
		vals, err := cmds[i].StringSlice()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			vals, err = s.register.Run(ctx, s.rdb, c.keys, c.args...).StringSlice()
		}
		c.done <- scriptResult{vals: vals, err: err}
	}
}

// runRegister runs the registration script, batched when RunBatches runs.
func (s *Store) runRegister(ctx context.Context, keys []string, args []any) ([]string, error) {
	s.batch.mu.RLock()
	batching := s.batch.running > 0
	s.batch.mu.RUnlock()
	if !batching {
		return s.register.Run(ctx, s.rdb, keys, args...).StringSlice()
	}
	c := &scriptCall{keys: keys, args: args, done: make(chan scriptResult, 1)}
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
