package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/mtls"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	"github.com/xiaoyi-disputes/disputes/platform/server"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

func config(t *testing.T, redisAddr, etcd string) app.Config {
	t.Helper()
	dir := t.TempDir()
	pub := filepath.Join(dir, "key.pub.pem")
	if err := authn.GenerateKeyFiles(filepath.Join(dir, "key.pem"), pub); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "certs")
	if _, err := mtls.InitDir(certs, nil); err != nil {
		t.Fatal(err)
	}
	return app.Config{
		Server: server.Config{Service: "probe", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
			PublicKeyFile: pub, LogLevel: "info", ShutdownTimeout: 5 * time.Second,
			TLS: mtls.DirFiles(certs, "intake")},
		RedisAddr: redisAddr, EtcdEndpoints: etcd,
	}
}

// withBackends is config for rd and et, with their credentials.
func withBackends(t *testing.T, rd *testenv.Redis, et *testenv.Etcd) app.Config {
	t.Helper()
	cfg := config(t, rd.Addr, et.Endpoint)
	cfg.RedisUser, cfg.RedisPasswordFile = rd.User, rd.PasswordFile
	cfg.EtcdUser, cfg.EtcdPasswordFile = et.User, et.PasswordFile
	return cfg
}

func TestBackendsRefuseWithoutCredentials(t *testing.T) {
	rd, et := testenv.StartRedis(t), testenv.StartEtcd(t)
	noRedis := withBackends(t, rd, et)
	noRedis.RedisUser, noRedis.RedisPasswordFile = "", ""
	noEtcd := withBackends(t, rd, et)
	noEtcd.EtcdUser, noEtcd.EtcdPasswordFile = "", ""
	tests := []struct {
		name string
		cfg  app.Config
		want string
	}{
		{"redis without a password", noRedis, "NOAUTH"},
		{"etcd without a user", noEtcd, "user name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := app.Service{Name: "probe", Policy: authn.Policy{},
				Setup: func(ctx context.Context, d *app.Deps) ([]func(context.Context) error, error) {
					ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
					defer cancel()
					if err := d.Redis.Ping(ctx).Err(); err != nil {
						return nil, err
					}
					_, err := d.Etcd.Get(ctx, "/disputes/probe")
					return nil, err
				}}
			err := app.RunConfig(context.Background(), svc, tt.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	rd, et := testenv.StartRedis(t), testenv.StartEtcd(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := make(chan string, 1)
	loopStopped := make(chan struct{})
	svc := app.Service{Name: "probe", Policy: authn.Policy{},
		Setup: func(ctx context.Context, d *app.Deps) ([]func(context.Context) error, error) {
			if err := d.Redis.Ping(ctx).Err(); err != nil {
				return nil, err
			}
			return []func(context.Context) error{func(ctx context.Context) error {
				<-ctx.Done()
				close(loopStopped)
				return nil
			}}, nil
		}}
	done := make(chan error, 1)
	// A region with a roster and no calendar at all, on 2 December 2026:
	// readiness holds, its info names the years missing.
	r, err := roster.LoadFile("../../deploy/roster/141181.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := roster.Put(ctx, et.Client(t), r); err != nil {
		t.Fatal(err)
	}
	go func() {
		done <- app.RunConfig(ctx, svc, withBackends(t, rd, et), slog.New(slog.NewTextHandler(io.Discard, nil)),
			func(d *app.Deps) {
				d.Now = func() time.Time { return time.Date(2026, 12, 2, 10, 0, 0, 0, names.China) }
				admin <- d.Server.AdminAddr()
			})
	}()
	addr := <-admin
	var body string
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v %s", err, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(body, `"redis":"ok"`) || !strings.Contains(body, "roster") {
		t.Errorf("readyz lacks the redis check or the roster info: %s", body)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(body, "no business calendar for 2027"); {
		if time.Now().After(deadline) {
			t.Fatalf("readyz does not report the missing 2027 calendar: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a missing calendar failed readiness: HTTP %d %s", resp.StatusCode, b)
		}
		body = string(b)
	}
	if !strings.Contains(body, `"calendar_years":"degraded: `) || !strings.Contains(body, "no business calendar for 2026") {
		t.Errorf("readyz calendar info: %s", body)
	}
	// The calendar info names the region once its roster is in force: so
	// does roster_regions.
	if !strings.Contains(body, `"roster":"ok"`) || !strings.Contains(body, `"roster_regions":"141181"`) {
		t.Errorf("readyz does not name the region whose roster is loaded: %s", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	select {
	case <-loopStopped:
	default:
		t.Fatal("background loop was not stopped")
	}
}

func TestFailingLoopStopsTheProcess(t *testing.T) {
	rd, et := testenv.StartRedis(t), testenv.StartEtcd(t)
	boom := errors.New("consumer lost its stream")
	svc := app.Service{Name: "probe", Policy: authn.Policy{},
		Setup: func(context.Context, *app.Deps) ([]func(context.Context) error, error) {
			return []func(context.Context) error{func(context.Context) error { return boom }}, nil
		}}
	err := app.RunConfig(context.Background(), svc, withBackends(t, rd, et),
		slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the loop's error", err)
	}
}

func TestConfigValidation(t *testing.T) {
	cfg := config(t, "", " , ")
	cfg.Server.PublicKeyFile = ""
	cfg.RedisWaitReplicas = -1
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a config without redis, etcd and key")
	}
	for _, want := range []string{"public key", "redis address", "etcd endpoint", "-redis-wait-replicas -1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q does not mention %q", err, want)
		}
	}
}

func TestRunLogsJSONLinesToStderr(t *testing.T) {
	rd, et := testenv.StartRedis(t), testenv.StartEtcd(t)
	cfg := withBackends(t, rd, et)
	boom := errors.New("consumer lost its stream")
	svc := app.Service{Name: "probe", Policy: authn.Policy{},
		Setup: func(_ context.Context, d *app.Deps) ([]func(context.Context) error, error) {
			d.Log.Info("set up", "claimant_phone", "13812341234")
			return []func(context.Context) error{func(context.Context) error { return boom }}, nil
		}}
	var stderr testenv.LogBuffer
	err := app.Run(context.Background(), svc, []string{
		"-public-key", cfg.Server.PublicKeyFile, "-grpc-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0",
		"-redis-addr", rd.Addr, "-etcd-endpoints", et.Endpoint, "-drain-delay", "0s",
		"-redis-user", rd.User, "-redis-password-file", rd.PasswordFile,
		"-etcd-user", et.User, "-etcd-password-file", et.PasswordFile,
		"-tls-cert", cfg.Server.TLS.Cert, "-tls-key", cfg.Server.TLS.Key, "-tls-ca", cfg.Server.TLS.CA,
	}, &stderr)
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the loop's error", err)
	}
	// Run has returned: every line it logged is in stderr, whole.
	out := stderr.String()
	if strings.Contains(out, "13812341234") {
		t.Errorf("full phone number in the log:\n%s", out)
	}
	var msgs []string
	for line := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if m["service"] != "probe" {
			t.Errorf("service = %v in %s", m["service"], line)
		}
		msgs = append(msgs, m["msg"].(string))
	}
	for _, want := range []string{"set up", "background loop failed; stopping", "shutdown complete"} {
		if !slices.Contains(msgs, want) {
			t.Errorf("no %q line in:\n%s", want, out)
		}
	}
}

func TestPrivateKeyAsPublicKeyRefusedAtStart(t *testing.T) {
	cfg := config(t, "127.0.0.1:1", "127.0.0.1:1")
	cfg.Server.PublicKeyFile = filepath.Join(filepath.Dir(cfg.Server.PublicKeyFile), "key.pem")
	svc := app.Service{Name: "probe", Policy: authn.Policy{},
		Setup: func(context.Context, *app.Deps) ([]func(context.Context) error, error) {
			t.Error("Setup ran with a private key as the token key")
			return nil, nil
		}}
	err := app.RunConfig(context.Background(), svc, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err == nil || !strings.Contains(err.Error(), "is a private key") {
		t.Fatalf("Run = %v, want a refusal naming the private key", err)
	}
}
