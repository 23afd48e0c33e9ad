package roster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// Probe timing of the watcher's staleness check.
const (
	ProbeInterval = 500 * time.Millisecond
	ProbeTimeout  = time.Second
	loadTimeout   = 5 * time.Second
)

// Watcher holds the last valid roster of every region under /disputes/ and
// keeps it current by watching etcd. A change that fails to decode or to
// validate is logged, counted in roster_rejected_total and ignored, so the
// previous roster stays in force. When etcd stops answering the watcher
// turns stale (Stale, roster_stale) and keeps serving what it has; when etcd
// answers again it reloads everything and resumes watching.
type Watcher struct {
	cli *clientv3.Client
	log *slog.Logger

	mu         sync.RWMutex
	snaps      map[string]*rosterv1.Roster
	stale      bool
	staleSince time.Time
	staleErr   error

	loaded     chan struct{}
	loadedOnce sync.Once
	recovered  chan struct{}

	rejected   *prometheus.CounterVec
	staleGauge prometheus.Gauge
	revision   *prometheus.GaugeVec
}

// NewWatcher returns a watcher over cli; call Run to start it. Its metrics
// (roster_rejected_total{region}, roster_stale, roster_revision{region}) are
// registered on reg when reg is not nil.
func NewWatcher(cli *clientv3.Client, log *slog.Logger, reg prometheus.Registerer) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{
		cli:        cli,
		log:        log,
		snaps:      map[string]*rosterv1.Roster{},
		stale:      true,
		staleSince: time.Now(),
		staleErr:   errors.New("roster not loaded yet"),
		loaded:     make(chan struct{}),
		recovered:  make(chan struct{}, 1),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_rejected_total",
			Help: "Roster changes in etcd refused because they did not decode or validate; the previous roster stays in force.",
		}, []string{"region"}),
		staleGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roster_stale",
			Help: "1 while etcd does not answer and the roster may be out of date.",
		}),
		revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "roster_revision",
			Help: "etcd revision of the roster in force, by region.",
		}, []string{"region"}),
	}
	w.staleGauge.Set(1)
	if reg != nil {
		w.rejected = register(reg, w.rejected)
		w.staleGauge = register(reg, w.staleGauge)
		w.revision = register(reg, w.revision)
	}
	return w
}

// register registers c on reg, reusing an identical collector already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(fmt.Sprintf("roster: register metric: %v", err))
	}
	return c
}

// Get returns region's last valid roster and whether there is one. The
// roster is shared: callers must not modify it (proto.Clone it first).
func (w *Watcher) Get(region string) (*rosterv1.Roster, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r, ok := w.snaps[region]
	return r, ok
}

// Regions returns the regions that have a valid roster, sorted.
func (w *Watcher) Regions() []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]string, 0, len(w.snaps))
	for r := range w.snaps {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Stale reports whether the rosters may be out of date: etcd has not
// answered (or nothing was loaded yet).
func (w *Watcher) Stale() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.stale
}

// Loaded is closed once the first full load from etcd has succeeded.
func (w *Watcher) Loaded() <-chan struct{} { return w.loaded }

// ReadinessInfo describes the watcher's state for readiness pages: "ok", or
// "stale since <time>: <error>".
func (w *Watcher) ReadinessInfo() string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.stale {
		return "ok"
	}
	return fmt.Sprintf("stale since %s: %v", w.staleSince.Format(time.RFC3339), w.staleErr)
}

func (w *Watcher) markStale(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stale {
		w.stale = true
		w.staleSince = time.Now()
		w.log.Warn("roster stale: etcd not answering, serving last valid roster", "error", err.Error())
	}
	w.staleErr = err
	w.staleGauge.Set(1)
}

func (w *Watcher) markFresh() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stale {
		w.log.Info("roster fresh: etcd answering", "stale_for", time.Since(w.staleSince).String())
	}
	w.stale = false
	w.staleErr = nil
	w.staleGauge.Set(0)
}

// Run loads every region and watches for changes until ctx is done, when it
// returns nil. etcd being unreachable is not an error: Run keeps trying.
func (w *Watcher) Run(ctx context.Context) error {
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		w.probe(ctx)
	}()
	defer func() { <-probeDone }()

	for ctx.Err() == nil {
		rev, err := w.loadAll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			w.markStale(fmt.Errorf("load rosters: %w", err))
			select {
			case <-ctx.Done():
			case <-w.recovered:
			case <-time.After(ProbeInterval):
			}
			continue
		}
		w.markFresh()
		w.loadedOnce.Do(func() { close(w.loaded) })
		if err := w.watch(ctx, rev); err != nil && ctx.Err() == nil {
			w.log.Warn("roster watch ended, reloading", "error", err.Error())
		}
	}
	return nil
}

// probe checks every ProbeInterval that etcd answers. It marks the watcher
// stale on failure and, when etcd answers again, tells Run to reload.
func (w *Watcher) probe(ctx context.Context) {
	t := time.NewTicker(ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
		_, err := w.cli.Get(pctx, Root+"probe", clientv3.WithCountOnly())
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.markStale(fmt.Errorf("etcd probe: %w", err))
			continue
		}
		if w.Stale() {
			select {
			case w.recovered <- struct{}{}:
			default:
			}
		}
	}
}

// loadAll reads every key under Root in one read and installs each
// region's roster that is valid. It returns the read's revision.
func (w *Watcher) loadAll(ctx context.Context) (int64, error) {
	lctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	resp, err := w.cli.Get(lctx, Root, clientv3.WithPrefix())
	if err != nil {
		return 0, err
	}
	rev := resp.Header.Revision
	byRegion := map[string][]*mvccpb.KeyValue{}
	for _, kv := range resp.Kvs {
		if region, ok := RegionOfKey(string(kv.Key)); ok {
			byRegion[region] = append(byRegion[region], kv)
		}
	}
	regions := make([]string, 0, len(byRegion))
	for region := range byRegion {
		regions = append(regions, region)
	}
	slices.Sort(regions)
	for _, region := range regions {
		w.install(region, rev, byRegion[region])
	}
	return rev, nil
}

// install decodes and validates region's keys read at rev and swaps the
// roster in when valid; otherwise it logs and counts the rejection.
func (w *Watcher) install(region string, rev int64, kvs []*mvccpb.KeyValue) {
	if len(kvs) == 0 {
		w.reject(region, rev, []Violation{{Field: Prefix(region), Reason: "roster keys deleted"}})
		return
	}
	r, vs := decode(region, kvs)
	if len(vs) == 0 {
		vs = ValidateStored(region, r)
	}
	if len(vs) > 0 {
		w.reject(region, rev, vs)
		return
	}
	r.Etag = strconv.FormatInt(rev, 10)
	w.mu.Lock()
	old, had := w.snaps[region]
	if had && old.GetEtag() == r.GetEtag() {
		w.mu.Unlock()
		return
	}
	w.snaps[region] = r
	w.mu.Unlock()
	w.revision.WithLabelValues(region).Set(float64(rev))
	w.log.Info("roster loaded", "region", region, "revision", rev, "units", len(r.GetUnits()))
}

func (w *Watcher) reject(region string, rev int64, vs []Violation) {
	paths := make([]string, len(vs))
	for i, v := range vs {
		paths[i] = v.Field + ": " + v.Reason
	}
	w.rejected.WithLabelValues(region).Inc()
	_, kept := w.Get(region)
	w.log.Warn("roster change rejected, keeping last valid roster",
		"region", region, "revision", rev, "kept_previous", kept, "violations", strings.Join(paths, "; "))
}

// watch follows changes under Root after rev until ctx is done, the watch
// fails, or the probe reports that etcd came back (the caller then reloads).
func (w *Watcher) watch(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := w.cli.Watch(wctx, Root, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.recovered:
			return errors.New("etcd answering again after an outage")
		case resp, ok := <-wch:
			if !ok {
				return errors.New("watch channel closed")
			}
			if err := resp.Err(); err != nil {
				return fmt.Errorf("watch: %w", err)
			}
			touched := map[string]int64{}
			for _, ev := range resp.Events {
				if region, ok := RegionOfKey(string(ev.Kv.Key)); ok {
					touched[region] = max(touched[region], ev.Kv.ModRevision)
				}
			}
			for region, at := range touched {
				if err := w.reload(ctx, region, at); err != nil {
					return err
				}
			}
		}
	}
}

// reload reads region's roster at revision at and installs it.
func (w *Watcher) reload(ctx context.Context, region string, at int64) error {
	lctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	resp, err := w.cli.Get(lctx, Prefix(region), clientv3.WithPrefix(), clientv3.WithRev(at))
	if err != nil {
		return fmt.Errorf("reload roster %s at %d: %w", region, at, err)
	}
	w.install(region, at, resp.Kvs)
	return nil
}
