package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
)

// Subscription is one service's consumer group over the event streams of
// other services, in every region of the roster (docs/ARCHITECTURE.md,
// "Consuming events"). It reads entries in batches, applies each batch in
// one MULTI/EXEC per region with the apply-once markers and the
// acknowledgements, spreads a batch over lanes by dispute so different
// disputes are applied in parallel and each dispute's events in order,
// retries transient failures without limit, and parks only entries that can
// never be applied.
type Subscription struct {
	// Redis is the client of the streams' Redis.
	Redis redis.UniversalClient
	// Group is the consuming service, e.g. "routing"; it names the consumer
	// group, the apply-once markers and the metrics.
	Group string
	// Name identifies this process in the group; empty picks a unique one.
	Name string
	// Sources are the services whose streams are read.
	Sources []string
	// Regions lists the regions to read; called every round so regions
	// added to the roster are picked up.
	Regions func() []string
	// Routes maps event types (payload full names) to their handler.
	Routes map[string]Handler
	// Default handles the types Routes does not name; nil acknowledges them
	// unapplied.
	Default Handler
	// Batch is the most entries read at once (default 512).
	Batch int64
	// Lanes is how many parts of a batch are applied in parallel (default
	// 4), each of at least 16 events (laneItems).
	Lanes int
	// Block is how long a read waits for new entries (default 1 s).
	Block time.Duration
	// ClaimIdle is how long an entry stays pending with a consumer that no
	// longer touches it before another consumer takes it (default 15 s).
	ClaimIdle time.Duration
	// MaxAttempts parks an entry whose handler failed this many times with
	// an error that is neither transient nor NotYet (default 5).
	MaxAttempts int
	// MaxBackoff caps the wait between retries of one dispute (default 5 s).
	MaxBackoff time.Duration
	// CounterLog, when set, names the region's counter log: a batch's
	// summed HIncrBy deltas are written to it as one entry, and are in the
	// counters once FoldCounters has run (counterlog.go).
	CounterLog func(region string) string
	// Acknowledged, when set, is called after entries of stream were
	// acknowledged (applied, skipped or parked), e.g. Progress.Kick.
	Acknowledged func(stream string)
	// Log receives retries and parked entries.
	Log *slog.Logger
	// Registerer, when set, receives the metrics.
	Registerer prometheus.Registerer

	once       sync.Once
	groups     map[string]bool
	held       []*item
	heldIDs    map[string]bool
	lastClaim  time.Time
	lastTouch  time.Time
	faultPanic string

	handled  *prometheus.CounterVec
	retried  *prometheus.CounterVec
	parked   *prometheus.CounterVec
	batches  prometheus.Histogram
	lag      *prometheus.GaugeVec
	pending  *prometheus.GaugeVec
	parkedN  *prometheus.GaugeVec
	parkedMu sync.Mutex
	parkedBy map[string]int64
}

// item is a delivery the consumer holds: read, not yet applied or parked.
type item struct {
	d        *Delivery
	raw      redis.XMessage
	key      string // ordering key: the dispute, "" for events about none
	next     time.Time
	attempts int // failures counted toward MaxAttempts
	tries    int // all failures, for the backoff
	badEntry error
}

// FaultPanicEnv names an environment variable for fault experiments: a
// handler delivered an event whose envelope reason equals its value panics.
const FaultPanicEnv = "DISPUTES_FAULT_PANIC_ON_REASON"

func (s *Subscription) init() {
	s.once.Do(func() {
		if s.Name == "" {
			s.Name = UniqueName()
		}
		if s.Batch <= 0 {
			s.Batch = 512
		}
		if s.Lanes <= 0 {
			s.Lanes = 4
		}
		if s.Block <= 0 {
			s.Block = time.Second
		}
		if s.ClaimIdle <= 0 {
			s.ClaimIdle = 15 * time.Second
		}
		if s.MaxAttempts <= 0 {
			s.MaxAttempts = 5
		}
		if s.MaxBackoff <= 0 {
			s.MaxBackoff = 5 * time.Second
		}
		if s.Log == nil {
			s.Log = slog.Default()
		}
		s.faultPanic = os.Getenv(FaultPanicEnv)
		s.groups = map[string]bool{}
		s.heldIDs = map[string]bool{}
		s.parkedBy = map[string]int64{}
		labels := prometheus.Labels{"group": s.Group}
		s.handled = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_handled_total", Help: "Stream entries applied (or skipped as applied before) by this consumer group.",
			ConstLabels: labels,
		}, []string{"type"})
		s.retried = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_retried_total", Help: "Deliveries put back for a retry, by cause (not_yet, transient, conflict, error).",
			ConstLabels: labels,
		}, []string{"cause"})
		s.parked = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_parked_total", Help: "Stream entries parked as impossible to apply.", ConstLabels: labels,
		}, []string{"stream"})
		s.batches = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "events_batch_size", Help: "Entries per applied batch transaction.", ConstLabels: labels,
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		})
		s.lag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "events_group_lag", Help: "Entries of a stream not yet delivered to this consumer group.", ConstLabels: labels,
		}, []string{"stream"})
		s.pending = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "events_group_pending", Help: "Entries delivered to this consumer group and not yet acknowledged.", ConstLabels: labels,
		}, []string{"stream"})
		s.parkedN = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "events_parked", Help: "Entries waiting in this group's parked streams.", ConstLabels: labels,
		}, []string{"stream"})
		if s.Registerer != nil {
			s.Registerer.MustRegister(s.handled, s.retried, s.parked, s.batches, s.lag, s.pending, s.parkedN)
		}
	})
}

// UniqueName returns a consumer name unique to this process: host, pid and
// random bits, so a restarted process never inherits a dead one's entries
// by name (they are claimed after ClaimIdle instead).
func UniqueName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// Streams returns the streams the subscription reads now.
func (s *Subscription) Streams() []string {
	var out []string
	for _, r := range s.Regions() {
		for _, src := range s.Sources {
			out = append(out, Stream(src, r))
		}
	}
	return out
}

// Run consumes until ctx is done. Failures of Redis are logged and retried;
// a panicking handler parks its entry and the consumer goes on.
func (s *Subscription) Run(ctx context.Context) error {
	s.init()
	go s.watchLag(ctx)
	for ctx.Err() == nil {
		if err := s.safeRound(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("event consumer round failed; retrying", "group", s.Group, "error", err)
			sleep(ctx, 500*time.Millisecond)
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (s *Subscription) safeRound(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("consumer round panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return s.round(ctx)
}

// round claims abandoned entries, reads new ones, and applies what is due.
func (s *Subscription) round(ctx context.Context) error {
	streams := s.Streams()
	if len(streams) == 0 {
		sleep(ctx, s.Block)
		return nil
	}
	for _, st := range streams {
		if err := s.ensureGroup(ctx, st); err != nil {
			return err
		}
	}
	now := time.Now()
	if now.Sub(s.lastClaim) >= s.ClaimIdle/3 {
		s.lastClaim = now
		for _, st := range streams {
			if err := s.claim(ctx, st); err != nil {
				return err
			}
		}
	}
	if now.Sub(s.lastTouch) >= s.ClaimIdle/3 && len(s.held) > 0 {
		s.lastTouch = now
		s.touch(ctx)
	}
	if int64(len(s.held)) < 4*s.Batch {
		if err := s.read(ctx, streams); err != nil {
			return err
		}
	}
	due := s.due(time.Now())
	if len(due) == 0 {
		return nil
	}
	s.apply(ctx, due)
	return nil
}

// read appends new entries to the held ones, waiting for them only when
// nothing is due sooner.
func (s *Subscription) read(ctx context.Context, streams []string) error {
	block := s.Block
	if len(s.held) > 0 {
		wait := time.Until(s.soonest())
		switch {
		case wait <= 0:
			block = -1 // do not wait at all
		case wait < block:
			block = max(wait, time.Millisecond)
		}
	}
	groups := slotGroups(streams)
	if _, cluster := s.Redis.(*redis.ClusterClient); !cluster || len(groups) == 1 {
		return s.readGroup(ctx, streams, block)
	}
	// A Redis Cluster refuses one XREADGROUP over streams of several hash
	// slots (CROSSSLOT), so each region's streams are read on their own:
	// first all without waiting, in one pipeline (one round trip per
	// master); when none had anything, all at once, each waiting at most
	// clusterBlock so that an entry of one region is not held back by
	// another's long wait.
	if got, err := s.readPipelined(ctx, groups); err != nil || got > 0 || block == -1 {
		return err
	}
	var mu sync.Mutex
	var got int
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() { errs[i] = s.readGroupLocked(ctx, &mu, g, min(block, clusterBlock), &got) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readPipelined reads every group of streams without waiting, in one
// pipeline, holds what it got and returns how many entries that was.
func (s *Subscription) readPipelined(ctx context.Context, groups [][]string) (int, error) {
	cmds := make([]*redis.XStreamSliceCmd, len(groups))
	// The pipeline's own error is its first command's; each is read below.
	_, _ = s.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, g := range groups {
			cmds[i] = p.XReadGroup(ctx, s.readArgs(g, -1))
		}
		return nil
	})
	got := 0
	var errs []error
	for _, c := range cmds {
		res, err := c.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			errs = append(errs, s.readFailed(err))
			continue
		}
		for _, st := range res {
			for _, msg := range st.Messages {
				s.hold(st.Stream, msg)
				got++
			}
		}
	}
	return got, errors.Join(errs...)
}

// clusterBlock is the longest wait of one region's read when a cluster's
// streams span several hash slots.
const clusterBlock = 100 * time.Millisecond

// slotGroups splits streams by their hash tag (the region), in order of
// first appearance: the streams of one group share a hash slot.
func slotGroups(streams []string) [][]string {
	var order []string
	by := map[string][]string{}
	for _, st := range streams {
		tag := regionOf(st)
		if _, ok := by[tag]; !ok {
			order = append(order, tag)
		}
		by[tag] = append(by[tag], st)
	}
	out := make([][]string, len(order))
	for i, tag := range order {
		out[i] = by[tag]
	}
	return out
}

// readGroupLocked reads streams of one hash slot and holds what it got
// under mu, adding the count of entries to got.
func (s *Subscription) readGroupLocked(ctx context.Context, mu *sync.Mutex, streams []string, block time.Duration, got *int) error {
	res, err := s.xreadgroup(ctx, streams, block)
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		return s.readFailed(err)
	}
	for _, st := range res {
		for _, msg := range st.Messages {
			s.hold(st.Stream, msg)
			*got++
		}
	}
	return nil
}

// readGroup reads streams that share one connection's XREADGROUP.
func (s *Subscription) readGroup(ctx context.Context, streams []string, block time.Duration) error {
	res, err := s.xreadgroup(ctx, streams, block)
	if err != nil {
		return s.readFailed(err)
	}
	for _, st := range res {
		for _, msg := range st.Messages {
			s.hold(st.Stream, msg)
		}
	}
	return nil
}

func (s *Subscription) readArgs(streams []string, block time.Duration) *redis.XReadGroupArgs {
	args := make([]string, 0, 2*len(streams))
	args = append(args, streams...)
	for range streams {
		args = append(args, ">")
	}
	return &redis.XReadGroupArgs{Group: s.Group, Consumer: s.Name, Streams: args, Count: s.Batch, Block: block}
}

func (s *Subscription) xreadgroup(ctx context.Context, streams []string, block time.Duration) ([]redis.XStream, error) {
	res, err := s.Redis.XReadGroup(ctx, s.readArgs(streams, block)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return res, err
}

func (s *Subscription) readFailed(err error) error {
	if strings.HasPrefix(err.Error(), "NOGROUP") {
		s.groups = map[string]bool{}
	}
	return fmt.Errorf("xreadgroup: %w", err)
}

func (s *Subscription) hold(stream string, msg redis.XMessage) {
	id := stream + "/" + msg.ID
	if s.heldIDs[id] {
		return
	}
	s.heldIDs[id] = true
	it := &item{raw: msg, d: &Delivery{Stream: stream, EntryID: msg.ID, Region: regionOf(stream)}}
	ev, err := Decode(msg)
	if err != nil {
		it.badEntry = err
	} else {
		it.d.Event = ev
		it.key = ev.GetDispute()
	}
	s.held = append(s.held, it)
}

// regionOf returns the hash tag of a stream key: "routing:{141181}:events" -> "141181".
func regionOf(stream string) string {
	i := strings.IndexByte(stream, '{')
	j := strings.IndexByte(stream, '}')
	if i < 0 || j < i {
		return ""
	}
	return stream[i+1 : j]
}

func (s *Subscription) soonest() time.Time {
	t := s.held[0].next
	for _, it := range s.held[1:] {
		if it.next.Before(t) {
			t = it.next
		}
	}
	return t
}

// due returns the held items that may be applied now: those whose retry
// time has come and behind no earlier item of the same dispute that is
// still waiting.
func (s *Subscription) due(now time.Time) []*item {
	waiting := map[string]bool{}
	var out []*item
	for _, it := range s.held {
		k := it.d.Region + "/" + it.key
		if waiting[k] || it.next.After(now) {
			waiting[k] = true
			continue
		}
		out = append(out, it)
	}
	return out
}

// laneItems is how many events a lane is worth: a batch is split into
// lanes, each its own transaction, only when each gets about as many. The
// small batches of a steady load (one to a few events) are one transaction
// and two round trips; a backlog's are applied in Lanes parallel parts.
const laneItems = 16

// apply applies due items: one transaction per region and lane, the lanes
// of a region in parallel.
func (s *Subscription) apply(ctx context.Context, due []*item) {
	type laneKey struct {
		region string
		lane   int
	}
	n := min(s.Lanes, max(1, len(due)/laneItems))
	lanes := map[laneKey][]*item{}
	var order []laneKey
	for _, it := range due {
		h := fnv.New32a()
		h.Write([]byte(it.key))
		k := laneKey{it.d.Region, int(h.Sum32() % uint32(n))}
		if _, ok := lanes[k]; !ok {
			order = append(order, k)
		}
		lanes[k] = append(lanes[k], it)
	}
	var wg sync.WaitGroup
	done := make([][]*item, len(order))
	for i, k := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done[i] = s.applyLane(ctx, k.region, lanes[k])
		}()
	}
	wg.Wait()
	finished := map[*item]bool{}
	for _, d := range done {
		for _, it := range d {
			finished[it] = true
			delete(s.heldIDs, it.d.Stream+"/"+it.d.EntryID)
		}
	}
	s.held = slices.DeleteFunc(s.held, func(it *item) bool { return finished[it] })
}

// outcome is what became of one item in a lane's transaction.
type outcome int

const (
	outRetry outcome = iota // left held, retried later
	outDone                 // applied or skipped, acknowledged
	outPark                 // parked and acknowledged
)

// applyLane applies items (one region) in one transaction and returns those
// that are finished (applied, skipped or parked). A lost WATCH race reads
// and applies again; a Redis failure leaves every item for a retry.
func (s *Subscription) applyLane(ctx context.Context, region string, items []*item) []*item {
	for attempt := 0; ; attempt++ {
		finished, err := s.tryLane(ctx, region, items)
		if err == nil {
			return finished
		}
		cause := "transient"
		if errors.Is(err, redis.TxFailedErr) {
			cause = "conflict"
			if attempt < 5 {
				s.retried.WithLabelValues(cause).Add(float64(len(items)))
				continue
			}
		}
		s.Log.Warn("event batch not applied; will retry", "group", s.Group, "region", region,
			"entries", len(items), "error", err)
		for _, it := range items {
			s.retried.WithLabelValues(cause).Inc()
			s.backoff(it, false)
		}
		return nil
	}
}

func (s *Subscription) backoff(it *item, counts bool) {
	it.tries++
	if counts {
		it.attempts++
	}
	it.d.Attempt = it.tries + 1
	d := 100 * time.Millisecond << min(it.tries-1, 10)
	it.next = time.Now().Add(min(d, s.MaxBackoff))
}

func (s *Subscription) handler(typ string) Handler {
	if h, ok := s.Routes[typ]; ok {
		return h
	}
	return s.Default
}

// tryLane is one attempt at a lane's transaction.
func (s *Subscription) tryLane(ctx context.Context, region string, items []*item) ([]*item, error) {
	// Keys of every delivery: its marker and what its handler reads.
	keys := map[string]bool{}
	var keyList []string
	add := func(k string) {
		if !keys[k] {
			keys[k] = true
			keyList = append(keyList, k)
		}
	}
	keyErr := map[*item]error{}
	for _, it := range items {
		if it.badEntry != nil {
			continue
		}
		h := s.handler(it.d.Event.GetType())
		if !versioned(h) {
			add(Marker(s.Group, region, it.d.Event.GetId()))
		}
		if h == nil {
			continue
		}
		ks, err := h.Keys(it.d)
		if err != nil {
			keyErr[it] = err
			continue
		}
		for _, k := range ks {
			add(k)
		}
	}
	watch := keyList
	if len(watch) == 0 {
		watch = []string{Marker(s.Group, region, "_")}
	}
	// On one Redis the WATCH is sent in one round trip with the reads, on
	// the transaction's connection; a Redis Cluster client sends it itself,
	// as it needs the keys to find the node.
	_, single := s.Redis.(*redis.Client)
	var finished []*item
	var retry []*item
	txf := func(tx *redis.Tx) (err error) {
		finished, retry = finished[:0], retry[:0]
		b := &Batch{ctx: ctx, vals: map[string]*string{}, keys: keys, now: time.Now()}
		if s.CounterLog != nil {
			b.counterLog = s.CounterLog(region)
		}
		var vs []any
		if single {
			// EXEC ends the WATCH; when the attempt stops before it runs, the
			// connection goes back to the pool unwatched.
			defer func() {
				if err != nil && !errors.Is(err, redis.TxFailedErr) && !redis.IsExecAbortError(err) {
					tx.Unwatch(ctx)
				}
			}()
			args := make([]any, 0, 1+len(watch))
			args = append(args, "watch")
			for _, k := range watch {
				args = append(args, k)
			}
			pipe := tx.Pipeline()
			pipe.Do(ctx, args...)
			var mget *redis.SliceCmd
			if len(keyList) > 0 {
				mget = pipe.MGet(ctx, keyList...)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
			if mget != nil {
				vs = mget.Val()
			}
		} else if len(keyList) > 0 {
			if vs, err = tx.MGet(ctx, keyList...).Result(); err != nil {
				return err
			}
		}
		for i, v := range vs {
			if sv, ok := v.(string); ok {
				b.vals[keyList[i]] = &sv
			}
		}
		outs := make([]outcome, len(items))
		why := make([]string, len(items))
		failed := make([]error, len(items))
		blocked := map[string]bool{}
		seen := map[string]bool{}
		for i, it := range items {
			if blocked[it.key] {
				outs[i] = outRetry
				continue
			}
			if it.badEntry != nil {
				outs[i], why[i] = outPark, it.badEntry.Error()
				continue
			}
			ev := it.d.Event
			h := s.handler(ev.GetType())
			marker := ""
			if !versioned(h) {
				marker = Marker(s.Group, region, ev.GetId())
			}
			if seen[ev.GetId()] || (marker != "" && b.vals[marker] != nil) {
				outs[i] = outDone
				continue
			}
			if err, ok := keyErr[it]; ok {
				outs[i], why[i] = s.judge(it, err)
				failed[i] = err
			} else if h == nil {
				outs[i] = outDone
				continue
			} else {
				nw, na := b.begin()
				err := s.safeApply(h, b, it.d)
				if err == nil {
					b.commit()
					if marker != "" {
						b.Set(marker, []byte{'1'}, MarkerTTL)
					}
					seen[ev.GetId()] = true
					outs[i] = outDone
					continue
				}
				b.rollback(nw, na)
				outs[i], why[i] = s.judge(it, err)
				failed[i] = err
			}
			if outs[i] == outRetry {
				blocked[it.key] = true
			}
		}
		acks := map[string][]string{}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			b.flushWrites(p)
			b.flushCounters(p)
			b.flushSortedSets(p)
			for i, it := range items {
				switch outs[i] {
				case outPark:
					vals := map[string]any{"entry": it.raw.ID, "stream": it.d.Stream, "group": s.Group,
						"error": why[i], "time": time.Now().UTC().Format(time.RFC3339)}
					for k, v := range it.raw.Values {
						vals["orig_"+k] = v
					}
					p.XAdd(ctx, &redis.XAddArgs{Stream: ParkedStream(it.d.Stream, s.Group), Values: vals})
					fallthrough
				case outDone:
					acks[it.d.Stream] = append(acks[it.d.Stream], it.raw.ID)
				}
			}
			for st, ids := range acks {
				p.XAck(ctx, st, s.Group, ids...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, fn := range b.after {
			fn()
		}
		if s.Acknowledged != nil {
			for st := range acks {
				s.Acknowledged(st)
			}
		}
		n := 0
		for i, it := range items {
			switch outs[i] {
			case outDone:
				n++
				if it.d.Event != nil {
					s.handled.WithLabelValues(it.d.Event.GetType()).Inc()
				}
				finished = append(finished, it)
			case outPark:
				n++
				s.parked.WithLabelValues(it.d.Stream).Inc()
				s.Log.Error("event entry parked", "group", s.Group, "stream", it.d.Stream, "entry", it.raw.ID,
					"event_id", it.d.Event.GetId(), "why", why[i])
				finished = append(finished, it)
			default:
				if failed[i] != nil {
					s.retryLater(it, failed[i])
				}
				retry = append(retry, it)
			}
		}
		s.batches.Observe(float64(n))
		return nil
	}
	var err error
	if single {
		err = s.Redis.Watch(ctx, txf)
	} else {
		err = s.Redis.Watch(ctx, txf, watch...)
	}
	if err != nil {
		return nil, err
	}
	return finished, nil
}

// versioned reports whether h recognizes events already applied itself
// (Versioned), so that its events need no apply-once marker.
func versioned(h Handler) bool {
	v, ok := h.(Versioned)
	return ok && v.Versioned()
}

// judge decides what becomes of an item whose handler failed with err:
// parked now (with why), or retried later.
func (s *Subscription) judge(it *item, err error) (out outcome, why string) {
	switch {
	case errors.Is(err, ErrPermanent):
		return outPark, err.Error()
	case errors.Is(err, ErrNotYet), apierr.IsTransient(err):
		return outRetry, ""
	case it.attempts+1 >= s.MaxAttempts:
		return outPark, fmt.Sprintf("failed %d times: %v", it.attempts+1, err)
	}
	return outRetry, ""
}

// retryLater sets the retry time of an item whose handler failed with err,
// once the batch it was in is written. Only errors that are neither NotYet
// nor transient count toward MaxAttempts.
func (s *Subscription) retryLater(it *item, err error) {
	cause := "error"
	switch {
	case errors.Is(err, ErrNotYet):
		cause = "not_yet"
	case apierr.IsTransient(err):
		cause = "transient"
	}
	s.retried.WithLabelValues(cause).Inc()
	s.backoff(it, cause == "error")
	if it.tries == 1 || it.tries%20 == 0 {
		s.Log.Warn("event not applied; will retry", "group", s.Group, "stream", it.d.Stream, "entry", it.raw.ID,
			"event_id", it.d.Event.GetId(), "type", it.d.Event.GetType(), "tries", it.tries, "error", err)
	}
}

// safeApply runs h.Apply, turning a panic into a permanent error that
// carries the panic's text.
func (s *Subscription) safeApply(h Handler, b *Batch, d *Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("handler panicked: %v", r))
			s.Log.Error("event handler panicked", "group", s.Group, "event_id", d.Event.GetId(),
				"type", d.Event.GetType(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	if s.faultPanic != "" && d.Event.GetReason() == s.faultPanic {
		panic("fault injection: " + FaultPanicEnv)
	}
	return h.Apply(b, d)
}

// ensureGroup creates the group on stream, starting where the group's
// cursor says it had read to before it was lost, or at the beginning.
func (s *Subscription) ensureGroup(ctx context.Context, stream string) error {
	if s.groups[stream] {
		return nil
	}
	err := s.Redis.XGroupCreateMkStream(ctx, stream, s.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create group %s on %s: %w", s.Group, stream, err)
	}
	s.groups[stream] = true
	return nil
}

// claim takes over entries another consumer left pending for ClaimIdle.
// Claiming is no failure: it never counts toward parking.
func (s *Subscription) claim(ctx context.Context, stream string) error {
	start := "0-0"
	for {
		msgs, next, err := s.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: stream, Group: s.Group, Consumer: s.Name, MinIdle: s.ClaimIdle, Start: start, Count: s.Batch,
		}).Result()
		if err != nil {
			return fmt.Errorf("xautoclaim %s: %w", stream, err)
		}
		for _, msg := range msgs {
			if msg.Values == nil { // deleted from the stream meanwhile
				if err := s.Redis.XAck(ctx, stream, s.Group, msg.ID).Err(); err != nil {
					return err
				}
				continue
			}
			s.hold(stream, msg)
		}
		if next == "0-0" || next == "" {
			return nil
		}
		start = next
	}
}

// touch resets the idle time of the entries this consumer holds for a
// retry, so other consumers do not claim what is being worked on.
func (s *Subscription) touch(ctx context.Context) {
	byStream := map[string][]string{}
	for _, it := range s.held {
		byStream[it.d.Stream] = append(byStream[it.d.Stream], it.raw.ID)
	}
	for st, ids := range byStream {
		if err := s.Redis.XClaimJustID(ctx, &redis.XClaimArgs{
			Stream: st, Group: s.Group, Consumer: s.Name, MinIdle: 0, Messages: ids,
		}).Err(); err != nil {
			s.Log.Warn("refresh of held entries failed", "stream", st, "error", err)
		}
	}
}

// watchLag samples each stream's lag, pending and parked entries for the
// metrics and ParkedInfo.
func (s *Subscription) watchLag(ctx context.Context) {
	for ctx.Err() == nil {
		for _, st := range s.Streams() {
			if gs, err := s.Redis.XInfoGroups(ctx, st).Result(); err == nil {
				for _, g := range gs {
					if g.Name == s.Group {
						s.lag.WithLabelValues(st).Set(float64(max(g.Lag, 0)))
						s.pending.WithLabelValues(st).Set(float64(g.Pending))
					}
				}
			}
			if n, err := s.Redis.XLen(ctx, ParkedStream(st, s.Group)).Result(); err == nil {
				s.parkedN.WithLabelValues(st).Set(float64(n))
				s.parkedMu.Lock()
				s.parkedBy[st] = n
				s.parkedMu.Unlock()
			}
		}
		sleep(ctx, 5*time.Second)
	}
}

// ParkedInfo is a readiness info entry: "ok" while nothing is parked, else
// how many entries wait in this group's parked streams (degraded).
func (s *Subscription) ParkedInfo() string {
	s.init()
	s.parkedMu.Lock()
	defer s.parkedMu.Unlock()
	var n int64
	for _, v := range s.parkedBy {
		n += v
	}
	if n == 0 {
		return "ok"
	}
	return fmt.Sprintf("degraded: %d parked event entries in group %s (disputectl events parked list)", n, s.Group)
}
