package regionconfig_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"

	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// TestSeedLegal checks the legal data shipped for 孝义市: it validates, the
// tax bureau's acts go to the next-higher tax department and every other
// unit's to the city government.
func TestSeedLegal(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "config", "141181", "legal.json"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := regionconfig.LegalSpec.Decode(regionconfig.LegalSpec.Key("141181", ""), raw)
	if err != nil {
		t.Fatal(err)
	}
	for unit, want := range map[string]string{"tax": "国家税务总局吕梁市税务局", "hrss": "孝义市人民政府"} {
		if got := regionconfig.ReconsiderationBody(l, unit); got != want {
			t.Errorf("reconsideration body of %s = %q, want %q", unit, got, want)
		}
	}
	if l.GetCourt() == "" || l.GetOfficeName() == "" {
		t.Errorf("seed names no court or office: %v", l)
	}
}

// TestLegalWatched runs the watcher against a real etcd: a valid document
// takes effect, a unit listed twice is refused and the last valid one stays.
func TestLegalWatched(t *testing.T) {
	e := testenv.StartEtcd(t)
	cli := e.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := regionconfig.NewWatcher(cli, regionconfig.LegalSpec, nil, nil)
	go w.Run(ctx)
	first := &configv1.LegalInfo{Court: "孝义市人民法院", ReconsiderationBodies: []*configv1.ReconsiderationBody{{Unit: "tax", Body: "国家税务总局吕梁市税务局"}}}
	if err := regionconfig.Put(ctx, cli, regionconfig.LegalSpec, "141181", "", first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { l, ok := w.Get("141181", ""); return ok && l.GetCourt() == "孝义市人民法院" })

	twice := &configv1.LegalInfo{Court: "别的法院", ReconsiderationBodies: []*configv1.ReconsiderationBody{
		{Unit: "tax", Body: "甲"}, {Unit: "tax", Body: "乙"}}}
	if err := regionconfig.Put(ctx, cli, regionconfig.LegalSpec, "141181", "", twice); err == nil {
		t.Fatal("Put accepted a unit listed twice")
	}
	// Written past the validation, as etcdctl would: refused by the watcher.
	if _, err := cli.Put(ctx, regionconfig.LegalSpec.Key("141181", ""), `{"court":"别的法院","reconsiderationBodies":[{"unit":"tax","body":"甲"},{"unit":"tax","body":"乙"}]}`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return w.RejectedCount() > 0 })
	if l, _ := w.Get("141181", ""); l.GetCourt() != "孝义市人民法院" {
		t.Errorf("after a bad value the court is %q, want the last valid one", l.GetCourt())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
