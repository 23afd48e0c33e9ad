package testenv

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRedisSurvivesKill(t *testing.T) {
	r := StartRedis(t)
	c := r.Client(t)
	tests := []struct{ key, val string }{{"dispute:1", "registered"}, {"dispute:2", "routed"}}
	for _, tt := range tests {
		if err := c.Set(ctx(t), tt.key, tt.val, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r.Kill()
	if err := r.ping(); err == nil {
		t.Fatal("PING after Kill succeeded")
	}
	r.Restart(t)
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := c.Get(ctx(t), tt.key).Result()
			if err != nil || got != tt.val {
				t.Fatalf("GET %s after restart = %q, %v; want %q", tt.key, got, err, tt.val)
			}
		})
	}
}

func TestEtcdStopStart(t *testing.T) {
	e := StartEtcd(t)
	c := e.Client(t)
	if _, err := c.Put(ctx(t), "/disputes/110105/roster", "v1"); err != nil {
		t.Fatal(err)
	}
	e.Stop()
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Get(short, "/disputes/110105/roster"); err == nil {
		t.Fatal("Get after Stop succeeded")
	}
	e.Start(t)
	resp, err := c.Get(ctx(t), "/disputes/110105/roster")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v1" {
		t.Fatalf("after restart got %v", resp.Kvs)
	}
}

func TestMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	tests := []struct {
		name  string
		start func() error
		want  string
	}{
		{"redis", func() error { _, err := NewRedis(t.TempDir()); return err }, "redis-server not found on PATH: install it with `apt-get install redis-server`"},
		{"etcd", func() error { _, err := NewEtcd(t.TempDir()); return err }, "etcd not found on PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.start(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestCredentialsRequired(t *testing.T) {
	r := StartRedis(t)
	anon := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { anon.Close() })
	if err := anon.Set(ctx(t), "k", "v", 0).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("SET without credentials: %v, want NOAUTH", err)
	}
	wrong := redis.NewClient(&redis.Options{Addr: r.Addr, Username: r.User, Password: "guess"})
	t.Cleanup(func() { wrong.Close() })
	if err := wrong.Ping(ctx(t)).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("PING with a wrong password: %v, want WRONGPASS", err)
	}
	c := r.Client(t)
	if err := c.Set(ctx(t), "k", "v", 0).Err(); err != nil {
		t.Errorf("SET as %s: %v", r.User, err)
	}
	if err := c.FlushAll(ctx(t)).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("FLUSHALL as %s: %v, want NOPERM", r.User, err)
	}
	if err := r.AdminClient(t).FlushAll(ctx(t)).Err(); err != nil {
		t.Errorf("FLUSHALL as admin: %v", err)
	}

	e := StartEtcd(t)
	noAuth, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { noAuth.Close() })
	if _, err := noAuth.Put(ctx(t), "/disputes/x", "v"); err == nil {
		t.Error("etcd Put without credentials succeeded")
	}
	ec := e.Client(t)
	if _, err := ec.Put(ctx(t), "/disputes/x", "v"); err != nil {
		t.Errorf("Put under /disputes/ as %s: %v", e.User, err)
	}
	if _, err := ec.Put(ctx(t), "/elsewhere", "v"); err == nil {
		t.Errorf("Put outside /disputes/ as %s succeeded", e.User)
	}
}

func TestRedisClusterServesThePlatformUser(t *testing.T) {
	c := StartRedisCluster(t)
	rdb := c.Client(t)
	ctx := context.Background()
	// Keys of one hash tag go together; keys of two tags in one command are
	// refused, as they would be in production.
	if err := rdb.MSet(ctx, "a:{r1}:x", "1", "a:{r1}:y", "2").Err(); err != nil {
		t.Fatalf("mset in one slot: %v", err)
	}
	err := rdb.Eval(ctx, "return redis.call('MGET', KEYS[1], KEYS[2])", []string{"a:{r1}:x", "a:{r2}:x"}).Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("script over two slots: got %v, want CROSSSLOT", err)
	}
	// The platform's user may not flush; the admin may.
	if err := rdb.FlushAll(ctx).Err(); err == nil {
		t.Fatal("platform user could FLUSHALL")
	}
	if err := c.AdminClient(t).ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		return m.FlushAll(ctx).Err()
	}); err != nil {
		t.Fatalf("admin flush: %v", err)
	}
	if n, err := rdb.Exists(ctx, "a:{r1}:x").Result(); err != nil || n != 0 {
		t.Fatalf("after flush: %d, %v", n, err)
	}
}
