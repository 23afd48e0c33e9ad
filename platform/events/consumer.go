package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
)

// Handler applies one event. Returning an error leaves the entry pending: it
// is delivered again after ClaimIdle, and parked after MaxDeliveries.
type Handler func(ctx context.Context, ev *eventv1.Event) error

// Consumer reads streams through a Redis consumer group: new entries with
// XREADGROUP, entries left pending by a dead or failing consumer with
// XAUTOCLAIM. An entry is acknowledged only after its handler succeeded, so
// delivery is at-least-once and handlers must be idempotent (see Once).
type Consumer struct {
	// Redis is the client of the streams' Redis.
	Redis redis.UniversalClient
	// Group is the consuming service, e.g. "routing".
	Group string
	// Name identifies this process within the group.
	Name string
	// Streams returns the streams to read; it is called on every round so
	// regions added to the roster are picked up.
	Streams func() []string
	// Handle applies an event.
	Handle Handler
	// MaxDeliveries parks an entry delivered this many times (default 5).
	MaxDeliveries int64
	// ClaimIdle is how long an entry stays pending before another consumer
	// claims it (default 30 s).
	ClaimIdle time.Duration
	// Block is how long one XREADGROUP waits (default 1 s).
	Block time.Duration
	// Batch is the most entries read per stream per round (default 100).
	Batch int64
	// Log receives errors and parked entries.
	Log *slog.Logger
	// Registerer, when set, receives the consumer's metrics.
	Registerer prometheus.Registerer

	once      sync.Once
	groups    map[string]bool
	handled   *prometheus.CounterVec
	parked    *prometheus.CounterVec
	lastClaim time.Time
}

func (c *Consumer) init() {
	c.once.Do(func() {
		if c.MaxDeliveries <= 0 {
			c.MaxDeliveries = 5
		}
		if c.ClaimIdle <= 0 {
			c.ClaimIdle = 30 * time.Second
		}
		if c.Block <= 0 {
			c.Block = time.Second
		}
		if c.Batch <= 0 {
			c.Batch = 100
		}
		if c.Log == nil {
			c.Log = slog.Default()
		}
		c.groups = map[string]bool{}
		c.handled = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "events_handled_total",
			Help:        "Stream entries handled by this consumer group, by result.",
			ConstLabels: prometheus.Labels{"group": c.Group},
		}, []string{"type", "result"})
		c.parked = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "events_parked_total",
			Help:        "Stream entries parked after too many failed deliveries or as undecodable.",
			ConstLabels: prometheus.Labels{"group": c.Group},
		}, []string{"stream"})
		if c.Registerer != nil {
			c.Registerer.MustRegister(c.handled, c.parked)
		}
	})
}

// Run consumes until ctx is done. Redis errors are logged and retried.
func (c *Consumer) Run(ctx context.Context) error {
	c.init()
	for ctx.Err() == nil {
		if err := c.round(ctx); err != nil && ctx.Err() == nil {
			c.Log.Warn("event consumer round failed", "group", c.Group, "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	return nil
}

// round runs one pass: claim stale pending entries, then read new ones.
func (c *Consumer) round(ctx context.Context) error {
	streams := c.Streams()
	if len(streams) == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(c.Block):
		}
		return nil
	}
	for _, s := range streams {
		if err := c.ensureGroup(ctx, s); err != nil {
			return err
		}
	}
	if time.Since(c.lastClaim) >= c.ClaimIdle/2 {
		c.lastClaim = time.Now()
		for _, s := range streams {
			if err := c.claim(ctx, s); err != nil {
				return err
			}
		}
	}
	args := make([]string, 0, 2*len(streams))
	args = append(args, streams...)
	for range streams {
		args = append(args, ">")
	}
	res, err := c.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: c.Group, Consumer: c.Name, Streams: args, Count: c.Batch, Block: c.Block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			c.groups = map[string]bool{}
		}
		return fmt.Errorf("xreadgroup: %w", err)
	}
	for _, st := range res {
		for _, msg := range st.Messages {
			c.deliver(ctx, st.Stream, msg)
		}
	}
	return nil
}

func (c *Consumer) ensureGroup(ctx context.Context, stream string) error {
	if c.groups[stream] {
		return nil
	}
	err := c.Redis.XGroupCreateMkStream(ctx, stream, c.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create group %s on %s: %w", c.Group, stream, err)
	}
	c.groups[stream] = true
	return nil
}

// claim takes over entries pending longer than ClaimIdle and retries or parks them.
func (c *Consumer) claim(ctx context.Context, stream string) error {
	start := "0-0"
	for {
		msgs, next, err := c.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: stream, Group: c.Group, Consumer: c.Name, MinIdle: c.ClaimIdle, Start: start, Count: c.Batch,
		}).Result()
		if err != nil {
			return fmt.Errorf("xautoclaim %s: %w", stream, err)
		}
		for _, msg := range msgs {
			n, err := c.deliveries(ctx, stream, msg.ID)
			if err != nil {
				return err
			}
			if n > c.MaxDeliveries {
				c.park(ctx, stream, msg, fmt.Sprintf("delivered %d times", n))
				continue
			}
			c.deliver(ctx, stream, msg)
		}
		if next == "0-0" || next == "" {
			return nil
		}
		start = next
	}
}

func (c *Consumer) deliveries(ctx context.Context, stream, id string) (int64, error) {
	p, err := c.Redis.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: stream, Group: c.Group, Start: id, End: id, Count: 1,
	}).Result()
	if err != nil {
		return 0, fmt.Errorf("xpending %s %s: %w", stream, id, err)
	}
	if len(p) == 0 {
		return 0, nil
	}
	return p[0].RetryCount, nil
}

// deliver decodes and handles one entry, acknowledging it on success.
func (c *Consumer) deliver(ctx context.Context, stream string, msg redis.XMessage) {
	ev, err := Decode(msg)
	if err != nil {
		c.park(ctx, stream, msg, err.Error())
		return
	}
	if err := c.Handle(ctx, ev); err != nil {
		c.handled.WithLabelValues(ev.GetType(), "error").Inc()
		c.Log.Warn("event handler failed; will retry", "group", c.Group, "stream", stream,
			"entry", msg.ID, "event_id", ev.GetId(), "type", ev.GetType(), "error", err)
		return
	}
	c.handled.WithLabelValues(ev.GetType(), "ok").Inc()
	if err := c.Redis.XAck(ctx, stream, c.Group, msg.ID).Err(); err != nil {
		c.Log.Warn("xack failed; entry will be redelivered", "stream", stream, "entry", msg.ID, "error", err)
	}
}

// park moves an entry to the group's parked stream and acknowledges it, in
// one MULTI/EXEC, so a poison entry never blocks the ones after it.
func (c *Consumer) park(ctx context.Context, stream string, msg redis.XMessage, why string) {
	vals := map[string]any{"entry": msg.ID, "stream": stream, "error": why}
	for k, v := range msg.Values {
		vals["orig_"+k] = v
	}
	_, err := c.Redis.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: ParkedStream(stream, c.Group), Values: vals})
		pipe.XAck(ctx, stream, c.Group, msg.ID)
		return nil
	})
	if err != nil {
		c.Log.Error("park entry failed", "stream", stream, "entry", msg.ID, "error", err)
		return
	}
	c.parked.WithLabelValues(stream).Inc()
	c.Log.Error("event entry parked", "group", c.Group, "stream", stream, "entry", msg.ID, "why", why)
}
