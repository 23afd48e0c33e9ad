package replicated

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

func TestHashTag(t *testing.T) {
	for key, want := range map[string]string{
		"routing:{r1}:tracker:x": "r1", "plain": "plain", "{}x": "{}x", "a{b": "a{b", "{a}{b}": "a",
	} {
		if got := hashTag(key); got != want {
			t.Errorf("hashTag(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestWriteTag(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		cmd   redis.Cmder
		tag   string
		write bool
	}{
		{redis.NewStringCmd(ctx, "get", "{r}:a"), "", false},
		{redis.NewStatusCmd(ctx, "set", "{r}:a", "1"), "r", true},
		{redis.NewCmd(ctx, "evalsha", "abc", 2, "intake:{r2}:x", "intake:{r2}:y", "arg"), "r2", true},
		{redis.NewCmd(ctx, "EVALSHA", "abc", 0, "arg"), "", true},
		{redis.NewXStreamSliceCmd(ctx, "xreadgroup", "group", "g", "c", "streams", "s", ">"), "", false},
		{redis.NewIntCmd(ctx, "xack", "routing:{r3}:events", "g", "1-1"), "r3", true},
	} {
		tag, write := writeTag(c.cmd)
		if tag != c.tag || write != c.write {
			t.Errorf("writeTag(%v) = %q, %v; want %q, %v", c.cmd.Args(), tag, write, c.tag, c.write)
		}
	}
}

func TestConnectedReplicas(t *testing.T) {
	info := "# Replication\r\nrole:master\r\nconnected_slaves:3\r\n" +
		"slave0:ip=127.0.0.1,port=7001,state=online,offset=1042,lag=0\r\n" +
		"slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=0\r\n" +
		"slave2:ip=127.0.0.1,port=7003,state=online,offset=1042,lag=1\r\n" +
		"master_failover_state:no-failover\r\n"
	if n := connectedReplicas(info); n != 2 {
		t.Fatalf("connectedReplicas = %d, want the 2 online", n)
	}
	if n := connectedReplicas("role:master\r\n"); n != 0 {
		t.Fatalf("connectedReplicas without the field = %d, want 0", n)
	}
}

// waitCalls returns how many WAIT commands node has run.
func waitCalls(t *testing.T, rc *testenv.RedisCluster, node *testenv.Redis) int64 {
	t.Helper()
	rdb := redis.NewClient(node.Options())
	defer rdb.Close()
	return testenv.CommandCalls(t, rdb)["wait"]
}

// TestWritesWaitForTheReplica runs on a real Redis Cluster of three
// masters and three replicas: concurrent writes share WAIT rounds; a write
// whose replica does not answer fails with ErrNotReplicated, in a
// pipeline on every command; a master with no replica left acknowledges
// unreplicated and says so; and writes in flight while the replica is
// stopped and the master killed are never acknowledged, so the promoted
// replica holds every write that was.
func TestWritesWaitForTheReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	rc := testenv.StartRedisCluster(t)
	opt := rc.Options()
	opt.ClusterStateReloadInterval = time.Second
	rdb := redis.NewClusterClient(opt)
	var unreplicated atomic.Int64
	Install(rdb, Config{Timeout: 300 * time.Millisecond, Unreplicated: func(string) { unreplicated.Add(1) }})
	ReloadOnFailure(rdb)
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	const tag = "{r1}"

	master, replicas := rc.Shard(t, tag)
	if len(replicas) != 1 {
		t.Fatalf("the master %s of %s has %d replicas, want 1", master.Addr, tag, len(replicas))
	}
	before := waitCalls(t, rc, master)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			if err := rdb.Set(ctx, fmt.Sprintf("%s:k%d", tag, i), i, 0).Err(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("write with its replica up: %v", err)
	}
	if n := waitCalls(t, rc, master) - before; n < 1 || n > 64 {
		t.Fatalf("64 concurrent writes made %d WAIT rounds, want 1..64", n)
	}
	if err := rdb.Get(ctx, tag+":k1").Err(); err != nil {
		t.Fatalf("read back: %v", err)
	}

	replicas[0].Pause()
	err := rdb.Set(ctx, tag+":paused", "1", 0).Err()
	if !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("write while the replica is stopped: %v, want ErrNotReplicated", err)
	}
	cmds, _ := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, tag+":tx1", "1", 0)
		p.Incr(ctx, tag+":tx2")
		return nil
	})
	for _, c := range cmds {
		if !errors.Is(c.Err(), ErrNotReplicated) {
			t.Fatalf("%v in a transaction while the replica is stopped: %v, want ErrNotReplicated", c.Args(), c.Err())
		}
	}
	replicas[0].Resume()
	eventuallyOK(t, func() error { return rdb.Set(ctx, tag+":resumed", "1", 0).Err() })

	// Writes in flight while the replica is stopped, then the master
	// killed: none may be acknowledged, as the replica taking over lacks
	// them.
	replicas[0].Pause()
	var acked sync.Map
	for i := range 20 {
		wg.Go(func() {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			key := fmt.Sprintf("%s:inflight%d", tag, i)
			if rdb.Set(wctx, key, "1", 0).Err() == nil {
				acked.Store(key, true)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	go func() { time.Sleep(300 * time.Millisecond); replicas[0].Resume() }()
	killed := rc.KillMaster(t, tag)
	wg.Wait()
	acked.Range(func(k, _ any) bool {
		if err := rdb.Get(ctx, k.(string)).Err(); err != nil {
			t.Errorf("acknowledged write %s lost in the failover: %v", k, err)
		}
		return true
	})

	// The promoted replica has no replica of its own until the killed
	// node rejoins: writes are acknowledged unreplicated, and counted.
	eventuallyOK(t, func() error { return rdb.Set(ctx, tag+":alone", "1", 0).Err() })
	if unreplicated.Load() == 0 {
		t.Fatal("a write on a master with no replica was not reported as unreplicated")
	}
	rc.RestartNode(t, killed)
	if _, reps := rc.Shard(t, tag); len(reps) != 1 || reps[0] != killed {
		t.Fatalf("the killed master did not rejoin as the replica of %s", tag)
	}
	eventuallyOK(t, func() error { return rdb.Set(ctx, tag+":again", "1", 0).Err() })
}

func eventuallyOK(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
