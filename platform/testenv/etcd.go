package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/xiaoyi-disputes/disputes/platform/etcdclient"
)

// EtcdUser is the platform's etcd user and role: read and write under
// EtcdPrefix, nothing else. `make run` (scripts/run.sh) grants the same.
const (
	EtcdUser   = "disputes"
	EtcdPrefix = "/disputes/"
)

// Etcd is a single-member etcd process with fast elections, for tests. Its
// authentication is on: a root user, and User with the role EtcdUser
// (read and write under EtcdPrefix).
type Etcd struct {
	// Endpoint is the client URL ("http://127.0.0.1:PORT").
	Endpoint string
	// User and Password authenticate as the platform's user; PasswordFile
	// holds Password, for processes given -etcd-password-file.
	User, Password, PasswordFile string
	// RootPassword is the root user's, for fixtures that write elsewhere.
	RootPassword string

	bin, dir, peerURL string
	// name and initialCluster are the member's in a cluster ("default"
	// and only itself when empty); state is its --initial-cluster-state.
	name, initialCluster string
	authOn               bool
	proc                 *process
}

// StartEtcd starts etcd for t in a temp dir and kills it in t.Cleanup. It
// fails t when the server cannot start.
func StartEtcd(t testing.TB) *Etcd {
	t.Helper()
	e, err := NewEtcd(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// NewEtcd starts etcd with its data and log in dir, for TestMain and
// benchmarks. Call Close when done.
func NewEtcd(dir string) (*Etcd, error) {
	bin, err := lookPath("etcd", "etcd-server")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	e := &Etcd{
		bin:      bin,
		dir:      dir,
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		peerURL:  "http://127.0.0.1:" + strconv.Itoa(ports[1]),
		User:     EtcdUser, Password: randomSecret(), RootPassword: randomSecret(),
		PasswordFile: filepath.Join(dir, "etcd-password"),
	}
	if err := os.WriteFile(e.PasswordFile, []byte(e.Password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("etcd password file: %w", err)
	}
	if err := e.start(); err != nil {
		return nil, err
	}
	if err := e.enableAuth(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// enableAuth adds the root user and the platform's user and role, then
// turns authentication on; it stays on across Stop and Start.
func (e *Etcd) enableAuth() error {
	c, err := e.newClient("", "")
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	steps := []struct {
		what string
		do   func() error
	}{
		{"add role root", func() error { _, err := c.RoleAdd(ctx, "root"); return err }},
		{"add user root", func() error { _, err := c.UserAdd(ctx, "root", e.RootPassword); return err }},
		{"grant root", func() error { _, err := c.UserGrantRole(ctx, "root", "root"); return err }},
		{"add role " + EtcdUser, func() error { _, err := c.RoleAdd(ctx, EtcdUser); return err }},
		{"grant readwrite " + EtcdPrefix, func() error {
			_, err := c.RoleGrantPermission(ctx, EtcdUser, EtcdPrefix, clientv3.GetPrefixRangeEnd(EtcdPrefix),
				clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		}},
		{"add user " + EtcdUser, func() error { _, err := c.UserAdd(ctx, EtcdUser, e.Password); return err }},
		{"grant " + EtcdUser, func() error { _, err := c.UserGrantRole(ctx, EtcdUser, EtcdUser); return err }},
		{"enable auth", func() error { _, err := c.AuthEnable(ctx); return err }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("etcd auth: %s: %w", s.what, err)
		}
	}
	e.authOn = true
	return nil
}

func (e *Etcd) start() error {
	if err := e.launch(); err != nil {
		return err
	}
	return e.waitReady(15 * time.Second)
}

// launch starts the process without waiting for it to serve: the members
// of a cluster serve only once a majority of them runs.
func (e *Etcd) launch() error {
	name, initial := e.name, e.initialCluster
	// A single member elects itself fast; a cluster's members on a loaded
	// host need slack before they call an election.
	heartbeat, election := "100", "1000"
	if name == "" {
		name, initial = "default", "default="+e.peerURL
		heartbeat, election = "10", "100"
	}
	p, err := startProcess(e.bin, logPath(e.dir, "etcd"),
		"--name", name,
		"--data-dir", e.dir+"/data",
		"--listen-client-urls", e.Endpoint,
		"--advertise-client-urls", e.Endpoint,
		"--listen-peer-urls", e.peerURL,
		"--initial-advertise-peer-urls", e.peerURL,
		"--initial-cluster", initial,
		"--heartbeat-interval", heartbeat,
		"--election-timeout", election,
		"--logger", "zap",
		"--log-level", "warn")
	if err != nil {
		return err
	}
	e.proc = p
	return nil
}

// waitReady waits until the member answers a read.
func (e *Etcd) waitReady(timeout time.Duration) error {
	log, p := logPath(e.dir, "etcd"), e.proc
	// The client is made only once the port accepts: a gRPC client that
	// dials too early backs off for a second before trying again.
	var c *clientv3.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	host := strings.TrimPrefix(e.Endpoint, "http://")
	return p.waitReady("etcd", log, timeout, func() error {
		if c == nil {
			conn, err := net.DialTimeout("tcp", host, 200*time.Millisecond)
			if err != nil {
				return fmt.Errorf("dial: %w", err)
			}
			conn.Close()
			user, pw := "", ""
			if e.authOn {
				user, pw = "root", e.RootPassword
			}
			if c, err = e.newClient(user, pw); err != nil {
				return err
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := c.Get(ctx, "testenv-ready")
		return err
	})
}

func (e *Etcd) newClient(user, password string) (*clientv3.Client, error) {
	c, err := etcdclient.New(clientv3.Config{
		Endpoints:   []string{e.Endpoint},
		Username:    user,
		Password:    password,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	return c, nil
}

// Client returns a client authenticated as the platform's user (read and
// write under EtcdPrefix), closed when t ends.
func (e *Etcd) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	return e.clientAs(t, e.User, e.Password)
}

// RootClient returns a client authenticated as root, closed when t ends.
func (e *Etcd) RootClient(t testing.TB) *clientv3.Client {
	t.Helper()
	return e.clientAs(t, "root", e.RootPassword)
}

func (e *Etcd) clientAs(t testing.TB, user, password string) *clientv3.Client {
	t.Helper()
	c, err := e.newClient(user, password)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Stop ends the server with SIGTERM and waits for it to exit.
func (e *Etcd) Stop() { e.proc.stop(syscall.SIGTERM, 10*time.Second) }

// Start starts a stopped server again on the same ports and data dir.
func (e *Etcd) Start(t testing.TB) {
	t.Helper()
	e.Stop()
	if err := e.start(); err != nil {
		t.Fatalf("start etcd: %v", err)
	}
}

// Close kills the server. Its data dir is left to the caller.
func (e *Etcd) Close() { e.proc.stop(syscall.SIGKILL, 5*time.Second) }

// LogFile returns the path of the server's output log.
func (e *Etcd) LogFile() string { return logPath(e.dir, "etcd") }
