package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
)

const seedConfigDir = "../../../deploy/config"

func TestParseConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want command
	}{
		{"defaults", []string{"config", "init"}, &ConfigInitCmd{Dir: DefaultConfigDir, Etcd: DefaultEtcd}},
		{"flags", []string{"config", "init", "--dir", "/srv/config", "--etcd", "etcd:2379"}, &ConfigInitCmd{Dir: "/srv/config", Etcd: "etcd:2379"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.args, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"config"}, "want init"},
		{"unknown subcommand", []string{"config", "push"}, "unknown subcommand"},
		{"empty dir", []string{"config", "init", "--dir", ""}, "--dir is required"},
		{"stray argument", []string{"config", "init", "extra"}, "unexpected arguments"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.args, env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// copyTree copies the seed folder so a test may add files to it.
func copyTree(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

func TestConfigInit(t *testing.T) {
	e := testenv.StartEtcd(t)
	cli := e.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Refused before anything is written: an unknown file, an invalid
	// document.
	unknown := copyTree(t, seedConfigDir)
	if err := os.WriteFile(filepath.Join(unknown, "141181", "intake_rules.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	invalid := copyTree(t, seedConfigDir)
	if err := os.WriteFile(filepath.Join(invalid, "141181", "calendar", "2027.json"), []byte(`{"year": 2026}`), 0o644); err != nil {
		t.Fatal(err)
	}
	strayTop := copyTree(t, seedConfigDir)
	if err := os.WriteFile(filepath.Join(strayTop, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	strayYear := copyTree(t, seedConfigDir)
	if err := os.WriteFile(filepath.Join(strayYear, "141181", "calendar", "next.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, want string
	}{
		{"unknown file", unknown, "intake_rules.json: unknown file"},
		{"calendar of another year", invalid, "does not match the key's year 2027"},
		{"calendar file not a year", strayYear, "next.json: unknown file"},
		{"file beside the region folders", strayTop, "notes.txt: unknown file"},
		{"missing folder", filepath.Join(t.TempDir(), "none"), "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, append([]string{"config", "init", "--dir", tc.dir}, etcdAuth(e)...)...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("code %d, err %q; want 1 and %q", code, errOut, tc.want)
			}
			resp, err := cli.Get(ctx, regionconfig.Root, clientv3.WithPrefix())
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Kvs) != 0 {
				t.Errorf("a refused seed wrote %d keys", len(resp.Kvs))
			}
		})
	}

	// A value set before the seed is kept.
	custom := &configv1.IntakeRules{MassPeopleThreshold: 9}
	if err := regionconfig.Put(ctx, cli, regionconfig.IntakeRulesSpec, "141181", "", custom); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, append([]string{"config", "init", "--dir", seedConfigDir}, etcdAuth(e)...)...)
	if code != 0 {
		t.Fatalf("first init: code %d, err %q", code, errOut)
	}
	for _, want := range []string{
		"kept /disputes/141181/config/intake-rules (already set)",
		"seeded /disputes/141181/config/time-limits from ",
		"seeded /disputes/141181/calendar/2026 from ",
		"1 kept",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first init output lacks %q:\n%s", want, out)
		}
	}

	got, err := cli.Get(ctx, regionconfig.IntakeRulesSpec.Key("141181", ""))
	if err != nil {
		t.Fatal(err)
	}
	rules := &configv1.IntakeRules{}
	if err := protojson.Unmarshal(got.Kvs[0].Value, rules); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(custom, rules, protocmp.Transform()); diff != "" {
		t.Errorf("intake rules overwritten (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ key, file string }{
		{regionconfig.TimeLimitsSpec.Key("141181", ""), "141181/time-limits.json"},
		{regionconfig.CalendarSpec.Key("141181", "2026"), "141181/calendar/2026.json"},
		{regionconfig.LegalSpec.Key("141181", ""), "141181/legal.json"},
	} {
		raw, err := os.ReadFile(filepath.Join(seedConfigDir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := cli.Get(ctx, tc.key)
		if err != nil || len(got.Kvs) != 1 {
			t.Fatalf("get %s: %v, %d values", tc.key, err, len(got.Kvs))
		}
		if !sameJSONDoc(t, tc.key, raw, got.Kvs[0].Value) {
			t.Errorf("%s differs from %s", tc.key, tc.file)
		}
	}

	// Once seeded, everything is kept.
	out, errOut, code = run(t, append([]string{"config", "init", "--dir", seedConfigDir}, etcdAuth(e)...)...)
	if code != 0 || strings.Contains(out, "seeded /") || !strings.Contains(out, "0 seeded") {
		t.Fatalf("second init: code %d, out %q, err %q", code, out, errOut)
	}
}

// sameJSONDoc compares two protojson documents of the spec of key.
func sameJSONDoc(t *testing.T, key string, a, b []byte) bool {
	t.Helper()
	switch {
	case strings.Contains(key, "/calendar/"):
		x, y := &configv1.BusinessCalendar{}, &configv1.BusinessCalendar{}
		return protojson.Unmarshal(a, x) == nil && protojson.Unmarshal(b, y) == nil && cmp.Equal(x, y, protocmp.Transform())
	case strings.HasSuffix(key, "/config/legal"):
		x, y := &configv1.LegalInfo{}, &configv1.LegalInfo{}
		return protojson.Unmarshal(a, x) == nil && protojson.Unmarshal(b, y) == nil && cmp.Equal(x, y, protocmp.Transform())
	default:
		x, y := &configv1.TimeLimits{}, &configv1.TimeLimits{}
		return protojson.Unmarshal(a, x) == nil && protojson.Unmarshal(b, y) == nil && cmp.Equal(x, y, protocmp.Transform())
	}
}
