package server

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/mtls"
)

// Config is the part of every service's configuration that the shared
// bootstrap needs. Services embed or fill it and add their own fields.
type Config struct {
	// Service is the short service name ("intake"); it prefixes env vars and
	// labels logs.
	Service string
	// GRPCAddr and AdminAddr are listen addresses; ":0" picks a free port.
	GRPCAddr, AdminAddr string
	// PublicKeyFile is the key set tokens are verified with: a PEM file of
	// one or several Ed25519 public keys, or a directory of *.pub.pem files
	// (authn.LoadKeySet). A private key there is refused at start.
	PublicKeyFile string
	// TokenAudience is the aud a token must name (authn.DefaultAudience when
	// empty); TokenMaxLifetime bounds a token's exp - iat
	// (authn.DefaultMaxLifetime when zero).
	TokenAudience    string
	TokenMaxLifetime time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// ShutdownTimeout bounds the graceful stop; DrainDelay is how long the
	// server keeps serving after readiness turns failing, so load balancers
	// notice before connections close.
	ShutdownTimeout, DrainDelay time.Duration
	// Pprof serves Go profiles under /debug/pprof/ on the admin port.
	Pprof bool
	// Limits bound what one client may make the gRPC server hold; zero
	// fields take the Default* limits below.
	Limits Limits
	// TLS names the server's certificate and key and the CA whose client
	// certificates it accepts (mutual TLS, TLS 1.3). All three are required
	// unless InsecurePlaintext is set.
	TLS mtls.Files
	// InsecurePlaintext serves gRPC without TLS, for development only; it
	// is a flag, never read from the environment, so it shows on the
	// command line of every process that uses it.
	InsecurePlaintext bool
	// Reflection registers the gRPC reflection service (grpcurl list):
	// useful in development, a map of the API for anyone otherwise.
	Reflection bool

	envErrs []error
}

// Defaults used by RegisterFlags for fields left zero.
const (
	DefaultShutdownTimeout = 10 * time.Second
	DefaultDrainDelay      = time.Second
	DefaultLogLevel        = "info"
)

// Limits bound the gRPC server's resources per client. They are the first
// defence against a misbehaving or hostile caller: a huge message, thousands
// of streams on one connection, or a flood of HTTP/2 pings.
type Limits struct {
	// MaxRecvMsgBytes is the largest request message accepted; a larger one
	// is refused with RESOURCE_EXHAUSTED before it reaches a handler.
	MaxRecvMsgBytes int
	// MaxConcurrentStreams is the most calls one connection may have open
	// at once; further calls wait on the client for a free slot.
	MaxConcurrentStreams uint32
	// MaxHeaderListBytes bounds the metadata (headers) of one call.
	MaxHeaderListBytes uint32
	// KeepaliveMinTime is the shortest interval between a client's pings
	// the server tolerates; a client pinging more often is sent GOAWAY
	// ("too_many_pings") and its connection closed. Pings on a connection
	// without calls are allowed (clients keep idle connections warm), but
	// only at this pace.
	KeepaliveMinTime time.Duration
	// KeepaliveTime is how long a connection may be quiet before the server
	// pings the client, and KeepaliveTimeout how long it waits for the
	// answer before closing the connection: dead peers are found in
	// KeepaliveTime+KeepaliveTimeout instead of holding resources for hours.
	KeepaliveTime, KeepaliveTimeout time.Duration
	// MaxConnectionIdle closes a connection with no call for this long.
	MaxConnectionIdle time.Duration
}

// Default limits. A registration form is a few kilobytes and the largest
// request (a whole roster) a few tens, so 1 MiB leaves room and matches the
// gateway's body limit. 1024 streams per connection covers the gateway,
// which multiplexes every HTTP request to a service over one connection.
const (
	DefaultMaxRecvMsgBytes      = 1 << 20
	DefaultMaxConcurrentStreams = 1024
	DefaultMaxHeaderListBytes   = 64 << 10
	DefaultKeepaliveMinTime     = 10 * time.Second
	DefaultKeepaliveTime        = time.Minute
	DefaultKeepaliveTimeout     = 20 * time.Second
	DefaultMaxConnectionIdle    = 15 * time.Minute
)

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if l.MaxRecvMsgBytes == 0 {
		l.MaxRecvMsgBytes = DefaultMaxRecvMsgBytes
	}
	if l.MaxConcurrentStreams == 0 {
		l.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if l.MaxHeaderListBytes == 0 {
		l.MaxHeaderListBytes = DefaultMaxHeaderListBytes
	}
	def(&l.KeepaliveMinTime, DefaultKeepaliveMinTime)
	def(&l.KeepaliveTime, DefaultKeepaliveTime)
	def(&l.KeepaliveTimeout, DefaultKeepaliveTimeout)
	def(&l.MaxConnectionIdle, DefaultMaxConnectionIdle)
	return l
}

func (l Limits) validate() error {
	var errs []error
	if l.MaxRecvMsgBytes < 0 {
		errs = append(errs, fmt.Errorf("max receive message size %d: must not be negative", l.MaxRecvMsgBytes))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"keepalive min time", l.KeepaliveMinTime}, {"keepalive time", l.KeepaliveTime},
		{"keepalive timeout", l.KeepaliveTimeout}, {"max connection idle", l.MaxConnectionIdle},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: must not be negative", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

// PublicKeyEnv names the env var holding the token public key file, shared
// by all services; TokenAudienceEnv and TokenMaxLifetimeEnv, also shared,
// hold the token audience and maximum lifetime.
const (
	PublicKeyEnv        = "DISPUTES_PUBLIC_KEY"
	TokenAudienceEnv    = "DISPUTES_TOKEN_AUDIENCE"
	TokenMaxLifetimeEnv = "DISPUTES_TOKEN_MAX_LIFETIME"
)

// Verifier loads the token key set named by PublicKeyFile and returns a
// verifier with the configured audience and maximum lifetime.
func (c *Config) Verifier() (*authn.Verifier, error) {
	if c.PublicKeyFile == "" {
		return nil, fmt.Errorf("no token public key (-public-key or %s)", PublicKeyEnv)
	}
	keys, err := authn.LoadKeySet(c.PublicKeyFile)
	if err != nil {
		return nil, err
	}
	return authn.NewKeySetVerifier(keys, authn.VerifyOptions{Audience: c.TokenAudience, MaxLifetime: c.TokenMaxLifetime}), nil
}

var serviceRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Validate reports every problem with c at once.
func (c *Config) Validate() error {
	errs := append([]error(nil), c.envErrs...)
	if !serviceRE.MatchString(c.Service) {
		errs = append(errs, fmt.Errorf("service %q: must be lower-case letters, digits and dashes", c.Service))
	}
	if c.GRPCAddr == "" {
		errs = append(errs, errors.New("grpc address is required"))
	}
	if c.AdminAddr == "" {
		errs = append(errs, errors.New("admin address is required"))
	}
	if c.LogLevel != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
			errs = append(errs, fmt.Errorf("log level: %w", err))
		}
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout %v: must be positive", c.ShutdownTimeout))
	}
	if c.DrainDelay < 0 {
		errs = append(errs, fmt.Errorf("drain delay %v: must not be negative", c.DrainDelay))
	}
	if c.TokenMaxLifetime < 0 {
		errs = append(errs, fmt.Errorf("token max lifetime %v: must not be negative", c.TokenMaxLifetime))
	}
	if err := c.Limits.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.validateTLS(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid %s config: %w", c.Service, err)
	}
	return nil
}

// TLS env vars shared by all services; <SERVICE>_TLS_CERT and the like
// take precedence, as each service has a certificate of its own.
const (
	TLSCertEnv = "DISPUTES_TLS_CERT"
	TLSKeyEnv  = "DISPUTES_TLS_KEY"
	TLSCAEnv   = "DISPUTES_TLS_CA"
)

func (c *Config) validateTLS() error {
	tlsSet := c.TLS.Cert != "" || c.TLS.Key != "" || c.TLS.CA != ""
	switch {
	case c.InsecurePlaintext && tlsSet:
		return errors.New("-insecure-plaintext and -tls-* files given together: choose one")
	case c.InsecurePlaintext:
		return nil
	case !c.TLS.Set():
		return fmt.Errorf("tls: missing %v (-tls-cert, -tls-key, -tls-ca or %s, %s, %s); plaintext gRPC needs the development flag -insecure-plaintext",
			c.TLS.Missing(), TLSCertEnv, TLSKeyEnv, TLSCAEnv)
	}
	return nil
}

// RegisterFlags registers c's fields on fs. Each flag defaults from the env
// var <SERVICE>_<FLAG> (INTAKE_GRPC_ADDR for -grpc-addr of "intake"), then
// from the value already in c; the key file comes from DISPUTES_PUBLIC_KEY.
// Set c.Service before calling. A malformed env value is reported by Validate.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.DrainDelay == 0 {
		c.DrainDelay = DefaultDrainDelay
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	env := func(name string) string { return EnvName(c.Service, name) }
	fs.StringVar(&c.GRPCAddr, "grpc-addr", EnvOr(env("grpc-addr"), c.GRPCAddr), "gRPC listen address (env "+env("grpc-addr")+")")
	fs.StringVar(&c.AdminAddr, "admin-addr", EnvOr(env("admin-addr"), c.AdminAddr), "admin HTTP listen address for /metrics, /healthz, /readyz (env "+env("admin-addr")+")")
	fs.StringVar(&c.PublicKeyFile, "public-key", EnvOr(PublicKeyEnv, c.PublicKeyFile), "PEM Ed25519 public key that verifies tokens (env "+PublicKeyEnv+")")
	fs.StringVar(&c.TokenAudience, "token-audience", EnvOr(TokenAudienceEnv, cmpOr(c.TokenAudience, authn.DefaultAudience)), "aud every token must name (env "+TokenAudienceEnv+")")
	fs.StringVar(&c.LogLevel, "log-level", EnvOr(env("log-level"), c.LogLevel), "debug, info, warn or error (env "+env("log-level")+")")
	for _, f := range []struct {
		p         *string
		name, env string
		help      string
	}{
		{&c.TLS.Cert, "tls-cert", TLSCertEnv, "PEM certificate of the gRPC server, naming the service"},
		{&c.TLS.Key, "tls-key", TLSKeyEnv, "PEM private key of -tls-cert"},
		{&c.TLS.CA, "tls-ca", TLSCAEnv, "PEM CA certificate that client certificates must chain to"},
	} {
		fs.StringVar(f.p, f.name, EnvOr(env(f.name), EnvOr(f.env, *f.p)), f.help+" (env "+env(f.name)+" or "+f.env+")")
	}
	fs.BoolVar(&c.InsecurePlaintext, "insecure-plaintext", c.InsecurePlaintext, "development only: serve gRPC without TLS (flag only, no env)")
	fs.BoolVar(&c.Reflection, "reflection", EnvOr(env("reflection"), "") == "true" || c.Reflection, "serve gRPC reflection, for grpcurl (env "+env("reflection")+"=true)")
	fs.BoolVar(&c.Pprof, "pprof", EnvOr(env("pprof"), "") == "true", "serve Go profiles under /debug/pprof/ on the admin port (env "+env("pprof")+"=true)")
	for _, d := range []struct {
		p    *time.Duration
		name string
		help string
	}{
		{&c.ShutdownTimeout, "shutdown-timeout", "longest graceful stop before in-flight RPCs are cut"},
		{&c.DrainDelay, "drain-delay", "time to keep serving after readiness fails on shutdown"},
	} {
		v, err := EnvDuration(env(d.name), *d.p)
		if err != nil {
			c.envErrs = append(c.envErrs, err)
		}
		fs.DurationVar(d.p, d.name, v, d.help+" (env "+env(d.name)+")")
	}
	if c.TokenMaxLifetime == 0 {
		c.TokenMaxLifetime = authn.DefaultMaxLifetime
	}
	life, err := EnvDuration(TokenMaxLifetimeEnv, c.TokenMaxLifetime)
	if err != nil {
		c.envErrs = append(c.envErrs, err)
	}
	fs.DurationVar(&c.TokenMaxLifetime, "token-max-lifetime", life, "longest token lifetime (exp - iat) accepted (env "+TokenMaxLifetimeEnv+")")
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// EnvName returns the env var for a service's flag: ("intake", "grpc-addr")
// gives "INTAKE_GRPC_ADDR".
func EnvName(service, flagName string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(service + "_" + flagName))
}

// EnvOr returns the value of env var key, or def when it is unset or empty.
func EnvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// ReadSecretFile returns the contents of a password file without the
// trailing newline, or "" when path is empty. Secrets come from files, not
// flags or env values, so they do not show in process listings.
func ReadSecretFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// EnvDuration returns env var key parsed as a time.Duration ("1500ms"), def
// when unset or empty, and an error naming the variable when malformed.
func EnvDuration(key string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return def, fmt.Errorf("env %s: %w", key, err)
	}
	return d, nil
}
