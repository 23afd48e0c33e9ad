// Package server is the process bootstrap every service shares: listeners,
// a gRPC server with recovery, logging, metrics, authn, rate-limit and
// validation interceptors, health and reflection, an admin HTTP server, and
// a numbered graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"buf.build/go/protovalidate"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/mtls"
	"github.com/xiaoyi-disputes/disputes/platform/ratelimit"
)

// Server is one service's gRPC server and admin HTTP server. Register
// services on GRPC() after New and before Run.
type Server struct {
	cfg      Config
	log      *slog.Logger
	policy   authn.Policy
	verifier *authn.Verifier
	validate protovalidate.Validator

	grpc     *grpc.Server
	health   *health.Server
	registry *prometheus.Registry
	rpcTotal *prometheus.CounterVec
	rpcTime  *prometheus.HistogramVec

	limiter     *ratelimit.Limiter
	rateLimited *prometheus.CounterVec

	lis, adminLis net.Listener
	admin         *http.Server

	mu       sync.Mutex
	checks   []readinessCheck
	infos    []readinessInfo
	stopping atomic.Bool
	ran      atomic.Bool
}

type readinessInfo struct {
	name string
	fn   func() string
}

// streamWorkers is the size of the gRPC server's worker pool.
const streamWorkers = 256

type readinessCheck struct {
	name string
	fn   func(ctx context.Context) error
}

// New validates cfg and opens both listeners at once, so Addr and AdminAddr
// report real ports even for ":0" and a port clash fails at start. When
// verifier is nil it is built from cfg (Config.Verifier).
func New(cfg Config, log *slog.Logger, policy authn.Policy, verifier *authn.Verifier) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		return nil, errors.New("new server: logger is required")
	}
	if verifier == nil {
		v, err := cfg.Verifier()
		if err != nil {
			return nil, fmt.Errorf("new %s server: %w", cfg.Service, err)
		}
		verifier = v
	}
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("new %s server: validator: %w", cfg.Service, err)
	}

	s := &Server{
		cfg:      cfg,
		log:      log,
		policy:   policy,
		verifier: verifier,
		validate: validator,
		health:   health.NewServer(),
		registry: prometheus.NewRegistry(),
		rpcTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_rpcs_total",
			Help: "RPCs completed, by full method and status code.",
		}, []string{"method", "code"}),
		rpcTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "grpc_server_rpc_duration_seconds",
			Help:    "RPC latency, by full method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method"}),
		limiter: ratelimit.New(nil, nil),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_rate_limited_total",
			Help: "Calls refused RESOURCE_EXHAUSTED by a rate limit, by full method and the bucket that refused (staff, department).",
		}, []string{"method", "reason"}),
	}
	s.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.rpcTotal, s.rpcTime, s.rateLimited,
	)

	s.lis, err = net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("listen grpc %s: %w", cfg.GRPCAddr, err)
	}
	s.adminLis, err = net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		s.lis.Close()
		return nil, fmt.Errorf("listen admin %s: %w", cfg.AdminAddr, err)
	}

	creds := insecure.NewCredentials()
	if !cfg.InsecurePlaintext {
		tc, err := mtls.ServerConfig(cfg.TLS)
		if err != nil {
			return nil, fmt.Errorf("new %s server: %w", cfg.Service, err)
		}
		creds = credentials.NewTLS(tc)
	}

	lim := cfg.Limits.withDefaults()
	s.grpc = grpc.NewServer(
		grpc.Creds(creds),
		grpc.MaxRecvMsgSize(lim.MaxRecvMsgBytes),
		grpc.MaxConcurrentStreams(lim.MaxConcurrentStreams),
		grpc.MaxHeaderListSize(lim.MaxHeaderListBytes),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime: lim.KeepaliveMinTime, PermitWithoutStream: true,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time: lim.KeepaliveTime, Timeout: lim.KeepaliveTimeout, MaxConnectionIdle: lim.MaxConnectionIdle,
		}),
		// A pool of long-lived workers serves the calls: their stacks have
		// already grown to what the interceptor chain and validation need,
		// where a fresh goroutine per call would grow (copy) its stack every
		// time. Calls beyond the pool still get their own goroutine.
		grpc.NumStreamWorkers(streamWorkers),
		grpc.ChainUnaryInterceptor(s.unaryRecover, s.unaryLog, s.unaryMetrics, unaryStatus, s.unaryAuthn, s.unaryRateLimit, s.unaryValidate),
		grpc.ChainStreamInterceptor(s.streamRecover, s.streamLog, s.streamMetrics, streamStatus, s.streamAuthn, s.streamRateLimit, s.streamValidate),
	)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	if cfg.Reflection {
		reflection.Register(s.grpc)
	}

	mux := http.NewServeMux()
	s.routes(mux)
	s.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// GRPC returns the gRPC server to register services on.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// SetRateLimits makes the per-caller rate limits come from src (the
// region's rate-limits document in etcd, regionconfig.RateLimitSource);
// until then, and with src nil, ratelimit.DefaultLimits apply. It may be
// called while serving.
func (s *Server) SetRateLimits(src ratelimit.Source) { s.limiter.SetSource(src) }

// Health returns the gRPC health server, for services that report their
// own status.
func (s *Server) Health() *health.Server { return s.health }

// Registry returns the server's private Prometheus registry (Go and process
// collectors plus RPC metrics); services register their own metrics on it.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Addr returns the gRPC listener's address.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// AdminAddr returns the admin HTTP listener's address.
func (s *Server) AdminAddr() string { return s.adminLis.Addr().String() }

// AddReadinessCheck adds a dependency check run by /readyz (Redis PING,
// etcd snapshot loaded). Each run gets a 1 s deadline.
func (s *Server) AddReadinessCheck(name string, fn func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, readinessCheck{name: name, fn: fn})
}

// AddReadinessInfo adds an entry shown under "info" in /readyz that never
// fails readiness: a degraded but serving dependency (a roster served from
// its last valid snapshot while etcd is away) should be visible, not take
// the instance out of rotation. fn must be fast and not block.
func (s *Server) AddReadinessInfo(name string, fn func() string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.infos = append(s.infos, readinessInfo{name: name, fn: fn})
}

// SetServing marks service ("disputes.intake.v1.IntakeService") SERVING in
// gRPC health. Run does this for every registered service.
func (s *Server) SetServing(service string) {
	s.health.SetServingStatus(service, healthpb.HealthCheckResponse_SERVING)
}

// Run serves until ctx is done, then shuts down in numbered steps: fail
// readiness and health, drain, graceful stop, forced stop after
// ShutdownTimeout, close the admin server. It returns the first serving
// error, or nil after a clean shutdown. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return errors.New("server: Run called twice")
	}
	for name := range s.grpc.GetServiceInfo() {
		s.SetServing(name)
	}
	errc := make(chan error, 2)
	go func() {
		if err := s.grpc.Serve(s.lis); err != nil {
			errc <- fmt.Errorf("serve grpc: %w", err)
			return
		}
		errc <- nil
	}()
	go func() {
		if err := s.admin.Serve(s.adminLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve admin: %w", err)
			return
		}
		errc <- nil
	}()
	s.log.Info("serving", "grpc_addr", s.Addr(), "admin_addr", s.AdminAddr(),
		"tls", !s.cfg.InsecurePlaintext, "reflection", s.cfg.Reflection)
	if s.cfg.InsecurePlaintext {
		s.log.Warn("gRPC is served in plaintext (-insecure-plaintext): development only")
	}

	var serveErr error
	pending := 2
	select {
	case <-ctx.Done():
		s.log.Info("shutdown requested", "cause", context.Cause(ctx).Error())
	case serveErr = <-errc:
		pending--
		s.log.Error("serving failed, shutting down", "error", serveErr)
	}
	s.shutdown()
	for ; pending > 0; pending-- {
		if err := <-errc; err != nil && serveErr == nil {
			serveErr = err
		}
	}
	return serveErr
}

func (s *Server) shutdown() {
	s.log.Info("shutdown step 1/4: readiness failing, health NOT_SERVING")
	s.stopping.Store(true)
	s.health.Shutdown()

	s.log.Info("shutdown step 2/4: draining", "drain_delay", s.cfg.DrainDelay.String())
	time.Sleep(s.cfg.DrainDelay)

	s.log.Info("shutdown step 3/4: graceful stop", "timeout", s.cfg.ShutdownTimeout.String())
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	timer := time.NewTimer(s.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
		s.log.Info("shutdown step 4/4: graceful stop finished, no force needed")
	case <-timer.C:
		s.log.Warn("shutdown step 4/4: graceful stop timed out, forcing stop")
		s.grpc.Stop()
		<-done
	}

	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.admin.Shutdown(ctx); err != nil {
		s.log.Warn("admin server shutdown", "error", err)
		s.admin.Close()
	}
	s.log.Info("shutdown complete")
}
