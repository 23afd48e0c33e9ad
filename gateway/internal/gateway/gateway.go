// Package gateway serves the platform over HTTP/JSON: the grpc-gateway
// mapping of every service's RPCs, the OpenAPI document, the printable
// paper (/print/) and the staff console. The caller's Authorization header
// is forwarded to the services, which verify it; with sign-in on
// (WithSignIn) the console's sessions are the one state it holds, and a
// session's token is put on the requests that come with its cookie.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/protobuf/encoding/protojson"

	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/proto/openapi"

	"github.com/xiaoyi-disputes/disputes/gateway/internal/lookup"
	"github.com/xiaoyi-disputes/disputes/gateway/internal/printing"
	"github.com/xiaoyi-disputes/disputes/gateway/internal/signin"
	"github.com/xiaoyi-disputes/disputes/platform/discovery"
	"github.com/xiaoyi-disputes/disputes/platform/mtls"
)

// Backends are the gRPC addresses of the services and how to reach them.
type Backends struct {
	// Each is one host:port, or a comma-separated list of the addresses of
	// a service's replicas, called in turn (round robin) among those that
	// accept connections.
	Intake, Routing, Meeting, Archive string
	// TLS is the gateway's client certificate and key and the CA the
	// services' certificates chain to. Each service's certificate must
	// name it ("intake", ...), whatever address it is dialled at.
	TLS mtls.Files
	// InsecurePlaintext dials the services without TLS, for development
	// only; TLS must then be empty.
	InsecurePlaintext bool
	// Discovery, when set, finds every service's replicas in etcd
	// (platform/discovery) instead of the addresses above.
	Discovery resolver.Builder
}

func (b Backends) transport(service string) (grpc.DialOption, error) {
	if b.InsecurePlaintext {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	tc, err := mtls.ClientConfig(b.TLS, service)
	if err != nil {
		return nil, err
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(tc)), nil
}

func (b Backends) validate() error {
	set := b.TLS.Cert != "" || b.TLS.Key != "" || b.TLS.CA != ""
	switch {
	case b.InsecurePlaintext && set:
		return errors.New("backends: -insecure-plaintext and -tls-* files given together: choose one")
	case !b.InsecurePlaintext && !b.TLS.Set():
		return fmt.Errorf("backends: tls: missing %v (-tls-cert, -tls-key, -tls-ca); plaintext to the services needs the development flag -insecure-plaintext", b.TLS.Missing())
	}
	return nil
}

// roundRobin is the service config of a service with several replicas:
// each call goes to the next replica whose connection is ready, so one that
// stops or drains takes no more calls.
const roundRobin = `{"loadBalancingConfig":[{"round_robin":{}}]}`

// dialTarget returns the gRPC target of addr: itself for one address; for
// a comma-separated list, a resolver of its own that holds the list, with
// round robin among them.
func dialTarget(service, addr string) (string, []grpc.DialOption) {
	var addrs []resolver.Address
	for _, a := range strings.Split(addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, resolver.Address{Addr: a})
		}
	}
	if len(addrs) < 2 {
		return strings.TrimSpace(addr), nil
	}
	r := manual.NewBuilderWithScheme("disputes-" + service)
	r.InitialState(resolver.State{Addresses: addrs})
	return r.Scheme() + ":///" + service, []grpc.DialOption{grpc.WithResolvers(r), grpc.WithDefaultServiceConfig(roundRobin)}
}

// Gateway is the HTTP face of the platform.
type Gateway struct {
	conns    map[string]*grpc.ClientConn
	handler  http.Handler
	admin    http.Handler
	registry *prometheus.Registry
	stopping chan struct{}
	stopOnce sync.Once
	// sessions, when the console's sessions are in a shared store, is
	// checked by /readyz: a gateway that cannot read them serves no one
	// signed in.
	sessions interface{ Ping(context.Context) error }
}

// forwardedHeader allows only Authorization through to the services: no
// Grpc-Metadata-* or other header can carry a forged identity.
func forwardedHeader(key string) (string, bool) {
	if textproto.CanonicalMIMEHeaderKey(key) == "Authorization" {
		return "authorization", true
	}
	return "", false
}

// Option configures the gateway.
type Option func(*options)

type options struct {
	signIn *signin.Config
}

// WithSignIn makes the gateway sign staff in to the console and hold their
// sessions (package signin): the /auth/ routes, and the session's token on
// the /v1/ and /print/ requests that come with its cookie.
func WithSignIn(cfg signin.Config) Option {
	return func(o *options) { o.signIn = &cfg }
}

// New dials the backends (lazily: a service that is down answers
// UNAVAILABLE per request) and builds the HTTP handler. console may be nil.
func New(ctx context.Context, b Backends, console http.Handler, log *slog.Logger, opts ...Option) (*Gateway, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	g := &Gateway{conns: map[string]*grpc.ClientConn{}, registry: prometheus.NewRegistry(), stopping: make(chan struct{})}
	g.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_http_requests_total", Help: "HTTP requests by method pattern and status code.",
	}, []string{"pattern", "code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gateway_http_request_duration_seconds", Help: "HTTP request latency by method pattern.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"pattern"})
	g.registry.MustRegister(requests, latency)

	mux := runtime.NewServeMux(
		runtime.WithIncomingHeaderMatcher(forwardedHeader),
		runtime.WithErrorHandler(errorHandler(log)),
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{
			Marshaler: &runtime.JSONPb{
				MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: false},
				UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
			},
		}),
	)
	dial := func(name, addr string) (*grpc.ClientConn, error) {
		creds, err := b.transport(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		target, opts := dialTarget(name, addr)
		if b.Discovery != nil {
			target, opts = discovery.Target(b.Discovery, name)
		}
		conn, err := grpc.NewClient(target, append(opts, creds)...)
		if err != nil {
			return nil, fmt.Errorf("dial %s at %s: %w", name, addr, err)
		}
		g.conns[name] = conn
		return conn, nil
	}
	type reg struct {
		name, addr string
		fns        []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
	}
	for _, r := range []reg{
		{"intake", b.Intake, []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{intakev1.RegisterIntakeServiceHandler}},
		{"routing", b.Routing, []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{routingv1.RegisterRoutingServiceHandler}},
		{"meeting", b.Meeting, []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
			meetingv1.RegisterMeetingServiceHandler, rosterv1.RegisterRosterServiceHandler}},
		{"archive", b.Archive, []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{archivev1.RegisterArchiveServiceHandler}},
	} {
		conn, err := dial(r.name, r.addr)
		if err != nil {
			g.Close()
			return nil, err
		}
		for _, fn := range r.fns {
			if err := fn(ctx, mux, conn); err != nil {
				g.Close()
				return nil, fmt.Errorf("register %s handlers: %w", r.name, err)
			}
		}
	}

	root := http.NewServeMux()
	session := func(h http.Handler) http.Handler { return h }
	if o.signIn != nil {
		cfg := *o.signIn
		if cfg.Log == nil {
			cfg.Log = log
		}
		if p, ok := cfg.Store.(interface{ Ping(context.Context) error }); ok {
			g.sessions = p
		}
		svc, err := signin.New(cfg, rosterv1.NewRosterServiceClient(g.conns["meeting"]))
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("sign-in: %w", err)
		}
		auth := http.NewServeMux()
		svc.Register(auth)
		root.Handle("/auth/", instrument(auth, requests, latency))
		session = svc.Wrap
	}
	root.Handle("/v1/", instrument(session(mux), requests, latency))
	// Printable paper, read through the same backend connections with the
	// caller's Authorization header.
	paper := http.NewServeMux()
	prints := printing.New(intakev1.NewIntakeServiceClient(g.conns["intake"]), routingv1.NewRoutingServiceClient(g.conns["routing"]),
		rosterv1.NewRosterServiceClient(g.conns["meeting"]), log)
	prints.Register(paper)
	prints.RegisterMinutes(paper, meetingv1.NewMeetingServiceClient(g.conns["meeting"]))
	root.Handle("/print/", instrument(session(paper), requests, latency))
	// The claimant's lookup (no login): number and lookup code, state and dates only.
	lk := http.NewServeMux()
	lookup.New(intakev1.NewIntakeServiceClient(g.conns["intake"]), log).Register(lk)
	root.Handle("/lookup", instrument(lk, requests, latency))
	// The sealed logs, read-only, for standard tlog clients (no token).
	root.Handle("GET /tlog/", instrument(tlogHandler(archivev1.NewArchiveServiceClient(g.conns["archive"]), log), requests, latency))
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapi.Document)
	})
	if console != nil {
		root.Handle("/", console)
	}
	g.handler = guard(root)

	// Probes and metrics are for the operators' network, on the admin
	// listener like the services', never on the public port.
	admin := http.NewServeMux()
	admin.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	admin.HandleFunc("GET /readyz", g.readyz)
	admin.Handle("GET /metrics", promhttp.HandlerFor(g.registry, promhttp.HandlerOpts{Registry: g.registry}))
	g.admin = admin
	return g, nil
}

// instrument counts and times requests by their route pattern.
func instrument(next http.Handler, requests *prometheus.CounterVec, latency *prometheus.HistogramVec) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		pattern := "other"
		if p, ok := runtime.HTTPPathPattern(r.Context()); ok {
			pattern = r.Method + " " + p
		} else if r.Pattern != "" {
			pattern = r.Pattern // a net/http route, e.g. a print page
		}
		requests.WithLabelValues(pattern, fmt.Sprint(rec.code)).Inc()
		latency.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// Handler returns the public HTTP handler: the API, OpenAPI, print and
// console, behind the request limits (guard).
func (g *Gateway) Handler() http.Handler { return g.handler }

// AdminHandler returns the admin HTTP handler: /healthz, /readyz, /metrics.
func (g *Gateway) AdminHandler() http.Handler { return g.admin }

// Stopping makes /readyz answer 503 from now on (first shutdown step).
func (g *Gateway) Stopping() { g.stopOnce.Do(func() { close(g.stopping) }) }

// readyz reports each backend's gRPC health and, when shared, the session
// store's; 503 when one is not serving or shutdown has started.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	res := map[string]string{}
	ok := true
	select {
	case <-g.stopping:
		ok = false
		res["gateway"] = "shutting down"
	default:
	}
	checks := map[string]func(context.Context) error{}
	for name, conn := range g.conns {
		checks[name] = func(ctx context.Context) error {
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				err = errors.New(strings.ToLower(resp.GetStatus().String()))
			}
			return err
		}
	}
	if g.sessions != nil {
		checks["sessions"] = g.sessions.Ping
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), time.Second)
			defer cancel()
			st := "ok"
			if err := check(ctx); err != nil {
				st = err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			res[name] = st
			if st != "ok" {
				ok = false
			}
		})
	}
	wg.Wait()
	w.Header().Set("Content-Type", "application/json")
	status := "ready"
	if !ok {
		status = "not_ready"
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(map[string]any{"status": status, "checks": res})
}

// Close closes the backend connections.
func (g *Gateway) Close() {
	for _, c := range g.conns {
		c.Close()
	}
}
