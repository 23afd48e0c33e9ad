// Package app is the one bootstrap of every service process: flags and
// environment, logger, token verifier, Redis and etcd clients, the roster
// and rate-limit watchers, the gRPC server and the service's background
// loops, started in that order and stopped in reverse.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/discovery"
	"github.com/xiaoyi-disputes/disputes/platform/etcdclient"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/logging"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	"github.com/xiaoyi-disputes/disputes/platform/replicated"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	"github.com/xiaoyi-disputes/disputes/platform/server"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
)

// Defaults for the shared backends, those `make run` starts.
const (
	DefaultRedisAddr     = "127.0.0.1:6390"
	DefaultEtcdEndpoints = "127.0.0.1:2390"
)

// RetentionEnv names the env var of every service's event retention.
const RetentionEnv = "DISPUTES_EVENT_RETENTION"

// Service describes one service process.
type Service struct {
	// Name is the short name: intake, routing, meeting or archive.
	Name string
	// GRPCAddr and AdminAddr are the default listen addresses.
	GRPCAddr, AdminAddr string
	// Policy is the service's per-RPC access table.
	Policy authn.Policy
	// Setup registers the gRPC services on d.Server.GRPC() and returns the
	// background loops (event consumers, scanners) to run with the process.
	// A loop that returns before shutdown stops the whole process.
	Setup func(ctx context.Context, d *Deps) ([]func(context.Context) error, error)
}

// Config is a service process's configuration.
type Config struct {
	// Server is the gRPC and admin server's part.
	Server server.Config
	// RedisAddr is the service's Redis: one host:port, or a comma-separated
	// list of a Redis Cluster's nodes (docs/ARCHITECTURE.md, "Scale").
	RedisAddr string
	// RedisUser is the Redis ACL user ("default" when empty) and
	// RedisPasswordFile the file holding its password (none when empty).
	RedisUser, RedisPasswordFile string
	// RedisWaitReplicas is how many replicas of its master must hold a
	// write before it is answered, on a Redis Cluster (default 1; 0 answers
	// once the master has it, and a failover may lose it).
	RedisWaitReplicas int
	// EtcdEndpoints is a comma-separated list of etcd client endpoints.
	EtcdEndpoints string
	// EtcdUser and EtcdPasswordFile authenticate to etcd (no
	// authentication when EtcdUser is empty).
	EtcdUser, EtcdPasswordFile string
	// AdvertiseAddr is the gRPC address the process registers in etcd for
	// the gateway to find it (platform/discovery); when empty, its listen
	// address when that names a host.
	AdvertiseAddr string
	// EventRetention is how long the service's event streams keep entries
	// every consumer group has acknowledged (docs/ARCHITECTURE.md,
	// "Retention").
	EventRetention time.Duration
}

// Deps is what Setup gets to build the service from.
type Deps struct {
	// Config is the parsed configuration.
	Config Config
	// Log is the process logger (JSON, personal numbers masked).
	Log *slog.Logger
	// Server is the gRPC server (not yet serving while Setup runs).
	Server *server.Server
	// Redis is the one Redis client of the process: a single server's
	// client for one address, a cluster client for several.
	Redis redis.UniversalClient
	// Etcd is the one etcd client of the process.
	Etcd *clientv3.Client
	// Roster holds the last valid roster of every region.
	Roster *roster.Watcher
	// Calendars holds the last valid business calendar of every region and
	// year; /readyz reports the years missing (regionconfig.CalendarReadiness).
	Calendars *regionconfig.Watcher[*configv1.BusinessCalendar]
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// gcPercent is the garbage collector's target when GOGC is not set. The
// services keep small heaps, and on a two-core host the collector's CPU
// competes with serving; a larger target trades a little memory for it.
const gcPercent = 400

// Main runs the service until SIGINT or SIGTERM and exits with its status.
func Main(s Service) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, s, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", s.Name, err)
		os.Exit(1)
	}
}

// Run parses args, builds the service and serves until ctx is done.
func Run(ctx context.Context, s Service, args []string, stderr io.Writer) error {
	cfg, err := parse(s, args, stderr)
	if err != nil {
		return err
	}
	// The log lines of concurrent RPCs share write calls on stderr; Flush
	// hands the last queued lines to stderr before Run returns and the
	// caller writes there itself.
	out := logging.NewWriter(stderr)
	defer out.Flush()
	log, err := logging.New(out, s.Name, cfg.Server.LogLevel)
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	return serve(ctx, s, cfg, log, nil)
}

// Started is called by RunConfig once the service is built, with its deps;
// tests use it to learn the listen addresses.
type Started func(d *Deps)

// RunConfig serves s with an already parsed configuration; tests use it with
// ports ":0" and the Started callback.
func RunConfig(ctx context.Context, s Service, cfg Config, log *slog.Logger, started Started) error {
	return serve(ctx, s, cfg, log, started)
}

func parse(s Service, args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet(s.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := Config{Server: server.Config{Service: s.Name, GRPCAddr: s.GRPCAddr, AdminAddr: s.AdminAddr}}
	cfg.Server.RegisterFlags(fs)
	redisEnv := server.EnvName(s.Name, "redis-addr")
	etcdEnv := server.EnvName(s.Name, "etcd-endpoints")
	fs.StringVar(&cfg.RedisAddr, "redis-addr",
		server.EnvOr(redisEnv, server.EnvOr("DISPUTES_REDIS_ADDR", DefaultRedisAddr)),
		"Redis address, or comma-separated Redis Cluster nodes (env "+redisEnv+" or DISPUTES_REDIS_ADDR)")
	fs.StringVar(&cfg.EtcdEndpoints, "etcd-endpoints",
		server.EnvOr(etcdEnv, server.EnvOr("DISPUTES_ETCD_ENDPOINTS", DefaultEtcdEndpoints)),
		"comma-separated etcd endpoints (env "+etcdEnv+" or DISPUTES_ETCD_ENDPOINTS)")
	for _, f := range []struct {
		p            *string
		name, shared string
		help         string
	}{
		{&cfg.RedisUser, "redis-user", "DISPUTES_REDIS_USER", "Redis ACL user"},
		{&cfg.RedisPasswordFile, "redis-password-file", "DISPUTES_REDIS_PASSWORD_FILE", "file holding the Redis user's password"},
		{&cfg.EtcdUser, "etcd-user", "DISPUTES_ETCD_USER", "etcd user (none: no authentication)"},
		{&cfg.EtcdPasswordFile, "etcd-password-file", "DISPUTES_ETCD_PASSWORD_FILE", "file holding the etcd user's password"},
	} {
		env := server.EnvName(s.Name, f.name)
		fs.StringVar(f.p, f.name, server.EnvOr(env, server.EnvOr(f.shared, "")), f.help+" (env "+env+" or "+f.shared+")")
	}
	waitEnv := server.EnvName(s.Name, "redis-wait-replicas")
	wait, werr := strconv.Atoi(server.EnvOr(waitEnv, server.EnvOr("DISPUTES_REDIS_WAIT_REPLICAS", "1")))
	if werr != nil {
		return Config{}, fmt.Errorf("%s: %w", waitEnv, werr)
	}
	fs.IntVar(&cfg.RedisWaitReplicas, "redis-wait-replicas", wait,
		"on a Redis Cluster, replicas that must hold a write before it is answered; 0: none (env "+waitEnv+" or DISPUTES_REDIS_WAIT_REPLICAS)")
	advertiseEnv := server.EnvName(s.Name, "advertise-addr")
	fs.StringVar(&cfg.AdvertiseAddr, "advertise-addr", server.EnvOr(advertiseEnv, ""),
		"gRPC address registered in etcd for the gateway to find this replica (default: -grpc-addr when it names a host; env "+advertiseEnv+")")
	retention, rerr := server.EnvDuration(RetentionEnv, events.DefaultRetention)
	fs.DurationVar(&cfg.EventRetention, "event-retention", retention,
		"how long the service's event streams keep acknowledged entries (env "+RetentionEnv+")")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if rerr != nil {
		return Config{}, rerr
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return cfg, cfg.Validate()
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	errs := []error{c.Server.Validate()}
	if c.Server.PublicKeyFile == "" {
		errs = append(errs, fmt.Errorf("public key file is required (-public-key or %s)", server.PublicKeyEnv))
	}
	if c.EventRetention < 0 || (c.EventRetention > 0 && c.EventRetention >= events.MarkerTTL) {
		errs = append(errs, fmt.Errorf("event retention %s must be shorter than the apply-once markers' %s", c.EventRetention, events.MarkerTTL))
	}
	if c.RedisWaitReplicas < 0 {
		errs = append(errs, fmt.Errorf("-redis-wait-replicas %d: must be 0 or more", c.RedisWaitReplicas))
	}
	if len(c.RedisAddrs()) == 0 {
		errs = append(errs, errors.New("redis address is required"))
	}
	if len(c.endpoints()) == 0 {
		errs = append(errs, errors.New("at least one etcd endpoint is required"))
	}
	if c.RedisUser != "" && c.RedisPasswordFile == "" {
		errs = append(errs, fmt.Errorf("redis user %q needs a password file (-redis-password-file)", c.RedisUser))
	}
	if (c.EtcdUser == "") != (c.EtcdPasswordFile == "") {
		errs = append(errs, errors.New("etcd user and password file go together (-etcd-user, -etcd-password-file)"))
	}
	return errors.Join(errs...)
}

func (c Config) endpoints() []string { return splitList(c.EtcdEndpoints) }

// RedisAddrs returns the Redis addresses: one for a single server, several
// for the nodes of a Redis Cluster.
func (c Config) RedisAddrs() []string { return splitList(c.RedisAddr) }

func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// NewRedis returns the client of addrs: a single server's for one address,
// a Redis Cluster's for several (the nodes it starts from; it learns the
// others). Every multi-key command of the platform stays in one hash slot,
// the {region} tag of events.Key, so both serve the same code. On a
// cluster a write returns once a replica of its master holds it, and the
// client reads the slots again after a failure, so a failover loses no
// acknowledged write and moves callers to the promoted replica within a
// second (platform/replicated; docs/ARCHITECTURE.md, "Durability on a
// cluster"); waitReplicas 0 leaves writes unreplicated when answered. reg
// may be nil.
func NewRedis(addrs []string, user, password string, waitReplicas int, log *slog.Logger, reg prometheus.Registerer) redis.UniversalClient {
	if len(addrs) == 1 {
		return redis.NewClient(&redis.Options{
			Addr: addrs[0], Username: user, Password: password,
			DialTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second, PoolSize: 128,
		})
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: addrs, Username: user, Password: password,
		DialTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second, PoolSize: 128,
		ClusterStateReloadInterval: time.Second,
	})
	unreplicated := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "redis_unreplicated_rounds_total",
		Help: "Rounds of writes a Redis master acknowledged with fewer replicas online than writes wait for.",
	}, []string{"addr"})
	if reg != nil {
		reg.MustRegister(unreplicated)
	}
	if waitReplicas > 0 {
		replicated.Install(cc, replicated.Config{Replicas: waitReplicas, Log: log,
			Unreplicated: func(addr string) { unreplicated.WithLabelValues(addr).Inc() }})
	}
	replicated.ReloadOnFailure(cc)
	return cc
}

// register keeps addr in etcd under the service's name while ctx lasts
// (platform/discovery), trying again until etcd takes it, and takes it out
// as soon as ctx ends: the process is then draining, and the gateway stops
// sending it calls. An empty addr registers nothing.
func register(ctx context.Context, etcd *clientv3.Client, service, addr string, log *slog.Logger) {
	if addr == "" {
		log.Info("discovery: no address to register (listening on every interface without -advertise-addr)")
		return
	}
	var reg *discovery.Registration
	for reg == nil {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		r, err := discovery.Register(rctx, etcd, service, addr, log)
		cancel()
		if err == nil {
			reg = r
			break
		}
		log.Warn("discovery: register failed; trying again", "addr", addr, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	log.Info("discovery: registered", "addr", addr)
	<-ctx.Done()
	lctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := reg.Leave(lctx); err != nil {
		log.Warn("discovery: leave failed; the address goes when its lease ends", "addr", addr, "error", err)
	}
}

func serve(ctx context.Context, s Service, cfg Config, log *slog.Logger, started Started) error {
	verifier, err := cfg.Server.Verifier()
	if err != nil {
		return fmt.Errorf("load token keys: %w", err)
	}
	srv, err := server.New(cfg.Server, log, s.Policy, verifier)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}

	redisPassword, err := server.ReadSecretFile(cfg.RedisPasswordFile)
	if err != nil {
		return fmt.Errorf("redis password: %w", err)
	}
	etcdPassword, err := server.ReadSecretFile(cfg.EtcdPasswordFile)
	if err != nil {
		return fmt.Errorf("etcd password: %w", err)
	}
	rdb := NewRedis(cfg.RedisAddrs(), cfg.RedisUser, redisPassword, cfg.RedisWaitReplicas, log, srv.Registry())
	defer rdb.Close()
	etcd, err := etcdclient.New(clientv3.Config{
		Endpoints: cfg.endpoints(), Username: cfg.EtcdUser, Password: etcdPassword,
		DialTimeout: 2 * time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	defer etcd.Close()

	watcher := roster.NewWatcher(etcd, log, srv.Registry())
	srv.AddReadinessCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	srv.AddReadinessInfo("roster", watcher.ReadinessInfo)
	// The regions whose roster is in force, so a caller (a deployment, the
	// end-to-end harness) can wait for its region before the first request.
	srv.AddReadinessInfo("roster_regions", func() string {
		if regions := watcher.Regions(); len(regions) > 0 {
			return strings.Join(regions, " ")
		}
		return "none"
	})
	// Every service takes its per-caller rate limits from the regions'
	// documents in etcd, live; the defaults apply until they are loaded.
	limits := regionconfig.NewWatcher(etcd, regionconfig.RateLimitsSpec, log, srv.Registry())
	srv.SetRateLimits(regionconfig.RateLimitSource(limits))
	srv.AddReadinessInfo("rate_limits", limits.ReadinessInfo)

	calendars := regionconfig.NewWatcher(etcd, regionconfig.CalendarSpec, log, srv.Registry())
	deps := &Deps{Config: cfg, Log: log, Server: srv, Redis: rdb, Etcd: etcd, Roster: watcher, Calendars: calendars, Now: time.Now}
	srv.AddReadinessInfo("calendar_years", regionconfig.CalendarReadiness(calendars, watcher.Regions, func() time.Time { return deps.Now() }))
	loops, err := s.Setup(ctx, deps)
	if err != nil {
		return fmt.Errorf("set up %s: %w", s.Name, err)
	}
	if started != nil {
		started(deps)
	}

	// The roster watcher and the service's loops run beside the server; the
	// first of them to fail stops the process (no limping on half a service).
	loopCtx, cancelLoops := context.WithCancelCause(context.Background())
	defer cancelLoops(nil)
	serveCtx, stopServing := context.WithCancelCause(ctx)
	defer stopServing(nil)
	var wg sync.WaitGroup
	// The address leaves etcd when shutdown starts (serveCtx), or at the
	// latest when the loops stop (serving failed on its own).
	regCtx, regCancel := context.WithCancel(serveCtx)
	defer context.AfterFunc(loopCtx, regCancel)()
	wg.Go(func() { register(regCtx, etcd, s.Name, discovery.Advertised(cfg.AdvertiseAddr, srv.Addr()), log) })
	for _, loop := range append([]func(context.Context) error{watcher.Run, limits.Run, calendars.Run}, loops...) {
		wg.Go(func() {
			err := loop(loopCtx)
			if loopCtx.Err() == nil {
				if err == nil {
					err = errors.New("background loop ended unexpectedly")
				}
				log.Error("background loop failed; stopping", "error", err)
				stopServing(err)
			}
		})
	}
	serveErr := srv.Run(serveCtx)
	cancelLoops(errors.New("shutting down"))
	wg.Wait()
	// A failed loop is the real cause even when it also made serving fail.
	if cause := context.Cause(serveCtx); ctx.Err() == nil && cause != nil {
		return cause
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info("stopped")
	return nil
}
