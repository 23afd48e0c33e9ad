package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of three masters and three replicas,
// each a redis-server on free 127.0.0.1 ports with the same users as the
// single Redis (the platform's user, RedisACLRules, and the admin user).
// The replicas replicate as the admin user. Node timeouts are short, so a
// killed master's replica takes over within seconds.
type RedisCluster struct {
	// Addrs are the nodes' host:port, masters first.
	Addrs []string
	// User and Password authenticate as the platform's user; PasswordFile
	// holds Password, for processes given -redis-password-file.
	User, Password, PasswordFile string

	adminPassword string
	Nodes         []*Redis
}

// ClusterMasters and ClusterReplicas are the shape of the test cluster.
const (
	ClusterMasters  = 3
	ClusterReplicas = 3
)

// StartRedisCluster starts a Redis Cluster for t in a temp dir and stops
// it in t.Cleanup. It fails t when the cluster cannot be formed.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	c, err := NewRedisCluster(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// NewRedisCluster starts the nodes with their data and logs under dir and
// forms the cluster with `redis-cli --cluster create`. Call Close when done.
func NewRedisCluster(dir string) (*RedisCluster, error) {
	cli, err := lookPath("redis-cli", "redis-tools")
	if err != nil {
		return nil, err
	}
	n := ClusterMasters + ClusterReplicas
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	c := &RedisCluster{User: RedisUser, Password: randomSecret(), adminPassword: randomSecret()}
	for i := range n {
		ndir := filepath.Join(dir, "node"+strconv.Itoa(i))
		if err := os.MkdirAll(ndir, 0o755); err != nil {
			c.Close()
			return nil, err
		}
		node, err := newRedis(ndir, ports[i], c.Password, c.adminPassword, []string{
			"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(ports[n+i]),
			"--cluster-config-file", filepath.Join(ndir, "nodes.conf"),
			"--cluster-node-timeout", "2000",
			"--masteruser", RedisAdminUser, "--masterauth", c.adminPassword,
		})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("cluster node %d: %w", i, err)
		}
		c.Nodes = append(c.Nodes, node)
		c.Addrs = append(c.Addrs, node.Addr)
	}
	c.PasswordFile = c.Nodes[0].PasswordFile
	args := append([]string{"--user", RedisAdminUser, "--pass", c.adminPassword, "--no-auth-warning", "--cluster", "create"},
		c.Addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(ClusterReplicas/ClusterMasters), "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	if err := c.waitOK(30 * time.Second); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// waitOK waits until every node reports cluster_state:ok, every master
// answers and a client of the cluster can write.
func (c *RedisCluster) waitOK(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		last = c.check()
		if last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("redis cluster not ready after %s: %w", timeout, last)
}

func (c *RedisCluster) check() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, n := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr, Username: RedisAdminUser, Password: c.adminPassword, MaxRetries: -1})
		info, err := rdb.ClusterInfo(ctx).Result()
		rdb.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", n.Addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster state not ok", n.Addr)
		}
	}
	rdb := redis.NewClusterClient(c.adminOptions())
	defer rdb.Close()
	if err := rdb.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		return m.Ping(ctx).Err()
	}); err != nil {
		return err
	}
	return rdb.Set(ctx, "testenv-ready", "1", time.Second).Err()
}

// Addr returns the nodes' addresses comma-separated, as the services'
// -redis-addr takes them.
func (c *RedisCluster) Addr() string { return strings.Join(c.Addrs, ",") }

// Options returns cluster client options authenticating as the platform's
// user.
func (c *RedisCluster) Options() *redis.ClusterOptions {
	return &redis.ClusterOptions{Addrs: c.Addrs, Username: c.User, Password: c.Password}
}

func (c *RedisCluster) adminOptions() *redis.ClusterOptions {
	return &redis.ClusterOptions{Addrs: c.Addrs, Username: RedisAdminUser, Password: c.adminPassword}
}

// Client returns a cluster client authenticated as the platform's user,
// closed when t ends.
func (c *RedisCluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	rdb := redis.NewClusterClient(c.Options())
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// AdminClient returns a cluster client that may run every command, for
// test fixtures (FLUSHALL on every master: ForEachMaster).
func (c *RedisCluster) AdminClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	rdb := redis.NewClusterClient(c.adminOptions())
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Close kills every node. Their data dirs are left to the caller.
func (c *RedisCluster) Close() {
	for _, n := range c.Nodes {
		n.Close()
	}
}

// ForEachRedis runs f once against a single Redis ("single") and once
// against a Redis Cluster ("cluster"), each new, with a client of the
// platform's user: the same code must serve both, and a command whose keys
// span hash slots fails the cluster run (CROSSSLOT).
func ForEachRedis(t *testing.T, f func(t *testing.T, rdb redis.UniversalClient)) {
	t.Helper()
	t.Run("single", func(t *testing.T) { f(t, StartRedis(t).Client(t)) })
	t.Run("cluster", func(t *testing.T) { f(t, StartRedisCluster(t).Client(t)) })
}
