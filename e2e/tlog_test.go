package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
)

// checkSealedFromOutside checks a sealed dossier as someone outside the
// platform would: its export verifies offline with disputectl and the
// region's public note key; a standard tlog client fetches the checkpoint
// and tiles the gateway serves, without a token, and verifies the leaf's
// inclusion; disputectl archive audit follows the log.
func (p *platform) checkSealedFromOutside(t *testing.T, name, token string) {
	t.Helper()
	vkey := p.run("archive", "key", "--key", filepath.Join(p.dir, "archive-key", "checkpoint.pem"), "--region", region)
	code, resp := p.httpJSON("GET", "/v1/"+name+"/dossier:export", token, nil)
	if code != http.StatusOK {
		t.Fatalf("export: HTTP %d %v", code, resp)
	}
	content, err := base64.StdEncoding.DecodeString(resp["content"].(string))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(p.dir, "export.json")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := p.run("archive", "verify", "--bundle", file, "--key", vkey); !strings.HasPrefix(out, "valid: "+name) {
		t.Errorf("archive verify: %s", out)
	}
	var b sealproof.Bundle
	if err := json.Unmarshal(content, &b); err != nil {
		t.Fatal(err)
	}
	var d struct {
		LeafIndex string `json:"leaf_index"`
	}
	if err := json.Unmarshal(b.Dossier, &d); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	base, _ := url.Parse(p.gateway + "/tlog/" + region + "/")
	f, err := client.NewHTTPFetcher(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp, _, _, err := client.FetchCheckpoint(ctx, f.ReadCheckpoint, v, sealproof.Origin(region))
	if err != nil {
		t.Fatalf("standard client: checkpoint: %v", err)
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	var index uint64
	if d.LeafIndex != "" {
		if err := json.Unmarshal([]byte(d.LeafIndex), &index); err != nil {
			t.Fatal(err)
		}
	}
	hashes, err := pb.InclusionProof(ctx, index)
	if err != nil {
		t.Fatalf("standard client: proof from the served tiles: %v", err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, cp.Size, rfc6962.DefaultHasher.HashLeaf(b.Leaf), hashes, cp.Hash); err != nil {
		t.Errorf("standard client: inclusion of %s: %v", name, err)
	}
	if r, err := http.Get(p.gateway + "/tlog/" + region + "/tile/entries/000.p/1"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("entry bundles served: %v %v", r, err)
	}

	state := filepath.Join(p.dir, region+".checkpoint")
	if out := p.run("archive", "audit", "--url", base.String(), "--key", vkey, "--state", state); !strings.HasPrefix(out, "first checkpoint remembered") {
		t.Errorf("archive audit (first): %s", out)
	}
	if out := p.run("archive", "audit", "--url", base.String(), "--key", vkey, "--state", state); !strings.HasPrefix(out, "consistent") {
		t.Errorf("archive audit: %s", out)
	}
}
