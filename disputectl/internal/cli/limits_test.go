package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
)

func TestParseLimits(t *testing.T) {
	got, err := Parse([]string{"limits", "set", "--region", "140100", "--staff-writes", "0.5/10", "--department-reads", "default"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &LimitsSetCmd{Region: "140100", Etcd: DefaultEtcd, Set: map[string]*configv1.RateLimit{
		"staff_writes": {PerSecond: 0.5, Burst: 10}, "department_reads": nil,
	}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"limits"}, "want get or set"},
		{"unknown subcommand", []string{"limits", "drop"}, "unknown subcommand"},
		{"nothing to set", []string{"limits", "set"}, "name at least one limit"},
		{"no burst", []string{"limits", "set", "--staff-reads", "5"}, "--staff-reads \"5\": want PER_SECOND/BURST"},
		{"not a number", []string{"limits", "set", "--staff-reads", "x/5"}, "want PER_SECOND/BURST"},
		{"bad region", []string{"limits", "get", "--region", "14"}, "want 6 digits"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.args, env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLimitsGetAndSet(t *testing.T) {
	e := testenv.StartEtcd(t)
	cli := e.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key := regionconfig.RateLimitsSpec.Key("141181", "")
	stored := func() *configv1.RateLimits {
		t.Helper()
		resp, err := cli.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		doc, err := regionconfig.RateLimitsSpec.Decode(key, resp.Kvs[0].Value)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}

	out, errOut, code := run(t, append([]string{"limits", "get"}, etcdAuth(e)...)...)
	if code != 0 || !strings.Contains(out, "staff_writes") || strings.Count(out, "default") != 4 {
		t.Fatalf("get without a document: code %d, out %q, err %q; want four defaults", code, out, errOut)
	}

	out, errOut, code = run(t, append([]string{"limits", "set", "--staff-writes", "2/5", "--department-writes", "20/50"}, etcdAuth(e)...)...)
	if code != 0 {
		t.Fatalf("set: code %d, err %q", code, errOut)
	}
	want := &configv1.RateLimits{StaffWrites: &configv1.RateLimit{PerSecond: 2, Burst: 5}, DepartmentWrites: &configv1.RateLimit{PerSecond: 20, Burst: 50}}
	if diff := cmp.Diff(want, stored(), protocmp.Transform()); diff != "" {
		t.Fatalf("stored after set (-want +got):\n%s", diff)
	}
	out, _, _ = run(t, append([]string{"limits", "get"}, etcdAuth(e)...)...)
	if row := limitRow(out, "staff_writes"); row != "2 5 set" || strings.Count(out, "default") != 2 {
		t.Errorf("get after set:\n%s", out)
	}

	// A bad value is refused naming its field, and changes nothing.
	_, errOut, code = run(t, append([]string{"limits", "set", "--staff-writes", "0/5", "--staff-reads", "1/1"}, etcdAuth(e)...)...)
	if code != 1 || !strings.Contains(errOut, "staff_writes.per_second") {
		t.Fatalf("zero rate: code %d, err %q; want 1 naming staff_writes.per_second", code, errOut)
	}
	if diff := cmp.Diff(want, stored(), protocmp.Transform()); diff != "" {
		t.Fatalf("a refused set changed the document (-want +got):\n%s", diff)
	}

	// default removes a limit; with none left the document goes.
	if _, errOut, code := run(t, append([]string{"limits", "set", "--staff-writes", "default"}, etcdAuth(e)...)...); code != 0 {
		t.Fatalf("set default: code %d, err %q", code, errOut)
	}
	if diff := cmp.Diff(&configv1.RateLimits{DepartmentWrites: want.DepartmentWrites}, stored(), protocmp.Transform()); diff != "" {
		t.Fatalf("after removing staff_writes (-want +got):\n%s", diff)
	}
	if _, errOut, code := run(t, append([]string{"limits", "set", "--department-writes", "default"}, etcdAuth(e)...)...); code != 0 {
		t.Fatalf("set default: code %d, err %q", code, errOut)
	}
	if doc := stored(); doc != nil {
		t.Fatalf("document left after removing every limit: %v", doc)
	}
}

func TestConfigInitSeedsRateLimits(t *testing.T) {
	e := testenv.StartEtcd(t)
	dir := copyTree(t, seedConfigDir)
	if err := os.WriteFile(filepath.Join(dir, "141181", "rate-limits.json"), []byte(`{"staffWrites": {"perSecond": 5, "burst": 20}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, append([]string{"config", "init", "--dir", dir}, etcdAuth(e)...)...)
	if code != 0 || !strings.Contains(out, "seeded /disputes/141181/config/rate-limits from ") {
		t.Fatalf("code %d, out %q, err %q", code, out, errOut)
	}
}

// limitRow returns the columns after name in limits get's table.
func limitRow(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return strings.Join(f[1:], " ")
		}
	}
	return ""
}
