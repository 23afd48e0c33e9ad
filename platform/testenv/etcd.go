package testenv

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Etcd is a single-member etcd process with fast elections, for tests.
type Etcd struct {
	// Endpoint is the client URL ("http://127.0.0.1:PORT").
	Endpoint string

	bin, dir, peerURL string
	proc              *process
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
	}
	if err := e.start(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Etcd) start() error {
	log := logPath(e.dir, "etcd")
	p, err := startProcess(e.bin, log,
		"--name", "default",
		"--data-dir", e.dir+"/data",
		"--listen-client-urls", e.Endpoint,
		"--advertise-client-urls", e.Endpoint,
		"--listen-peer-urls", e.peerURL,
		"--initial-advertise-peer-urls", e.peerURL,
		"--initial-cluster", "default="+e.peerURL,
		"--heartbeat-interval", "10",
		"--election-timeout", "100",
		"--logger", "zap",
		"--log-level", "warn")
	if err != nil {
		return err
	}
	e.proc = p
	// The client is made only once the port accepts: a gRPC client that
	// dials too early backs off for a second before trying again.
	var c *clientv3.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	host := strings.TrimPrefix(e.Endpoint, "http://")
	return p.waitReady("etcd", log, 15*time.Second, func() error {
		if c == nil {
			conn, err := net.DialTimeout("tcp", host, 200*time.Millisecond)
			if err != nil {
				return fmt.Errorf("dial: %w", err)
			}
			conn.Close()
			if c, err = e.newClient(); err != nil {
				return err
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := c.Get(ctx, "testenv-ready")
		return err
	})
}

func (e *Etcd) newClient() (*clientv3.Client, error) {
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{e.Endpoint},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	return c, nil
}

// Client returns a client for the server, closed when t ends.
func (e *Etcd) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	c, err := e.newClient()
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
