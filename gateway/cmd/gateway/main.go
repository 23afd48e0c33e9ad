// Command gateway serves the platform over HTTP/JSON, with the OpenAPI
// document and the staff console (工作台).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/xiaoyi-disputes/disputes/gateway/internal/console"
	"github.com/xiaoyi-disputes/disputes/gateway/internal/gateway"
	"github.com/xiaoyi-disputes/disputes/gateway/internal/signin"
	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/discovery"
	"github.com/xiaoyi-disputes/disputes/platform/etcdclient"
	"github.com/xiaoyi-disputes/disputes/platform/logging"
	"github.com/xiaoyi-disputes/disputes/platform/mtls"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := realMain(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	env := func(flag, def string) string { return server.EnvOr(server.EnvName("gateway", flag), def) }
	httpAddr := fs.String("http-addr", env("http-addr", ":8080"), "HTTP listen address (env GATEWAY_HTTP_ADDR)")
	adminAddr := fs.String("admin-addr", env("admin-addr", ":9200"), "admin HTTP listen address for /metrics, /healthz, /readyz (env GATEWAY_ADMIN_ADDR)")
	var b gateway.Backends
	fs.StringVar(&b.Intake, "intake-addr", env("intake-addr", "127.0.0.1:9101"), "intake gRPC address, or its replicas' comma-separated (env GATEWAY_INTAKE_ADDR)")
	fs.StringVar(&b.Routing, "routing-addr", env("routing-addr", "127.0.0.1:9102"), "routing gRPC address, or its replicas' comma-separated (env GATEWAY_ROUTING_ADDR)")
	fs.StringVar(&b.Meeting, "meeting-addr", env("meeting-addr", "127.0.0.1:9103"), "meeting gRPC address, or its replicas' comma-separated (env GATEWAY_MEETING_ADDR)")
	fs.StringVar(&b.Archive, "archive-addr", env("archive-addr", "127.0.0.1:9104"), "archive gRPC address, or its replicas' comma-separated (env GATEWAY_ARCHIVE_ADDR)")
	fs.StringVar(&b.TLS.Cert, "tls-cert", env("tls-cert", ""), "PEM client certificate the gateway presents to the services (env GATEWAY_TLS_CERT)")
	fs.StringVar(&b.TLS.Key, "tls-key", env("tls-key", ""), "PEM private key of -tls-cert (env GATEWAY_TLS_KEY)")
	fs.StringVar(&b.TLS.CA, "tls-ca", env("tls-ca", server.EnvOr(server.TLSCAEnv, "")), "PEM CA certificate the services' certificates chain to (env GATEWAY_TLS_CA or "+server.TLSCAEnv+")")
	fs.BoolVar(&b.InsecurePlaintext, "insecure-plaintext", false, "development only: call the services without TLS (flag only, no env)")
	useDiscovery := fs.Bool("discovery", server.EnvOr("GATEWAY_DISCOVERY", "") == "true",
		"find the services' replicas in etcd instead of -intake-addr ... (env GATEWAY_DISCOVERY=true)")
	etcdEndpoints := fs.String("etcd-endpoints", env("etcd-endpoints", server.EnvOr("DISPUTES_ETCD_ENDPOINTS", "127.0.0.1:2390")),
		"comma-separated etcd endpoints, with -discovery (env GATEWAY_ETCD_ENDPOINTS or DISPUTES_ETCD_ENDPOINTS)")
	etcdUser := fs.String("etcd-user", env("etcd-user", server.EnvOr("DISPUTES_ETCD_USER", "")),
		"etcd user, with -discovery (env GATEWAY_ETCD_USER or DISPUTES_ETCD_USER)")
	etcdPasswordFile := fs.String("etcd-password-file", env("etcd-password-file", server.EnvOr("DISPUTES_ETCD_PASSWORD_FILE", "")),
		"file holding the etcd user's password (env GATEWAY_ETCD_PASSWORD_FILE or DISPUTES_ETCD_PASSWORD_FILE)")
	httpsCert := fs.String("https-cert", env("https-cert", ""), "PEM certificate to serve HTTPS with on -http-addr (env GATEWAY_HTTPS_CERT); plain HTTP without it")
	httpsKey := fs.String("https-key", env("https-key", ""), "PEM private key of -https-cert (env GATEWAY_HTTPS_KEY)")
	// Console sign-in (docs/SECURITY.md, "Console sign-in and sessions").
	signingKey := fs.String("signing-key", env("signing-key", ""), "Ed25519 private key (PEM) the gateway mints session tokens with; console sign-in is off without it (env GATEWAY_SIGNING_KEY)")
	signinRegion := fs.String("signin-region", env("signin-region", ""), "region the console signs staff in to (env GATEWAY_SIGNIN_REGION)")
	tokenAudience := fs.String("token-audience", server.EnvOr(server.TokenAudienceEnv, authn.DefaultAudience), "aud of the session tokens (env "+server.TokenAudienceEnv+")")
	sessionTTL := fs.Duration("session-ttl", 8*time.Hour, "longest a console session lives (at most 12h)")
	sessionIdle := fs.Duration("session-idle", 30*time.Minute, "a console session not used for this long ends")
	devSignIn := fs.Bool("dev-signin", false, "development only: sign in as any roster staff member without a password (flag only, no env)")
	secureCookie := fs.Bool("secure-cookie", false, "mark the session cookie Secure on plain HTTP too, behind a TLS-terminating proxy")
	redisAddr := fs.String("redis-addr", env("redis-addr", server.EnvOr("DISPUTES_REDIS_ADDR", "")),
		"Redis (one address) or Redis Cluster (comma-separated nodes) holding the console's sessions, so every gateway serves them; this gateway's memory without it (env GATEWAY_REDIS_ADDR or DISPUTES_REDIS_ADDR)")
	redisUser := fs.String("redis-user", env("redis-user", server.EnvOr("DISPUTES_REDIS_USER", "")), "Redis ACL user (env GATEWAY_REDIS_USER or DISPUTES_REDIS_USER)")
	redisPasswordFile := fs.String("redis-password-file", env("redis-password-file", server.EnvOr("DISPUTES_REDIS_PASSWORD_FILE", "")),
		"file holding the Redis user's password (env GATEWAY_REDIS_PASSWORD_FILE or DISPUTES_REDIS_PASSWORD_FILE)")
	var oidc signin.OIDCConfig
	fs.StringVar(&oidc.Issuer, "oidc-issuer", env("oidc-issuer", ""), "OpenID Connect issuer URL of the region's identity provider (env GATEWAY_OIDC_ISSUER)")
	fs.StringVar(&oidc.ClientID, "oidc-client-id", env("oidc-client-id", ""), "the gateway's client id at the provider (env GATEWAY_OIDC_CLIENT_ID)")
	oidcSecretFile := fs.String("oidc-client-secret-file", env("oidc-client-secret-file", ""), "file holding the client secret (env GATEWAY_OIDC_CLIENT_SECRET_FILE)")
	fs.StringVar(&oidc.RedirectURL, "oidc-redirect-url", env("oidc-redirect-url", ""), "https://<host>/auth/oidc/callback as registered at the provider (env GATEWAY_OIDC_REDIRECT_URL)")
	fs.StringVar(&oidc.StaffClaim, "oidc-staff-claim", env("oidc-staff-claim", "sub"), "ID token claim holding the roster staff id (env GATEWAY_OIDC_STAFF_CLAIM)")
	logLevel := fs.String("log-level", env("log-level", "info"), "debug, info, warn or error (env GATEWAY_LOG_LEVEL)")
	drain := fs.Duration("drain-delay", time.Second, "time to keep serving after readiness fails on shutdown")
	timeout := fs.Duration("shutdown-timeout", 10*time.Second, "longest graceful stop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*httpsCert == "") != (*httpsKey == "") {
		return errors.New("-https-cert and -https-key go together")
	}
	// The access lines of concurrent requests share write calls on stderr;
	// Flush hands the last queued lines over before main writes there.
	out := logging.NewWriter(os.Stderr)
	defer out.Flush()
	log, err := logging.New(out, "gateway", *logLevel)
	if err != nil {
		return err
	}
	if *useDiscovery {
		cli, err := discoveryClient(*etcdEndpoints, *etcdUser, *etcdPasswordFile)
		if err != nil {
			return err
		}
		defer cli.Close()
		if b.Discovery, err = discovery.Resolver(cli); err != nil {
			return err
		}
		log.Info("finding the services' replicas in etcd", "prefix", discovery.Prefix)
	}
	var opts []gateway.Option
	if *signingKey != "" {
		key, err := authn.LoadPrivateKey(*signingKey)
		if err != nil {
			return fmt.Errorf("-signing-key: %w", err)
		}
		if !names.IsRegion(*signinRegion) {
			return errors.New("-signin-region: a 6-digit region code is required with -signing-key")
		}
		cfg := signin.Config{Region: *signinRegion, Signer: authn.Signer{Key: key, Audience: *tokenAudience},
			SessionTTL: *sessionTTL, IdleTimeout: *sessionIdle, Dev: *devSignIn, SecureCookie: *secureCookie, Log: log}
		if *redisAddr != "" {
			password, err := server.ReadSecretFile(*redisPasswordFile)
			if err != nil {
				return fmt.Errorf("-redis-password-file: %w", err)
			}
			rdb := app.NewRedis(app.Config{RedisAddr: *redisAddr}.RedisAddrs(), *redisUser, password, 1, log, nil)
			defer rdb.Close()
			cfg.Store = signin.NewRedisStore(rdb)
			log.Info("console sessions in Redis, shared by every gateway", "redis", *redisAddr)
		} else {
			log.Warn("console sessions in this gateway's memory: they end with it and serve no other gateway (-redis-addr)")
		}
		if oidc.Issuer != "" {
			if *oidcSecretFile != "" {
				b, err := os.ReadFile(*oidcSecretFile)
				if err != nil {
					return fmt.Errorf("-oidc-client-secret-file: %w", err)
				}
				oidc.ClientSecret = strings.TrimSpace(string(b))
			}
			cfg.OIDC = &oidc
		}
		if !cfg.Dev && cfg.OIDC == nil {
			return errors.New("-signing-key given but no way to sign in: set -oidc-issuer (or -dev-signin in development)")
		}
		opts = append(opts, gateway.WithSignIn(cfg))
		if cfg.Dev {
			log.Warn("development sign-in is on (-dev-signin): anyone reaching the console may act as any staff member")
		}
	} else if *devSignIn || oidc.Issuer != "" {
		return errors.New("console sign-in needs -signing-key")
	}
	gw, err := gateway.New(ctx, b, console.Handler(), log, opts...)
	if err != nil {
		return err
	}
	defer gw.Close()

	// Both listeners open before either serves, so a port clash fails at start.
	lis, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *httpAddr, err)
	}
	adminLis, err := net.Listen("tcp", *adminAddr)
	if err != nil {
		lis.Close()
		return fmt.Errorf("listen admin %s: %w", *adminAddr, err)
	}
	srv := &http.Server{
		Handler:           gw.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	scheme := "http"
	if *httpsCert != "" {
		tc, err := mtls.HTTPSConfig(*httpsCert, *httpsKey)
		if err != nil {
			lis.Close()
			adminLis.Close()
			return fmt.Errorf("https: %w", err)
		}
		srv.TLSConfig = tc
		scheme = "https"
	}
	admin := &http.Server{Handler: gw.AdminHandler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 2)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(lis, "", "") // the key pair comes from TLSConfig
			return
		}
		errc <- srv.Serve(lis)
	}()
	go func() { errc <- admin.Serve(adminLis) }()
	log.Info("serving", "scheme", scheme, "http_addr", lis.Addr().String(), "backends_tls", !b.InsecurePlaintext, "admin_addr", adminLis.Addr().String(), "backends", fmt.Sprintf("%+v", b))

	if b.InsecurePlaintext {
		log.Warn("calling the services in plaintext (-insecure-plaintext): development only")
	}

	select {
	case err := <-errc:
		srv.Close()
		admin.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutdown step 1/3: readiness failing")
	gw.Stopping()
	log.Info("shutdown step 2/3: draining", "drain_delay", drain.String())
	time.Sleep(*drain)
	log.Info("shutdown step 3/3: graceful stop", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		srv.Close()
	}
	if aerr := admin.Shutdown(sctx); aerr != nil {
		admin.Close()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// discoveryClient returns the etcd client the gateway resolves the
// services' replicas through.
func discoveryClient(endpoints, user, passwordFile string) (*clientv3.Client, error) {
	password, err := server.ReadSecretFile(passwordFile)
	if err != nil {
		return nil, fmt.Errorf("etcd password: %w", err)
	}
	var eps []string
	for _, e := range strings.Split(endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return nil, errors.New("-discovery needs -etcd-endpoints")
	}
	if (user == "") != (password == "") {
		return nil, errors.New("-etcd-user and -etcd-password-file go together")
	}
	cli, err := etcdclient.New(clientv3.Config{Endpoints: eps, Username: user, Password: password,
		DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	return cli, nil
}
