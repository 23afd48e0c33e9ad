package cli

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
)

func TestArchiveKeyAndVerify(t *testing.T) {
	dir := t.TempDir()
	if _, errOut, code := run(t, "keygen", "--dir", dir, "--name", "archive-key"); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	priv, err := authn.LoadPrivateKey(filepath.Join(dir, "archive-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	want := sealproof.VerifierKey(sealproof.Origin("141181"), priv.Public().(ed25519.PublicKey))
	for _, file := range []string{"archive-key.pem", "archive-key.pub.pem"} {
		out, errOut, code := run(t, "archive", "key", "--key", filepath.Join(dir, file))
		if code != 0 || strings.TrimSpace(out) != want {
			t.Fatalf("archive key %s: %d %q %q, want %q", file, code, out, errOut, want)
		}
	}
	keyFile := filepath.Join(dir, "141181.note-key")
	if err := os.WriteFile(keyFile, []byte(want+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle.json")
	if err := os.WriteFile(bundle, []byte(`{"dossier": {"name": "regions/141181/disputes/2026-1"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, "archive", "verify", "--bundle", bundle, "--key", "@"+keyFile)
	if code != 1 || !strings.Contains(out, "invalid: bundle: dossier regions/141181/disputes/2026-1 is not sealed") {
		t.Fatalf("verify an unsealed export: %d %q", code, out)
	}
	if _, errOut, code := run(t, "archive", "verify", "--bundle", bundle, "--key", "not-a-key"); code != 1 || !strings.Contains(errOut, "note key") {
		t.Fatalf("verify with a bad key: %d %q", code, errOut)
	}
	if _, errOut, code := run(t, "archive", "audit", "--key", want); code != 2 || !strings.Contains(errOut, "--state") {
		t.Fatalf("audit without state: %d %q", code, errOut)
	}
}
