package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/xiaoyi-disputes/disputes/platform/etcdclient"
	"github.com/xiaoyi-disputes/disputes/platform/mtls"
	"github.com/xiaoyi-disputes/disputes/platform/server"
)

// Certificates and credentials of the development setup (`make run`), and
// the env vars the services read them from too.
const (
	DefaultCertDir      = "var/certs"
	TLSCertEnv          = server.TLSCertEnv
	TLSKeyEnv           = server.TLSKeyEnv
	TLSCAEnv            = server.TLSCAEnv
	RedisUserEnv        = "DISPUTES_REDIS_USER"
	RedisPasswordEnv    = "DISPUTES_REDIS_PASSWORD_FILE"
	EtcdUserEnv         = "DISPUTES_ETCD_USER"
	EtcdPasswordFileEnv = "DISPUTES_ETCD_PASSWORD_FILE"
)

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// TLSFlags is how disputectl reaches a service over mutual TLS.
type TLSFlags struct {
	Files mtls.Files
	// Plaintext is the development flag for services run with
	// -insecure-plaintext.
	Plaintext bool
}

func (c *TLSFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	def := mtls.DirFiles(DefaultCertDir, mtls.ClientName)
	fs.StringVar(&c.Files.Cert, "tls-cert", envOr(getenv, TLSCertEnv, def.Cert), "client certificate (env "+TLSCertEnv+")")
	fs.StringVar(&c.Files.Key, "tls-key", envOr(getenv, TLSKeyEnv, def.Key), "client certificate's key (env "+TLSKeyEnv+")")
	fs.StringVar(&c.Files.CA, "tls-ca", envOr(getenv, TLSCAEnv, def.CA), "CA of the services' certificates (env "+TLSCAEnv+")")
	fs.BoolVar(&c.Plaintext, "insecure-plaintext", false, "development only: call a service run with -insecure-plaintext")
}

// dialOption returns the transport to the service named service.
func (c *TLSFlags) dialOption(service string) (grpc.DialOption, error) {
	if c.Plaintext {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	tc, err := mtls.ClientConfig(c.Files, service)
	if err != nil {
		return nil, fmt.Errorf("%w (make them with `disputectl certs init`)", err)
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(tc)), nil
}

// EtcdAuth is the etcd user and password file of commands that write to
// etcd; an empty User means no authentication.
type EtcdAuth struct {
	User, PasswordFile string
}

func (a *EtcdAuth) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&a.User, "etcd-user", getenv(EtcdUserEnv), "etcd user (env "+EtcdUserEnv+")")
	fs.StringVar(&a.PasswordFile, "etcd-password-file", getenv(EtcdPasswordFileEnv), "file holding the etcd user's password (env "+EtcdPasswordFileEnv+")")
}

func (a EtcdAuth) dial(endpoint string) (*clientv3.Client, error) {
	if (a.User == "") != (a.PasswordFile == "") {
		return nil, errors.New("--etcd-user and --etcd-password-file go together")
	}
	pw, err := server.ReadSecretFile(a.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("etcd password: %w", err)
	}
	cli, err := etcdclient.New(clientv3.Config{Endpoints: []string{endpoint}, Username: a.User, Password: pw,
		DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", endpoint, err)
	}
	return cli, nil
}

// redisOptions returns the options of a Redis client for c.
func (c *EventsConn) redisOptions() (*redis.Options, error) {
	pw, err := server.ReadSecretFile(c.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("redis password: %w", err)
	}
	return &redis.Options{Addr: c.Redis, Username: c.User, Password: pw, DialTimeout: 3 * time.Second, MaxRetries: 1}, nil
}

// CertsInitCmd makes the local CA and the services' certificates.
type CertsInitCmd struct {
	Dir   string
	Hosts []string
}

func parseCerts(args []string) (*CertsInitCmd, error) {
	if len(args) == 0 || args[0] != "init" {
		return nil, errors.New("certs: want init")
	}
	c := &CertsInitCmd{}
	fs := newFlags("certs init")
	fs.StringVar(&c.Dir, "dir", DefaultCertDir, "directory of the CA and certificates")
	hosts := fs.String("hosts", "", "comma-separated extra DNS names or IP addresses for every certificate")
	if err := parseFlags(fs, args[1:]); err != nil {
		return nil, err
	}
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.Hosts = append(c.Hosts, h)
		}
	}
	return c, nil
}

func (c *CertsInitCmd) run(_ context.Context, stdout io.Writer) error {
	wrote, err := mtls.InitDir(c.Dir, c.Hosts)
	for _, f := range wrote {
		fmt.Fprintln(stdout, "wrote", f)
	}
	if err != nil {
		return err
	}
	if len(wrote) == 0 {
		fmt.Fprintln(stdout, "certificates in", c.Dir, "are in place")
	}
	return nil
}
