// Package regionconfig keeps live, validated copies of per-region documents
// held in etcd under /disputes/<region>/<path>: the intake rules, the time
// limits, the rate limits and the business calendar of each year. Like the roster, these are
// data, not configuration: a change made through etcd takes effect within a
// second, a malformed value is refused (logged, counted) and the last valid
// value stays in force, and with etcd down the watcher keeps serving what it
// has, reports itself stale and catches up when etcd returns.
package regionconfig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"buf.build/go/protovalidate"
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
)

// Root is the etcd prefix of all region data.
const Root = "/disputes/"

// Probe timing of the staleness check.
const (
	ProbeInterval = 500 * time.Millisecond
	ProbeTimeout  = time.Second
	loadTimeout   = 5 * time.Second
)

// Spec describes one kind of document.
type Spec[T proto.Message] struct {
	// Path below /disputes/<region>/: an exact key ("config/intake-rules")
	// or, ending in "/", a folder whose entries are named by the rest of the
	// key ("calendar/" holds "calendar/2026").
	Path string
	// New returns an empty document.
	New func() T
	// Check adds rules beyond the message's buf.validate ones; sub is the
	// entry name within a folder ("" for an exact key). May be nil.
	Check func(region, sub string, v T) []apierr.Violation
	// Metric names the counters: "<Metric>_rejected_total".
	Metric string
}

// Key returns the etcd key of a document.
func (s Spec[T]) Key(region, sub string) string { return Root + region + "/" + s.Path + sub }

// Validate checks a document against its buf.validate rules and Check.
func (s Spec[T]) Validate(region, sub string, v T) []apierr.Violation {
	var vs []apierr.Violation
	if err := protovalidate.Validate(v); err != nil {
		var ve *protovalidate.ValidationError
		if errors.As(err, &ve) {
			for _, x := range ve.Violations {
				vs = append(vs, apierr.Violation{
					Field:  protovalidate.FieldPathString(x.Proto.GetField()),
					Reason: x.Proto.GetMessage(),
				})
			}
		} else {
			vs = append(vs, apierr.Violation{Field: "", Reason: err.Error()})
		}
	}
	if s.Check != nil {
		vs = append(vs, s.Check(region, sub, v)...)
	}
	return vs
}

// Decode parses and validates a stored value; violations name the key.
func (s Spec[T]) Decode(key string, raw []byte) (T, error) {
	v := s.New()
	if err := protojson.Unmarshal(raw, v); err != nil {
		var zero T
		return zero, fmt.Errorf("%s: invalid JSON: %w", key, err)
	}
	region, sub, _ := s.split(key)
	if vs := s.Validate(region, sub, v); len(vs) > 0 {
		var parts []string
		for _, x := range vs {
			parts = append(parts, x.Field+": "+x.Reason)
		}
		var zero T
		return zero, fmt.Errorf("%s: %s", key, strings.Join(parts, "; "))
	}
	return v, nil
}

var keyRE = regexp.MustCompile(`^/disputes/([0-9]{6})/(.*)$`)

// split returns the region and entry name of a key of this spec.
func (s Spec[T]) split(key string) (region, sub string, ok bool) {
	m := keyRE.FindStringSubmatch(key)
	if m == nil {
		return "", "", false
	}
	rest := m[2]
	if strings.HasSuffix(s.Path, "/") {
		if !strings.HasPrefix(rest, s.Path) || len(rest) == len(s.Path) || strings.Contains(rest[len(s.Path):], "/") {
			return "", "", false
		}
		return m[1], rest[len(s.Path):], true
	}
	return m[1], "", rest == s.Path
}

// Put validates v and writes it to etcd (for seeding, tools and tests).
func Put[T proto.Message](ctx context.Context, cli *clientv3.Client, s Spec[T], region, sub string, v T) error {
	if vs := s.Validate(region, sub, v); len(vs) > 0 {
		return apierr.Invalid(vs...)
	}
	raw, err := protojson.MarshalOptions{Multiline: true}.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", s.Key(region, sub), err)
	}
	if _, err := cli.Put(ctx, s.Key(region, sub), string(raw)); err != nil {
		return fmt.Errorf("put %s: %w", s.Key(region, sub), err)
	}
	return nil
}

// Watcher holds the last valid document of every region (and entry).
type Watcher[T proto.Message] struct {
	spec Spec[T]
	cli  *clientv3.Client
	log  *slog.Logger

	mu         sync.RWMutex
	vals       map[string]map[string]T // region -> entry -> value
	stale      bool
	staleSince time.Time
	staleErr   error
	loaded     chan struct{}
	loadedOnce sync.Once

	rejected   *prometheus.CounterVec
	rejectedN  atomic.Int64
	staleGauge prometheus.Gauge
}

// NewWatcher returns a watcher of spec's documents; call Run to start it.
func NewWatcher[T proto.Message](cli *clientv3.Client, spec Spec[T], log *slog.Logger, reg prometheus.Registerer) *Watcher[T] {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher[T]{
		spec: spec, cli: cli, log: log,
		vals:  map[string]map[string]T{},
		stale: true, staleSince: time.Now(), staleErr: errors.New("not loaded yet"),
		loaded: make(chan struct{}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: spec.Metric + "_rejected_total",
			Help: "Values in etcd refused because they did not decode or validate; the previous value stays in force.",
		}, []string{"key"}),
		staleGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: spec.Metric + "_stale",
			Help: "1 while etcd does not answer and the values may be out of date.",
		}),
	}
	w.staleGauge.Set(1)
	if reg != nil {
		for _, c := range []prometheus.Collector{w.rejected, w.staleGauge} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					panic(err)
				}
			}
		}
	}
	return w
}

// Get returns the value of a region's document (sub "" for an exact key).
// The value is shared: callers must not modify it.
func (w *Watcher[T]) Get(region, sub string) (T, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	v, ok := w.vals[region][sub]
	return v, ok
}

// Entries returns all entries of a region's folder document.
func (w *Watcher[T]) Entries(region string) map[string]T {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make(map[string]T, len(w.vals[region]))
	for k, v := range w.vals[region] {
		out[k] = v
	}
	return out
}

// RejectedCount is how many values this watcher refused since it started.
func (w *Watcher[T]) RejectedCount() int64 { return w.rejectedN.Load() }

// Loaded is closed after the first complete load.
func (w *Watcher[T]) Loaded() <-chan struct{} { return w.loaded }

// Stale reports whether etcd stopped answering.
func (w *Watcher[T]) Stale() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.stale
}

// ReadinessInfo describes the watcher's freshness for /readyz.
func (w *Watcher[T]) ReadinessInfo() string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.stale {
		return "ok"
	}
	return fmt.Sprintf("stale since %s: %v", w.staleSince.Format(time.RFC3339), w.staleErr)
}

func (w *Watcher[T]) setStale(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stale {
		w.stale, w.staleSince = true, time.Now()
		w.log.Warn("etcd unreachable; serving last valid values", "path", w.spec.Path, "error", err)
	}
	w.staleErr = err
	w.staleGauge.Set(1)
}

// load reads every matching key and replaces the values; invalid ones keep
// their previous value.
func (w *Watcher[T]) load(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	resp, err := w.cli.Get(ctx, Root, clientv3.WithPrefix())
	if err != nil {
		return 0, err
	}
	next := map[string]map[string]T{}
	w.mu.RLock()
	for _, kv := range resp.Kvs {
		key := string(kv.Key)
		region, sub, ok := w.spec.split(key)
		if !ok {
			continue
		}
		v, err := w.spec.Decode(key, kv.Value)
		if err != nil {
			w.reject(key, err)
			old, had := w.vals[region][sub]
			if !had {
				continue
			}
			v = old
		}
		if next[region] == nil {
			next[region] = map[string]T{}
		}
		next[region][sub] = v
	}
	w.mu.RUnlock()
	w.mu.Lock()
	w.vals = next
	w.stale, w.staleErr = false, nil
	w.mu.Unlock()
	w.staleGauge.Set(0)
	w.loadedOnce.Do(func() { close(w.loaded) })
	return resp.Header.Revision, nil
}

func (w *Watcher[T]) reject(key string, err error) {
	w.rejected.WithLabelValues(key).Inc()
	w.rejectedN.Add(1)
	w.log.Warn("refused a value from etcd; keeping the last valid one", "key", key, "error", err)
}

func (w *Watcher[T]) apply(ev *clientv3.Event) {
	key := string(ev.Kv.Key)
	region, sub, ok := w.spec.split(key)
	if !ok {
		return
	}
	if ev.Type == mvccpb.DELETE {
		w.mu.Lock()
		delete(w.vals[region], sub)
		w.mu.Unlock()
		return
	}
	v, err := w.spec.Decode(key, ev.Kv.Value)
	if err != nil {
		w.reject(key, err)
		return
	}
	w.mu.Lock()
	if w.vals[region] == nil {
		w.vals[region] = map[string]T{}
	}
	w.vals[region][sub] = v
	w.mu.Unlock()
}

// Run loads, watches and probes until ctx is done.
func (w *Watcher[T]) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		rev, err := w.load(ctx)
		if err != nil {
			w.setStale(err)
			if !sleep(ctx, ProbeInterval) {
				break
			}
			continue
		}
		w.watch(ctx, rev)
	}
	return nil
}

// watch follows changes from rev+1 until the watch breaks or a probe fails;
// Run then reloads everything.
func (w *Watcher[T]) watch(ctx context.Context, rev int64) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	ch := w.cli.Watch(wctx, Root, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	ticker := time.NewTicker(ProbeInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case resp, ok := <-ch:
			if !ok {
				return
			}
			if err := resp.Err(); err != nil {
				w.log.Warn("etcd watch broke; reloading", "path", w.spec.Path, "error", err)
				return
			}
			for _, ev := range resp.Events {
				w.apply(ev)
			}
		case <-ticker.C:
			pctx, pcancel := context.WithTimeout(ctx, ProbeTimeout)
			_, err := w.cli.Get(pctx, Root+"probe", clientv3.WithCountOnly())
			pcancel()
			if err != nil {
				w.setStale(err)
				return
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
