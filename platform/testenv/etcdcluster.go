package testenv

import (
	"fmt"
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

// EtcdCluster is a three-member etcd cluster on free 127.0.0.1 ports, with
// the same authentication as the single Etcd: a root user, and User with
// the role EtcdUser (read and write under EtcdPrefix).
type EtcdCluster struct {
	// Members are the three members; Members[i].Endpoint is each one's.
	Members []*Etcd
	// User and Password authenticate as the platform's user; PasswordFile
	// holds Password, for processes given -etcd-password-file.
	User, Password, PasswordFile string
	// RootPassword is the root user's.
	RootPassword string
}

// EtcdClusterSize is the number of members of the test cluster.
const EtcdClusterSize = 3

// StartEtcdCluster starts a three-member cluster for t in a temp dir and
// kills it in t.Cleanup. It fails t when the cluster cannot start.
func StartEtcdCluster(t testing.TB) *EtcdCluster {
	t.Helper()
	c, err := NewEtcdCluster(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// NewEtcdCluster starts the members with their data and logs under dir,
// waits until they serve and turns authentication on. Call Close when done.
func NewEtcdCluster(dir string) (*EtcdCluster, error) {
	bin, err := lookPath("etcd", "etcd-server")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2 * EtcdClusterSize)
	if err != nil {
		return nil, err
	}
	c := &EtcdCluster{User: EtcdUser, Password: randomSecret(), RootPassword: randomSecret()}
	var initial []string
	for i := range EtcdClusterSize {
		mdir := filepath.Join(dir, "member"+strconv.Itoa(i))
		if err := os.MkdirAll(mdir, 0o755); err != nil {
			return nil, err
		}
		m := &Etcd{
			bin: bin, dir: mdir, name: "m" + strconv.Itoa(i),
			Endpoint: "http://127.0.0.1:" + strconv.Itoa(ports[2*i]),
			peerURL:  "http://127.0.0.1:" + strconv.Itoa(ports[2*i+1]),
			User:     c.User, Password: c.Password, RootPassword: c.RootPassword,
			PasswordFile: filepath.Join(mdir, "etcd-password"),
		}
		if err := os.WriteFile(m.PasswordFile, []byte(c.Password+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("etcd password file: %w", err)
		}
		initial = append(initial, m.name+"="+m.peerURL)
		c.Members = append(c.Members, m)
	}
	c.PasswordFile = c.Members[0].PasswordFile
	for _, m := range c.Members {
		m.initialCluster = strings.Join(initial, ",")
		if err := m.launch(); err != nil {
			c.Close()
			return nil, err
		}
	}
	for _, m := range c.Members {
		if err := m.waitReady(30 * time.Second); err != nil {
			c.Close()
			return nil, err
		}
	}
	// Authentication is the cluster's: turned on through one member, it
	// holds on all.
	if err := c.Members[0].enableAuth(); err != nil {
		c.Close()
		return nil, err
	}
	for _, m := range c.Members {
		m.authOn = true
	}
	return c, nil
}

// Endpoints returns the members' client URLs.
func (c *EtcdCluster) Endpoints() []string {
	eps := make([]string, len(c.Members))
	for i, m := range c.Members {
		eps[i] = m.Endpoint
	}
	return eps
}

// Endpoint returns the members' client URLs comma-separated, as the
// services' -etcd-endpoints takes them.
func (c *EtcdCluster) Endpoint() string { return strings.Join(c.Endpoints(), ",") }

// Client returns a client of every member authenticated as the platform's
// user, closed when t ends.
func (c *EtcdCluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	return c.clientAs(t, c.User, c.Password)
}

// RootClient returns a client of every member authenticated as root.
func (c *EtcdCluster) RootClient(t testing.TB) *clientv3.Client {
	t.Helper()
	return c.clientAs(t, "root", c.RootPassword)
}

func (c *EtcdCluster) clientAs(t testing.TB, user, password string) *clientv3.Client {
	t.Helper()
	cli, err := etcdclient.New(clientv3.Config{
		Endpoints: c.Endpoints(), Username: user, Password: password,
		DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Kill ends member i with SIGKILL, as a crashed host would.
func (c *EtcdCluster) Kill(i int) { c.Members[i].proc.stop(syscall.SIGKILL, 5*time.Second) }

// Restart starts a killed member i again on its ports and data dir; it
// rejoins the cluster.
func (c *EtcdCluster) Restart(t testing.TB, i int) {
	t.Helper()
	m := c.Members[i]
	if err := m.launch(); err != nil {
		t.Fatalf("restart etcd member %d: %v", i, err)
	}
	if err := m.waitReady(30 * time.Second); err != nil {
		t.Fatalf("restart etcd member %d: %v", i, err)
	}
}

// Close kills every member.
func (c *EtcdCluster) Close() {
	for _, m := range c.Members {
		if m.proc != nil {
			m.Close()
		}
	}
}
