package testenv

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a redis-server process with an append-only file fsynced on every
// write, so a Kill followed by Restart exercises crash recovery.
type Redis struct {
	// Addr is host:port to connect to.
	Addr string

	bin, dir string
	port     int
	proc     *process
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
	bin, err := lookPath("redis-server", "redis-server")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	r := &Redis{bin: bin, dir: dir, port: ports[0], Addr: "127.0.0.1:" + strconv.Itoa(ports[0])}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Redis) start() error {
	log := logPath(r.dir, "redis")
	p, err := startProcess(r.bin, log,
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--daemonize", "no", "--protected-mode", "no")
	if err != nil {
		return err
	}
	r.proc = p
	return p.waitReady("redis-server", log, 10*time.Second, r.ping)
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
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return fmt.Errorf("send PING: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read PING reply: %w", err)
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING reply %q", strings.TrimSpace(line))
	}
	return nil
}

// Client returns a client for the server, closed when t ends.
func (r *Redis) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
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
