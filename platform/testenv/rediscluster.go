package testenv

import (
	"context"
	"errors"
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
	// down are the nodes KillMaster killed and RestartNode has not
	// started again; check leaves them out.
	down map[*Redis]bool
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
		if c.down[n] {
			continue
		}
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr, Username: RedisAdminUser, Password: c.adminPassword, MaxRetries: -1})
		info, err := rdb.ClusterInfo(ctx).Result()
		if err == nil && !strings.Contains(info, "cluster_state:ok") {
			err = errors.New("cluster state not ok")
		}
		// Every node that is up knows its replicas as replicas, and each
		// replica's link to its master is up.
		var nodes, repl string
		if err == nil {
			nodes, err = rdb.ClusterNodes(ctx).Result()
		}
		if err == nil {
			repl, err = rdb.Info(ctx, "replication").Result()
		}
		rdb.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", n.Addr, err)
		}
		replicas := 0
		for _, l := range strings.Split(nodes, "\n") {
			if f := strings.Fields(l); len(f) > 2 && strings.Contains(f[2], "slave") && !strings.Contains(f[2], "fail") {
				replicas++
			}
		}
		if want := ClusterReplicas - len(c.down); replicas < want {
			return fmt.Errorf("%s sees %d replicas, want %d", n.Addr, replicas, want)
		}
		if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
			return fmt.Errorf("%s: replication link not up", n.Addr)
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

// Shard returns the node that is master of key's hash slot and its
// replicas, as the cluster sees them now.
func (c *RedisCluster) Shard(t testing.TB, key string) (master *Redis, replicas []*Redis) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: c.liveNode().Addr, Username: RedisAdminUser, Password: c.adminPassword})
	defer rdb.Close()
	slot, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatalf("CLUSTER KEYSLOT %s: %v", key, err)
	}
	nodes, err := rdb.ClusterNodes(ctx).Result()
	if err != nil {
		t.Fatalf("CLUSTER NODES: %v", err)
	}
	byAddr := map[string]*Redis{}
	for _, n := range c.Nodes {
		byAddr[n.Addr] = n
	}
	var masterID string
	type line struct{ id, addr, flags, of string }
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(nodes), "\n") {
		f := strings.Fields(l)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		lines = append(lines, line{f[0], addr, f[2], f[3]})
		if !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
			continue
		}
		for _, r := range f[8:] {
			lo, hi, ok := strings.Cut(r, "-")
			if !ok {
				hi = lo
			}
			a, err1 := strconv.ParseInt(lo, 10, 64)
			b, err2 := strconv.ParseInt(hi, 10, 64)
			if err1 == nil && err2 == nil && a <= slot && slot <= b {
				masterID, master = f[0], byAddr[addr]
			}
		}
	}
	if master == nil {
		t.Fatalf("no master serves slot %d of %s:\n%s", slot, key, nodes)
	}
	for _, l := range lines {
		if l.of == masterID && strings.Contains(l.flags, "slave") && !strings.Contains(l.flags, "fail") {
			replicas = append(replicas, byAddr[l.addr])
		}
	}
	return master, replicas
}

// liveNode returns a node that is not down.
func (c *RedisCluster) liveNode() *Redis {
	for _, n := range c.Nodes {
		if !c.down[n] {
			return n
		}
	}
	return c.Nodes[0]
}

// KillMaster kills (SIGKILL) the master of key's slot and waits until one
// of its replicas has taken its place and the cluster is whole again. It
// returns the killed node, for Restart.
func (c *RedisCluster) KillMaster(t testing.TB, key string) *Redis {
	t.Helper()
	master, replicas := c.Shard(t, key)
	if len(replicas) == 0 {
		t.Fatalf("the master of %s has no replica to take over", key)
	}
	master.Kill()
	if c.down == nil {
		c.down = map[*Redis]bool{}
	}
	c.down[master] = true
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.check()
		if err == nil {
			if m, _ := c.Shard(t, key); m != master {
				return master
			}
			err = fmt.Errorf("%s still serves %s", master.Addr, key)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replica took over from the killed master %s: %v", master.Addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// RestartNode starts a killed node again on its data and nodes.conf; it
// rejoins the cluster (a former master as a replica of its successor).
func (c *RedisCluster) RestartNode(t testing.TB, n *Redis) {
	t.Helper()
	n.Restart(t)
	delete(c.down, n)
	if err := c.waitOK(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}
