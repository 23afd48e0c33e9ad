package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisACLRules are the rules of the platform's Redis user, as `make run`
// (scripts/run.sh) grants them: every key and command but the dangerous
// ones (FLUSHALL, KEYS, CONFIG, DEBUG, SHUTDOWN, ...), and INFO, which
// operators and the fault suite read. Streams, scripts, WATCH/MULTI/EXEC
// and TIME are in +@all and not dangerous.
const RedisACLRules = "~* &* +@all -@dangerous +info"

// DefaultUserACL disables Redis's default user: no connection can use it,
// so every client must AUTH. It keeps all rights because Redis 7.0 runs the
// append-only file's MULTI/EXEC blocks as the default user when it loads
// them after a crash; without rights they are refused and the writes in
// them lost (a test kills Redis under load to check). An "off" user cannot
// be logged in as, so the rights serve only that replay.
const DefaultUserACL = "user default off ~* &* +@all"

// RedisUser is the platform's Redis ACL user; RedisAdminUser may run
// everything, for test fixtures that flush or list keys.
const (
	RedisUser      = "disputes"
	RedisAdminUser = "admin"
)

// Redis is a redis-server process with an append-only file fsynced on every
// write, so a Kill followed by Restart exercises crash recovery. Its
// default user is disabled: every connection authenticates as User (the
// platform's rules, RedisACLRules) or as the admin user (AdminClient).
type Redis struct {
	// Addr is host:port to connect to.
	Addr string
	// User and Password authenticate as the platform's user; PasswordFile
	// holds Password, for processes given -redis-password-file.
	User, Password, PasswordFile string

	adminPassword string
	bin, dir      string
	port          int
	extra         []string
	proc          *process
}

// StartRedis starts a redis-server for t in a temp dir and stops it in
// t.Cleanup. It fails t when the server cannot start.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	r, err := NewRedis(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// NewRedis starts a redis-server keeping its data and log in dir, for
// TestMain and benchmarks. Call Close when done.
func NewRedis(dir string) (*Redis, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	return newRedis(dir, ports[0], randomSecret(), randomSecret(), nil)
}

// newRedis starts a redis-server on port with the platform's user and the
// admin user of these passwords; extra are further server arguments.
func newRedis(dir string, port int, password, adminPassword string, extra []string) (*Redis, error) {
	bin, err := lookPath("redis-server", "redis-server")
	if err != nil {
		return nil, err
	}
	r := &Redis{
		bin: bin, dir: dir, port: port, Addr: "127.0.0.1:" + strconv.Itoa(port),
		User: RedisUser, Password: password, adminPassword: adminPassword,
		PasswordFile: filepath.Join(dir, "redis-password"), extra: extra,
	}
	if err := os.WriteFile(r.PasswordFile, []byte(r.Password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("redis password file: %w", err)
	}
	// The ACL file holds the passwords' SHA-256, never the passwords.
	acl := fmt.Sprintf(DefaultUserACL+"\nuser %s on #%s %s\nuser %s on #%s ~* &* +@all\n",
		RedisUser, sha256Hex(r.Password), RedisACLRules, RedisAdminUser, sha256Hex(r.adminPassword))
	if err := os.WriteFile(r.aclFile(), []byte(acl), 0o600); err != nil {
		return nil, fmt.Errorf("redis acl file: %w", err)
	}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Redis) start() error {
	log := logPath(r.dir, "redis")
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--daemonize", "no", "--protected-mode", "no", "--aclfile", r.aclFile()}
	p, err := startProcess(r.bin, log, append(args, r.extra...)...)
	if err != nil {
		return err
	}
	r.proc = p
	return p.waitReady("redis-server", log, 10*time.Second, r.ping)
}

func (r *Redis) aclFile() string { return filepath.Join(r.dir, "users.acl") }

func randomSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// resp encodes one command as a RESP array.
func resp(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// ping speaks RESP directly: a go-redis client would retry and log each
// refused dial while the server is still starting.
func (r *Redis) ping() error {
	conn, err := net.DialTimeout("tcp", r.Addr, 200*time.Millisecond)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := conn.Write([]byte(resp("AUTH", r.User, r.Password) + "PING\r\n")); err != nil {
		return fmt.Errorf("send PING: %w", err)
	}
	rd := bufio.NewReader(conn)
	line, err := rd.ReadString('\n')
	if err != nil {
		return fmt.Errorf("read AUTH reply: %w", err)
	}
	if line != "+OK\r\n" {
		return fmt.Errorf("AUTH reply %q", strings.TrimSpace(line))
	}
	line, err = rd.ReadString('\n')
	if err != nil {
		return fmt.Errorf("read PING reply: %w", err)
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING reply %q", strings.TrimSpace(line))
	}
	return nil
}

// Options returns client options authenticating as the platform's user.
func (r *Redis) Options() *redis.Options {
	return &redis.Options{Addr: r.Addr, Username: r.User, Password: r.Password}
}

// Client returns a client for the server authenticated as the platform's
// user, closed when t ends.
func (r *Redis) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(r.Options())
	t.Cleanup(func() { c.Close() })
	return c
}

// AdminClient returns a client that may run every command (FLUSHALL,
// KEYS, ...), for test fixtures; the services never get these rights.
func (r *Redis) AdminClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr, Username: RedisAdminUser, Password: r.adminPassword})
	t.Cleanup(func() { c.Close() })
	return c
}

// Kill ends the server with SIGKILL, as a crash would: nothing is flushed
// beyond what appendfsync always already wrote.
func (r *Redis) Kill() { r.proc.stop(syscall.SIGKILL, 5*time.Second) }

// Restart starts the server again on the same port and data dir; it loads
// the append-only file written before Kill.
func (r *Redis) Restart(t testing.TB) {
	t.Helper()
	r.Kill()
	if err := r.start(); err != nil {
		t.Fatalf("restart redis: %v", err)
	}
}

// Close kills the server. Its data dir is left to the caller.
func (r *Redis) Close() { r.Kill() }

// LogFile returns the path of the server's output log.
func (r *Redis) LogFile() string { return logPath(r.dir, "redis") }

// Pause stops the server with SIGSTOP: it holds its connections and answers
// nothing, as a server stalled by its disk or its host would, until Resume.
func (r *Redis) Pause() { r.proc.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (r *Redis) Resume() { r.proc.cmd.Process.Signal(syscall.SIGCONT) }

// CommandCalls returns how many times the Redis server of rdb has run each
// command (INFO commandstats, lower-case names such as "set" or
// "xinfo|groups"), the commands scripts ran included.
func CommandCalls(t testing.TB, rdb *redis.Client) map[string]int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64)
		out[name] = n
	}
	return out
}
