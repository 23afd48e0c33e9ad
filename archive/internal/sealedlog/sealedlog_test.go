package sealedlog_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

func dh(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The RFC 6962 test vectors of the Certificate Transparency reference
// implementation: eight leaves, the roots of their prefixes, and audit paths.
func vectorLeaves(t *testing.T) [][]byte {
	var out [][]byte
	for _, s := range []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"} {
		out = append(out, sealedlog.LeafHash(dh(t, s)))
	}
	return out
}

func TestRFC6962Vectors(t *testing.T) {
	if got := hex.EncodeToString(sealedlog.Root(nil)); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty root = %s", got)
	}
	if got := hex.EncodeToString(sealedlog.LeafHash(nil)); got != "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" {
		t.Fatalf("empty leaf hash = %s", got)
	}
	leaves := vectorLeaves(t)
	roots := []string{
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	for i, want := range roots {
		t.Run(fmt.Sprintf("root %d", i+1), func(t *testing.T) {
			if got := hex.EncodeToString(sealedlog.Root(leaves[:i+1])); got != want {
				t.Fatalf("root = %s, want %s", got, want)
			}
		})
	}
	paths := []struct {
		index, size int64
		want        []string
	}{
		{0, 1, nil},
		{0, 8, []string{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
		{5, 8, []string{"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
		{2, 3, []string{"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
		{1, 5, []string{"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
	}
	for _, tt := range paths {
		t.Run(fmt.Sprintf("path %d of %d", tt.index, tt.size), func(t *testing.T) {
			got, err := sealedlog.InclusionPath(leaves, tt.index, tt.size)
			if err != nil {
				t.Fatal(err)
			}
			var hexes []string
			for _, h := range got {
				hexes = append(hexes, hex.EncodeToString(h))
			}
			if diff := cmp.Diff(tt.want, hexes); diff != "" {
				t.Fatalf("path (-want +got):\n%s", diff)
			}
		})
	}
	// Every path of every prefix verifies with the reference verifier.
	for size := 1; size <= len(leaves); size++ {
		root := sealedlog.Root(leaves[:size])
		for i := range size {
			path, err := sealedlog.InclusionPath(leaves, int64(i), int64(size))
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(size), leaves[i], path, root); err != nil {
				t.Errorf("leaf %d of %d: %v", i, size, err)
			}
		}
	}
	for _, bad := range [][2]int64{{0, 0}, {3, 3}, {0, 9}, {-1, 2}} {
		if _, err := sealedlog.InclusionPath(leaves, bad[0], bad[1]); err == nil {
			t.Errorf("path %d of %d: no error", bad[0], bad[1])
		}
	}
}

const region = "141181"

func dossier(t *testing.T, n int) *archivev1.Dossier {
	t.Helper()
	name := fmt.Sprintf("regions/%s/disputes/2026-%d", region, n)
	at := time.Date(2026, 3, 2, 9, n, 0, 0, time.UTC)
	return &archivev1.Dossier{
		Name: name, Number: fmt.Sprintf("2026年第%d号", n), State: typesv1.DisputeState_DISPUTE_STATE_CLOSED,
		RegisteringDepartment: "tax", Departments: []string{"hrss", "tax"}, RegisterTime: timestamppb.New(at),
		Events: []*eventv1.Event{{Id: fmt.Sprintf("ev-%d", n), Region: region, Dispute: name, Type: "x",
			Time: timestamppb.New(at), Payload: &anypb.Any{TypeUrl: "type.googleapis.com/x", Value: []byte{byte(n)}}}},
	}
}

func open(t *testing.T, dir string, key ed25519.PrivateKey, logw io.Writer) *sealedlog.Log {
	t.Helper()
	l, err := sealedlog.Open(dir, key, slog.New(slog.NewTextHandler(logw, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func seal(t *testing.T, l *sealedlog.Log, d *archivev1.Dossier, wantIndex int64, wantAppended bool) {
	t.Helper()
	i, appended, err := l.Seal(d)
	if err != nil {
		t.Fatal(err)
	}
	if i != wantIndex || appended != wantAppended {
		t.Fatalf("Seal(%s) = %d %v, want %d %v", d.GetName(), i, appended, wantIndex, wantAppended)
	}
}

// verify checks the proof of name against a fresh signed checkpoint.
func verify(t *testing.T, l *sealedlog.Log, pub ed25519.PublicKey, name string) sealedlog.Checkpoint {
	t.Helper()
	cp, err := l.Checkpoint(region)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub, []byte(cp.Note), cp.Signature) {
		t.Fatalf("checkpoint signature does not verify: %q", cp.Note)
	}
	if want := sealedlog.Note("disputes.archive/regions/"+region, cp.TreeSize, cp.RootHash); cp.Note != want {
		t.Fatalf("note = %q, want %q", cp.Note, want)
	}
	p, err := l.InclusionProof(name, 0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := sealedlog.Canonical(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sealedlog.LeafHash(leaf), p.LeafHash) {
		t.Fatalf("leaf hash does not match the dossier")
	}
	if p.TreeSize != cp.TreeSize || p.LeafIndex != d.GetLeafIndex() {
		t.Fatalf("proof %d of %d, checkpoint size %d, dossier leaf %d", p.LeafIndex, p.TreeSize, cp.TreeSize, d.GetLeafIndex())
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(p.LeafIndex), uint64(p.TreeSize), p.LeafHash, p.Hashes, cp.RootHash); err != nil {
		t.Fatalf("proof of %s: %v", name, err)
	}
	return cp
}

func TestAppendReopenAndProofs(t *testing.T) {
	dir := t.TempDir()
	pub, priv := newKey(t)
	l := open(t, dir, priv, io.Discard)
	cp, err := l.Checkpoint(region)
	if err != nil || cp.TreeSize != 0 || !ed25519.Verify(pub, []byte(cp.Note), cp.Signature) {
		t.Fatalf("empty checkpoint = %+v, %v", cp, err)
	}
	for n := range 5 {
		seal(t, l, dossier(t, n+1), int64(n), true)
	}
	// Sealing again writes nothing and returns the first leaf.
	again := dossier(t, 3)
	again.State = typesv1.DisputeState_DISPUTE_STATE_HANDLING
	seal(t, l, again, 2, false)
	for n := range 5 {
		verify(t, l, pub, dossier(t, n+1).GetName())
	}
	before := verify(t, l, pub, dossier(t, 1).GetName())
	got, err := l.Lookup(dossier(t, 3).GetName())
	if err != nil {
		t.Fatal(err)
	}
	want := dossier(t, 3)
	want.Sealed, want.LeafIndex = true, 2
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Fatalf("lookup (-want +got):\n%s", diff)
	}
	if _, err := l.Lookup(dossier(t, 9).GetName()); !errors.Is(err, sealedlog.ErrNotSealed) {
		t.Fatalf("lookup of an unsealed dossier: %v", err)
	}
	// A proof against an older tree size verifies against that size's root.
	p, err := l.InclusionProof(dossier(t, 2).GetName(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if p.TreeSize != 3 {
		t.Fatalf("tree size %d", p.TreeSize)
	}
	var rangeErr *sealedlog.RangeError
	if _, err := l.InclusionProof(dossier(t, 4).GetName(), 3); !errors.As(err, &rangeErr) {
		t.Fatalf("proof of leaf 3 in a tree of 3: %v", err)
	}
	if _, err := l.InclusionProof(dossier(t, 4).GetName(), 6); !errors.As(err, &rangeErr) {
		t.Fatalf("proof in a tree larger than the log: %v", err)
	}
	l.Close()

	// Reopened with the same key: the same tree, the same signed checkpoint.
	l2 := open(t, dir, priv, io.Discard)
	after := verify(t, l2, pub, dossier(t, 5).GetName())
	if diff := cmp.Diff(before, after); diff != "" {
		t.Fatalf("checkpoint after reopen (-want +got):\n%s", diff)
	}
	seal(t, l2, dossier(t, 4), 3, false)
	seal(t, l2, dossier(t, 6), 5, true)
	verify(t, l2, pub, dossier(t, 6).GetName())
}

func TestTornTailIsCut(t *testing.T) {
	pub, priv := newKey(t)
	for _, tc := range []struct {
		name string
		cut  func(full, last int64) int64 // new file size
		junk []byte                       // appended instead when set
	}{
		{name: "half a header", cut: func(full, last int64) int64 { return last + 3 }},
		{name: "header only", cut: func(full, last int64) int64 { return last + 8 }},
		{name: "half a leaf", cut: func(full, last int64) int64 { return last + (full-last)/2 }},
		{name: "one byte short", cut: func(full, last int64) int64 { return full - 1 }},
		{name: "garbage after", junk: []byte{0, 0, 0, 4, 1, 2, 3, 4, 9, 9, 9, 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := open(t, dir, priv, io.Discard)
			seal(t, l, dossier(t, 1), 0, true)
			seal(t, l, dossier(t, 2), 1, true)
			path := filepath.Join(dir, region+".log")
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			last := st.Size()
			seal(t, l, dossier(t, 3), 2, true)
			l.Close()
			st, err = os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			full := st.Size()
			if tc.junk != nil {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.Write(tc.junk)
				f.Close()
				last = full
			} else if err := os.Truncate(path, tc.cut(full, last)); err != nil {
				t.Fatal(err)
			}
			var logs strings.Builder
			l2 := open(t, dir, priv, &logs)
			if !strings.Contains(logs.String(), "torn") {
				t.Fatalf("no warning logged: %q", logs.String())
			}
			if st, err := os.Stat(path); err != nil || st.Size() != last {
				t.Fatalf("file size after recovery = %v %v, want %d", st.Size(), err, last)
			}
			wantSize := int64(2)
			if tc.junk != nil {
				wantSize = 3
			}
			cp := verify(t, l2, pub, dossier(t, 1).GetName())
			if cp.TreeSize != wantSize {
				t.Fatalf("tree size %d, want %d", cp.TreeSize, wantSize)
			}
			// The log goes on after the cut.
			seal(t, l2, dossier(t, 4), wantSize, true)
			l2.Close()
			l3 := open(t, dir, priv, io.Discard)
			verify(t, l3, pub, dossier(t, 4).GetName())
		})
	}
}

func TestCorruptMiddleRecordIsAnError(t *testing.T) {
	dir := t.TempDir()
	_, priv := newKey(t)
	l := open(t, dir, priv, io.Discard)
	seal(t, l, dossier(t, 1), 0, true)
	seal(t, l, dossier(t, 2), 1, true)
	l.Close()
	path := filepath.Join(dir, region+".log")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[10] ^= 0xff // inside the first leaf
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := sealedlog.Open(dir, priv, slog.New(slog.NewTextHandler(io.Discard, nil))); !errors.Is(err, sealedlog.ErrCorrupt) {
		t.Fatalf("open = %v, want ErrCorrupt", err)
	}
}

// SealMany appends a batch with one write: new dossiers get the next
// indexes, one sealed before keeps its own, a repeat in the batch shares the
// first's, and all of it survives a reopen with valid proofs.
func TestSealManyAppendsABatch(t *testing.T) {
	dir := t.TempDir()
	pub, priv := newKey(t)
	l := open(t, dir, priv, io.Discard)
	seal(t, l, dossier(t, 1), 0, true)
	idx, err := l.SealMany(region, []*archivev1.Dossier{dossier(t, 2), dossier(t, 1), dossier(t, 3), dossier(t, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{1, 0, 2, 1}; !slices.Equal(idx, want) {
		t.Fatalf("SealMany = %v, want %v", idx, want)
	}
	l.Close()
	l = open(t, dir, priv, io.Discard)
	for n := 1; n <= 3; n++ {
		verify(t, l, pub, dossier(t, n).GetName())
	}
	seal(t, l, dossier(t, 4), 3, true)
}
