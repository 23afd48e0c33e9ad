package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readinessTimeout bounds each readiness check so one hung dependency
// cannot hang the probe.
const readinessTimeout = time.Second

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	Info   map[string]string `json:"info,omitempty"`
}

func (s *Server) routes(mux *http.ServeMux) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.cfg.Pprof {
		// Go profiles, off unless asked for: they expose internals and cost CPU.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	}
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	res := readiness{Status: "ready", Checks: map[string]string{}}
	code := http.StatusOK
	if s.stopping.Load() {
		res.Status, code = "shutting_down", http.StatusServiceUnavailable
	} else if !s.runChecks(r.Context(), res.Checks) {
		res.Status, code = "not_ready", http.StatusServiceUnavailable
	}
	s.mu.Lock()
	infos := append([]readinessInfo(nil), s.infos...)
	s.mu.Unlock()
	for _, in := range infos {
		if res.Info == nil {
			res.Info = map[string]string{}
		}
		res.Info[in.name] = in.fn()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(res)
}

// runChecks runs all checks concurrently, fills results and reports whether
// all passed.
func (s *Server) runChecks(ctx context.Context, results map[string]string) bool {
	s.mu.Lock()
	checks := append([]readinessCheck(nil), s.checks...)
	s.mu.Unlock()

	var mu sync.Mutex
	var wg sync.WaitGroup
	ok := true
	for _, c := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- c.fn(ctx) }()
			var err error
			select {
			case err = <-errc:
			case <-ctx.Done():
				// The check ignored its deadline; report it rather than wait.
				err = fmt.Errorf("no answer within %v", readinessTimeout)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				results[c.name] = err.Error()
				ok = false
				return
			}
			results[c.name] = "ok"
		})
	}
	wg.Wait()
	return ok
}
