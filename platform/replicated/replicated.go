// Package replicated makes a write to a Redis Cluster return only once the
// master's replicas hold it (docs/ARCHITECTURE.md, "Durability on a
// cluster").
//
// Replication in Redis is asynchronous: a master answers a write before its
// replicas have it, and when the master dies the replica promoted in its
// place may lack the last writes it acknowledged. WAIT closes that gap for
// the writes of one connection. Install hooks every node client of a
// cluster client: after a command or pipeline that writes, the caller joins
// the node's next replication round, in which one connection of its own
// writes a key in the same hash slot and sends WAIT. Redis replicates one
// ordered stream per master, so a replica that acknowledges the round's
// write holds every write answered before the round began: one WAIT
// serves every caller waiting, however many.
//
// A round asks for as many replicas as wanted, at most as many as the
// master has online (INFO replication, read again every second). A master
// with no replica online (its replica was just promoted, is down, or is
// still copying the master's data) acknowledges writes unreplicated until
// one is; that is counted and logged, since a second failure then loses
// them.
package replicated

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated is returned, wrapped, for a write the master applied
// but no replica acknowledged in time. The write may or may not outlive a
// failover: the caller retries it with the same request id.
var ErrNotReplicated = errors.New("write not acknowledged by a replica")

// Config says how many replicas must hold a write and how long to wait.
type Config struct {
	// Replicas is how many replicas must acknowledge a write (default 1;
	// never more than the master has online).
	Replicas int
	// Timeout bounds one round's WAIT (default 1s).
	Timeout time.Duration
	// Log receives a line when a master has no replica to wait for.
	Log *slog.Logger
	// Unreplicated, when set, is called for each round a master
	// acknowledged with fewer replicas online than wanted.
	Unreplicated func(addr string)
}

// Install hooks every node client of rdb, present and future.
func Install(rdb *redis.ClusterClient, cfg Config) {
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	rdb.OnNewNode(func(node *redis.Client) {
		node.AddHook(&waiter{cfg: cfg, addr: node.Options().Addr, node: node})
	})
}

// bypass marks the waiter's own commands, which its hooks pass through.
type bypass struct{}

// waiter runs one node's replication rounds.
type waiter struct {
	cfg  Config
	addr string
	node *redis.Client
	// conn is the waiter's own connection to the node, used by one round
	// at a time: WAIT counts the writes of the connection it is sent on.
	conn *redis.Conn

	mu      sync.Mutex
	next    *round // the round callers join; nil when none waits
	running bool
	// replicas is the node's online replicas as last read, at checked.
	replicas int
	checked  time.Time
}

// round is one WAIT and the callers it serves.
type round struct {
	tags map[string]bool // hash tags written to
	done chan struct{}
	err  error
}

// wait returns once the node's replicas hold every write answered before
// the call, or an error wrapping ErrNotReplicated.
func (w *waiter) wait(ctx context.Context, tags []string) error {
	w.mu.Lock()
	if w.next == nil {
		w.next = &round{tags: map[string]bool{}, done: make(chan struct{})}
	}
	r := w.next
	for _, t := range tags {
		r.tags[t] = true
	}
	if !w.running {
		w.running = true
		go w.run()
	}
	w.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNotReplicated, ctx.Err())
	}
}

// run sends rounds one after another while callers wait.
func (w *waiter) run() {
	for {
		w.mu.Lock()
		r := w.next
		w.next = nil
		if r == nil {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		r.err = w.send(r)
		close(r.done)
	}
}

// send writes a key in each of the round's hash slots and waits for the
// replicas.
func (w *waiter) send(r *round) error {
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), bypass{}, true), w.cfg.Timeout+2*time.Second)
	defer cancel()
	if w.conn == nil {
		w.conn = w.node.Conn()
	}
	err := w.round(ctx, r)
	if err != nil && !errors.Is(err, errTooFew) {
		// A broken connection is not used again.
		w.conn.Close()
		w.conn = nil
	}
	return err
}

// errTooFew: fewer replicas than wanted acknowledged in time.
var errTooFew = errors.New("too few replicas")

func (w *waiter) round(ctx context.Context, r *round) error {
	want, err := w.wanted(ctx)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotReplicated, w.addr, err)
	}
	if want == 0 {
		if w.cfg.Unreplicated != nil {
			w.cfg.Unreplicated(w.addr)
		}
		return nil
	}
	var wait *redis.IntCmd
	_, err = w.conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		for t := range r.tags {
			p.Set(ctx, "{"+t+"}:replicated", "1", 0)
		}
		wait = redis.NewIntCmd(ctx, "wait", want, w.cfg.Timeout.Milliseconds())
		_ = p.Process(ctx, wait)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotReplicated, w.addr, err)
	}
	if got := wait.Val(); got < int64(want) {
		w.mu.Lock()
		w.checked = time.Time{} // read the replicas again next round
		w.mu.Unlock()
		return fmt.Errorf("%w: %s: %w: %d of %d within %s", ErrNotReplicated, w.addr, errTooFew, got, want, w.cfg.Timeout)
	}
	return nil
}

// wanted returns how many replicas a round waits for: Config.Replicas, at
// most the node's online replicas, read again every second.
func (w *waiter) wanted(ctx context.Context) (int, error) {
	w.mu.Lock()
	n, at := w.replicas, w.checked
	w.mu.Unlock()
	if time.Since(at) > time.Second {
		info, err := w.conn.Info(ctx, "replication").Result()
		if err != nil {
			return 0, err
		}
		n = connectedReplicas(info)
		w.mu.Lock()
		if n < w.cfg.Replicas && (w.replicas >= w.cfg.Replicas || w.checked.IsZero()) {
			w.cfg.Log.Warn("redis master has fewer replicas than writes wait for; writes are acknowledged unreplicated",
				"addr", w.addr, "connected", n, "wanted", w.cfg.Replicas)
		}
		w.replicas, w.checked = n, time.Now()
		w.mu.Unlock()
	}
	return min(n, w.cfg.Replicas), nil
}

// connectedReplicas counts the replicas INFO replication lists as online:
// a replica still loading its first copy (state wait_bgsave or
// send_bulk) acknowledges nothing, and waiting for it would refuse every
// write until it is in step.
func connectedReplicas(info string) int {
	n := 0
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "slave") && strings.Contains(line, ":ip=") && strings.Contains(line, ",state=online,") {
			n++
		}
	}
	return n
}

// DialHook leaves dialling alone.
func (w *waiter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook waits after a command that wrote.
func (w *waiter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := next(ctx, cmd); err != nil || ctx.Value(bypass{}) != nil {
			return err
		}
		tag, ok := writeTag(cmd)
		if !ok || tag == "" {
			return nil
		}
		return w.wait(ctx, []string{tag})
	}
}

// ProcessPipelineHook waits after a pipeline or transaction of which a
// command wrote, and gives the error to each of its commands that
// succeeded, so a caller reading one command's result sees it too.
func (w *waiter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if ctx.Value(bypass{}) != nil {
			return err
		}
		var tags []string
		for _, c := range cmds {
			if c.Err() != nil {
				continue
			}
			if tag, ok := writeTag(c); ok && tag != "" {
				tags = append(tags, tag)
			}
		}
		if len(tags) == 0 {
			return err
		}
		if werr := w.wait(ctx, tags); werr != nil {
			for _, c := range cmds {
				if c.Err() == nil {
					c.SetErr(werr)
				}
			}
			if err == nil {
				err = werr
			}
		}
		return err
	}
}

// readOnly are the commands the platform sends that write nothing a
// caller is answered from (XREADGROUP moves a group's cursor, which a
// failover may undo: the entries are then read again).
var readOnly = map[string]bool{
	"get": true, "mget": true, "exists": true, "ttl": true, "pttl": true, "type": true, "strlen": true,
	"hget": true, "hmget": true, "hgetall": true, "hlen": true, "hexists": true, "hkeys": true, "hvals": true, "hscan": true,
	"zrange": true, "zrangebyscore": true, "zrevrange": true, "zrevrangebyscore": true, "zscore": true, "zmscore": true,
	"zcard": true, "zcount": true, "zrank": true, "zrevrank": true, "zscan": true, "zrangebylex": true, "zlexcount": true,
	"smembers": true, "sismember": true, "smismember": true, "scard": true, "sscan": true,
	"lrange": true, "llen": true, "lindex": true,
	"xrange": true, "xrevrange": true, "xlen": true, "xinfo": true, "xpending": true, "xread": true, "xreadgroup": true,
	"scan": true, "ping": true, "echo": true, "info": true, "time": true, "cluster": true, "command": true, "client": true,
	"hello": true, "auth": true, "select": true, "readonly": true, "readwrite": true, "asking": true, "wait": true,
	"watch": true, "unwatch": true, "multi": true, "exec": true, "discard": true, "script": true,
	"evalsha_ro": true, "eval_ro": true, "fcall_ro": true, "dbsize": true, "memory": true, "object": true,
}

// writeTag reports whether cmd may write and returns the hash tag of its
// first key (the whole key when it has none), which names its slot; ""
// for a write with no key, which no round can cover.
func writeTag(cmd redis.Cmder) (string, bool) {
	name := strings.ToLower(cmd.Name())
	if readOnly[name] {
		return "", false
	}
	args := cmd.Args()
	pos := 1
	switch name {
	case "eval", "evalsha", "fcall":
		if len(args) < 4 || fmt.Sprint(args[2]) == "0" {
			return "", true
		}
		pos = 3
	}
	if len(args) <= pos {
		return "", true
	}
	return hashTag(fmt.Sprint(args[pos])), true
}

// hashTag returns the part of key Redis Cluster hashes: the text between
// the first "{" and the next "}" when not empty, else the whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// ReloadOnFailure makes rdb read the cluster's slots again, in the
// background, whenever a command fails on a connection: after a failover
// the slots of the dead master are served by its promoted replica, and
// the client would otherwise keep calling the dead node until its next
// periodic reload (ClusterOptions.ClusterStateReloadInterval).
func ReloadOnFailure(rdb *redis.ClusterClient) {
	rdb.AddHook(reloader{rdb})
}

type reloader struct{ rdb *redis.ClusterClient }

func (r reloader) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r reloader) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		r.check(ctx, err)
		return err
	}
}

func (r reloader) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		r.check(ctx, err)
		return err
	}
}

// check reloads the slots after an error that is not Redis's answer to
// the command (a refused or broken connection, a timeout, CLUSTERDOWN).
func (r reloader) check(ctx context.Context, err error) {
	var answer redis.Error
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.TxFailedErr) || errors.Is(err, ErrNotReplicated) {
		return
	}
	if errors.As(err, &answer) && !redis.IsClusterDownError(err) && !redis.IsMasterDownError(err) {
		return
	}
	r.rdb.ReloadState(ctx)
}
