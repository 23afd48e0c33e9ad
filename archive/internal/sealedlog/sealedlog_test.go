package sealedlog_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

const region = "141181"

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func name(n int) string { return fmt.Sprintf("regions/%s/disputes/2026-%d", region, n) }

// dossier n, registered by event reg, with a closing event.
func dossier(n int, reg string) *archivev1.Dossier {
	payload, err := anypb.New(&intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{Name: name(n), RegisteringDepartment: "tax",
		Complaint: "单位未足额缴纳社会保险费", Channel: typesv1.Channel_CHANNEL_WINDOW}})
	if err != nil {
		panic(err)
	}
	return &archivev1.Dossier{
		Name: name(n), Number: fmt.Sprintf("2026年第%d号", n), State: typesv1.DisputeState_DISPUTE_STATE_CLOSED,
		RegisteringDepartment: "tax", Departments: []string{"tax"},
		Events: []*eventv1.Event{
			{Id: reg, Type: sealproof.RegistrationType, Source: "intake", Region: region, Dispute: name(n), Payload: payload},
			{Id: reg + "-closed", Type: "disputes.routing.v1.DisputeClosed", Source: "routing", Region: region, Dispute: name(n)},
		},
	}
}

func regOf(n int) string { return fmt.Sprintf("ev-%d", n) }

func open(t *testing.T, dir string, key ed25519.PrivateKey) *sealedlog.Log {
	t.Helper()
	l, err := sealedlog.Open(dir, key, discard, sealedlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func newKey(t *testing.T) ed25519.PrivateKey {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func verifier(t *testing.T, key ed25519.PrivateKey) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(sealproof.VerifierKey(sealproof.Origin(region), key.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// seal seals dossiers from..to-1 as one batch.
func seal(t *testing.T, l *sealedlog.Log, from, to int) {
	t.Helper()
	var ds []*archivev1.Dossier
	for n := from; n < to; n++ {
		ds = append(ds, dossier(n, regOf(n)))
	}
	for i, r := range l.SealBatch(context.Background(), ds) {
		if r.Err != nil {
			t.Fatalf("seal %s: %v", ds[i].GetName(), r.Err)
		}
	}
}

func checkpoint(t *testing.T, l *sealedlog.Log, key ed25519.PrivateKey) sealproof.Checkpoint {
	t.Helper()
	cp, err := l.Checkpoint(context.Background(), region, 0)
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := sealproof.OpenCheckpoint([]byte(cp.Note), verifier(t, key))
	if err != nil {
		t.Fatal(err)
	}
	if int64(body.Size) != cp.TreeSize || !bytes.Equal(body.Root, cp.RootHash) {
		t.Fatalf("checkpoint fields %d %x disagree with its note %q", cp.TreeSize, cp.RootHash, cp.Note)
	}
	return body
}

func verifyInclusion(t *testing.T, l *sealedlog.Log, key ed25519.PrivateKey, n int, treeSize int64) {
	t.Helper()
	ctx := context.Background()
	i, err := l.LookupRegistration(name(n), regOf(n))
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.InclusionProof(ctx, region, i, treeSize)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := l.Checkpoint(ctx, region, p.TreeSize)
	if err != nil {
		t.Fatalf("checkpoint of %d: %v", p.TreeSize, err)
	}
	leaf, err := sealproof.EncodeLeaf(dossier(n, regOf(n)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rfc6962.DefaultHasher.HashLeaf(leaf), p.LeafHash) {
		t.Fatalf("leaf hash of %d", n)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(p.TreeSize), p.LeafHash, p.Hashes, cp.RootHash); err != nil {
		t.Fatalf("inclusion of %d in %d: %v", n, p.TreeSize, err)
	}
}

func TestSealLookupAndProofs(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	dir := t.TempDir()
	l := open(t, dir, key)
	if cp := checkpoint(t, l, key); cp.Size != 0 {
		t.Fatalf("empty log checkpoint of %d", cp.Size)
	}
	// Batches that cross an entry bundle's and a tile's boundary.
	seal(t, l, 1, 200)
	seal(t, l, 200, 301)
	seal(t, l, 301, 302)
	if cp := checkpoint(t, l, key); cp.Size != 301 {
		t.Fatalf("tree size %d, want 301", cp.Size)
	}
	// Sealing again changes nothing.
	seal(t, l, 1, 302)
	if cp := checkpoint(t, l, key); cp.Size != 301 {
		t.Fatalf("tree size %d after sealing again", cp.Size)
	}
	d, err := l.Lookup(ctx, name(250))
	if err != nil {
		t.Fatal(err)
	}
	want := dossier(250, regOf(250))
	want.Sealed, want.LeafIndex = true, 249
	if !proto.Equal(d, want) {
		t.Fatalf("Lookup = %v", d)
	}
	cps, err := l.Checkpoints(region)
	if err != nil || len(cps) < 3 {
		t.Fatalf("kept checkpoints %d, %v", len(cps), err)
	}
	for _, n := range []int{1, 199, 256, 257, 301} {
		verifyInclusion(t, l, key, n, 0)
	}
	// Against every kept checkpoint that holds the leaf.
	for _, cp := range cps {
		if cp.TreeSize >= 200 {
			verifyInclusion(t, l, key, 200, cp.TreeSize)
		}
	}
	if _, err := l.InclusionProof(ctx, region, 0, 302); !errors.As(err, new(*sealedlog.RangeError)) {
		t.Fatalf("proof past the latest checkpoint: %v", err)
	}
	if _, err := l.Lookup(ctx, name(999)); !errors.Is(err, sealedlog.ErrNotSealed) {
		t.Fatalf("Lookup of a dossier never sealed: %v", err)
	}
	// Everything survives a restart, checked.
	l.Close()
	l2 := open(t, dir, key)
	if cp := checkpoint(t, l2, key); cp.Size != 301 {
		t.Fatalf("tree size %d after reopen", cp.Size)
	}
	if cps2, _ := l2.Checkpoints(region); len(cps2) != len(cps) {
		t.Fatalf("%d checkpoints kept after reopen, %d before", len(cps2), len(cps))
	}
	verifyInclusion(t, l2, key, 300, 0)
}

func TestConsistencyAcrossAThousandSeals(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	l := open(t, t.TempDir(), key)
	seal(t, l, 1, 38)
	before := checkpoint(t, l, key)
	for n := 38; n < 1038; n += 250 {
		seal(t, l, n, n+250)
	}
	after := checkpoint(t, l, key)
	if after.Size != before.Size+1000 {
		t.Fatalf("sizes %d then %d", before.Size, after.Size)
	}
	to, hashes, err := l.ConsistencyProof(ctx, region, int64(before.Size), 0)
	if err != nil || to != int64(after.Size) {
		t.Fatalf("consistency proof to %d: %v", to, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, before.Size, after.Size, hashes, before.Root, after.Root); err != nil {
		t.Fatalf("consistency %d..%d: %v", before.Size, after.Size, err)
	}
	// Between any two kept checkpoints.
	cps, _ := l.Checkpoints(region)
	for i := 1; i < len(cps); i++ {
		_, hashes, err := l.ConsistencyProof(ctx, region, cps[i-1].TreeSize, cps[i].TreeSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(cps[i-1].TreeSize), uint64(cps[i].TreeSize), hashes, cps[i-1].RootHash, cps[i].RootHash); err != nil {
			t.Fatalf("consistency %d..%d: %v", cps[i-1].TreeSize, cps[i].TreeSize, err)
		}
	}
	// A forged root for the older size does not verify.
	forged := bytes.Clone(before.Root)
	forged[0] ^= 1
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, before.Size, after.Size, hashes, forged, after.Root); err == nil {
		t.Fatal("a forged root verified")
	}
}

// A standard tlog client reads the log's tiles and checkpoint (the layout
// the gateway serves) and verifies a dossier's inclusion on its own.
func TestStandardClientVerifiesTheTiles(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	dir := t.TempDir()
	l := open(t, dir, key)
	seal(t, l, 1, 700)
	checkpoint(t, l, key)

	// Tiles as served (Log.Tile) are the tiles on disk.
	served := func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		return l.Tile(ctx, region, level, index, p)
	}
	cpRaw, err := l.Checkpoint(ctx, region, 0)
	if err != nil {
		t.Fatal(err)
	}
	fetchCP := func(context.Context) ([]byte, error) { return []byte(cpRaw.Note), nil }
	for _, tiles := range map[string]client.TileFetcherFunc{
		"served":  served,
		"on disk": client.FileFetcher{Root: filepath.Join(dir, region, "log")}.ReadTile,
	} {
		cp, _, _, err := client.FetchCheckpoint(ctx, fetchCP, verifier(t, key), sealproof.Origin(region))
		if err != nil {
			t.Fatal(err)
		}
		pb, err := client.NewProofBuilder(ctx, cp.Size, tiles)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := sealproof.EncodeLeaf(dossier(600, regOf(600)))
		hashes, err := pb.InclusionProof(ctx, 599)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 599, cp.Size, rfc6962.DefaultHasher.HashLeaf(leaf), hashes, cp.Hash); err != nil {
			t.Fatalf("standard client: %v", err)
		}
	}
	if _, err := l.Tile(ctx, region, 0, 3, 0); !errors.Is(err, sealedlog.ErrNoTile) {
		t.Fatalf("a tile past the checkpoint: %v", err)
	}
}

// bundle exports dossier n of l as the archive does.
func bundle(t *testing.T, l *sealedlog.Log, n int) []byte {
	t.Helper()
	ctx := context.Background()
	i, err := l.LookupRegistration(name(n), regOf(n))
	if err != nil {
		t.Fatal(err)
	}
	d, leaf, err := l.Leaf(ctx, name(n), regOf(n), i)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := l.Checkpoint(ctx, region, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.InclusionProof(ctx, region, i, cp.TreeSize)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sealproof.NewBundle(d, leaf,
		&archivev1.GetInclusionProofResponse{LeafIndex: p.LeafIndex, TreeSize: p.TreeSize, LeafHash: p.LeafHash, Hashes: p.Hashes},
		&archivev1.GetCheckpointResponse{TreeSize: cp.TreeSize, RootHash: cp.RootHash, Note: cp.Note, Signature: cp.Signature, Origin: cp.Origin})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReusedNameIsANewDossier(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	l := open(t, t.TempDir(), key)
	seal(t, l, 1, 3)
	again := dossier(1, "ev-1-after-redis-loss")
	r := l.SealBatch(ctx, []*archivev1.Dossier{again})[0]
	if r.Err != nil || !r.Appended || r.Index != 2 {
		t.Fatalf("reused name sealed as %+v", r)
	}
	if i, err := l.LookupRegistration(name(1), regOf(1)); err != nil || i != 0 {
		t.Fatalf("the first dossier's leaf: %d %v", i, err)
	}
	if _, _, err := l.Leaf(ctx, name(1), "ev-1-after-redis-loss", 0); !errors.Is(err, sealedlog.ErrMismatch) {
		t.Fatalf("leaf of another registration served: %v", err)
	}
	if _, _, err := l.Leaf(ctx, name(1), regOf(1), 1); !errors.Is(err, sealedlog.ErrMismatch) {
		t.Fatalf("leaf of another dispute served: %v", err)
	}
	if d, err := l.Lookup(ctx, name(1)); err != nil || d.GetEvents()[0].GetId() != "ev-1-after-redis-loss" {
		t.Fatalf("latest of the name: %v %v", d, err)
	}
}

func TestLeafOverTheLimitIsRefusedBeforeWriting(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	dir := t.TempDir()
	l := open(t, dir, key)
	seal(t, l, 1, 2)
	big := dossier(2, regOf(2))
	big.Events[1].Reason = strings.Repeat("x", sealproof.MaxLeaf)
	r := l.SealBatch(ctx, []*archivev1.Dossier{big, dossier(3, regOf(3))})
	var tooLarge *sealproof.LeafTooLargeError
	if !errors.As(r[0].Err, &tooLarge) || r[1].Err != nil {
		t.Fatalf("results %+v", r)
	}
	l.Close()
	l2 := open(t, dir, key)
	if cp := checkpoint(t, l2, key); cp.Size != 2 {
		t.Fatalf("tree size %d after a refused leaf", cp.Size)
	}
}

func TestOneWriterPerDirectory(t *testing.T) {
	key := newKey(t)
	dir := t.TempDir()
	open(t, dir, key)
	_, err := sealedlog.Open(dir, key, discard, sealedlog.Options{})
	if !errors.Is(err, sealedlog.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatalf("second writer: %v", err)
	}
}

// lastBundle returns the path of the entry bundle holding leaf size-1.
func lastBundle(dir string, size uint64) string {
	return filepath.Join(dir, region, "log", layout.EntriesPath((size-1)/256, layout.PartialTileSize(0, (size-1)/256, size)))
}

func TestZeroFilledTailIsCutAndReported(t *testing.T) {
	for _, zeros := range []int{8, 16} {
		t.Run(fmt.Sprint(zeros), func(t *testing.T) {
			key := newKey(t)
			dir := t.TempDir()
			l := open(t, dir, key)
			seal(t, l, 1, 270)
			before := checkpoint(t, l, key)
			l.Close()
			f, err := os.OpenFile(lastBundle(dir, before.Size), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(make([]byte, zeros))
			f.Close()

			var logged bytes.Buffer
			l2, err := sealedlog.Open(dir, key, slog.New(slog.NewTextHandler(&logged, nil)), sealedlog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer l2.Close()
			if !strings.Contains(logged.String(), "zero-filled tail") {
				t.Fatalf("the cut is not reported: %s", logged.String())
			}
			after := checkpoint(t, l2, key)
			if after.Size != before.Size || !bytes.Equal(after.Root, before.Root) {
				t.Fatalf("opened at %d %x, last checkpoint %d %x", after.Size, after.Root, before.Size, before.Root)
			}
			// The log goes on, and its new leaves are sound.
			seal(t, l2, 270, 280)
			verifyInclusion(t, l2, key, 275, 0)
			verifyInclusion(t, l2, key, 269, 0)
		})
	}
}

func TestCorruptLengthFieldRefusesToOpen(t *testing.T) {
	key := newKey(t)
	dir := t.TempDir()
	l := open(t, dir, key)
	seal(t, l, 1, 300)
	l.Close()
	path := filepath.Join(dir, region, "log", layout.EntriesPath(0, 0))
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The length field of the second leaf claims one byte more.
	first := int(binary.BigEndian.Uint16(raw))
	at := 2 + first
	binary.BigEndian.PutUint16(raw[at:], binary.BigEndian.Uint16(raw[at:])+1)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = sealedlog.Open(dir, key, discard, sealedlog.Options{})
	if !errors.Is(err, sealedlog.ErrCorrupt) || !strings.Contains(err.Error(), "leaf 1") {
		t.Fatalf("open with a corrupt length field: %v", err)
	}
	// Nothing was cut: the damaged bundle is as it was.
	if now, _ := os.ReadFile(path); !bytes.Equal(now, raw) {
		t.Fatal("the damaged bundle was changed")
	}
}

func TestLostLeavesRefuseToOpen(t *testing.T) {
	key := newKey(t)
	dir := t.TempDir()
	l := open(t, dir, key)
	seal(t, l, 1, 10)
	checkpoint(t, l, key)
	l.Close()
	// The tree state rolled back behind the last issued checkpoint.
	state := filepath.Join(dir, region, "log", ".state", "treeState")
	if err := os.WriteFile(state, []byte(`{"size":3,"root":"`+hex.EncodeToString(nil)+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sealedlog.Open(dir, key, discard, sealedlog.Options{}); !errors.Is(err, sealedlog.ErrCorrupt) {
		t.Fatalf("open behind the last checkpoint: %v", err)
	}
}

// legacyRecord frames a dossier as the earlier log format did.
func legacyRecord(d *archivev1.Dossier) []byte {
	leaf, _ := proto.MarshalOptions{Deterministic: true}.Marshal(d)
	rec := make([]byte, 8, 8+len(leaf))
	binary.BigEndian.PutUint32(rec, uint32(len(leaf)))
	binary.BigEndian.PutUint32(rec[4:], crc32.Checksum(leaf, crc32.MakeTable(crc32.Castagnoli)))
	return append(rec, leaf...)
}

func TestMigrateLegacyLog(t *testing.T) {
	t.Run("records and a zero tail", func(t *testing.T) {
		key := newKey(t)
		dir := t.TempDir()
		var raw []byte
		for n := 1; n <= 5; n++ {
			raw = append(raw, legacyRecord(dossier(n, regOf(n)))...)
		}
		raw = append(raw, make([]byte, 16)...)
		legacy := filepath.Join(dir, region+".log")
		if err := os.WriteFile(legacy, raw, 0o640); err != nil {
			t.Fatal(err)
		}
		l := open(t, dir, key)
		if cp := checkpoint(t, l, key); cp.Size != 5 {
			t.Fatalf("migrated %d leaves, want 5", cp.Size)
		}
		for n := 1; n <= 5; n++ {
			if i, err := l.LookupRegistration(name(n), regOf(n)); err != nil || i != int64(n-1) {
				t.Fatalf("dossier %d at %d, %v", n, i, err)
			}
		}
		if _, err := os.Stat(legacy + sealedlog.MigratedSuffix); err != nil {
			t.Fatalf("legacy log not kept as migrated: %v", err)
		}
	})
	t.Run("a length field past the end", func(t *testing.T) {
		key := newKey(t)
		dir := t.TempDir()
		raw := append(legacyRecord(dossier(1, regOf(1))), legacyRecord(dossier(2, regOf(2)))...)
		second := len(legacyRecord(dossier(1, regOf(1))))
		binary.BigEndian.PutUint32(raw[second:], 1<<20)
		raw = append(raw, legacyRecord(dossier(3, regOf(3)))...)
		if err := os.WriteFile(filepath.Join(dir, region+".log"), raw, 0o640); err != nil {
			t.Fatal(err)
		}
		_, err := sealedlog.Open(dir, key, discard, sealedlog.Options{})
		if !errors.Is(err, sealedlog.ErrCorrupt) || !strings.Contains(err.Error(), "length field") {
			t.Fatalf("migrate a legacy log with a bad length: %v", err)
		}
	})
}

func TestBundleVerifiesOfflineAndNamesWhatFails(t *testing.T) {
	key := newKey(t)
	l := open(t, t.TempDir(), key)
	seal(t, l, 1, 40)
	b := bundle(t, l, 17)
	vkey := sealproof.VerifierKey(sealproof.Origin(region), key.Public().(ed25519.PublicKey))
	got, err := sealproof.Verify(b, vkey)
	if err != nil {
		t.Fatalf("valid bundle: %v", err)
	}
	if got.Name != name(17) || got.LeafIndex != 16 || got.TreeSize != 39 {
		t.Fatalf("verified %+v", got)
	}
	flip := func(b []byte, j int) []byte {
		out := bytes.Clone(b)
		for ; ; j++ {
			if c := out[j]; c >= 'a' && c < 'z' || c >= 'A' && c < 'Z' || c >= '0' && c < '9' {
				out[j] = c + 1
				return out
			}
		}
	}
	// flipIn flips one byte of the JSON string value that follows field.
	flipIn := func(b []byte, field string) []byte {
		i := bytes.Index(b, []byte(field))
		if i < 0 {
			t.Fatalf("no %s in bundle", field)
		}
		i += len(field)
		return flip(b, i+bytes.IndexByte(b[i:], '"')+2)
	}
	// The signature: the end of the note's last line.
	sigAt := bytes.Index(b, []byte(`"note"`))
	sigAt += bytes.Index(b[sigAt:], []byte(`\n"`)) - 6
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	for _, tt := range []struct {
		name, part string
		bundle     []byte
		key        string
	}{
		{"dossier", "dossier", flipIn(b, `"number"`), vkey},
		{"dossier event", "dossier", flipIn(b, `"source"`), vkey},
		{"dossier event payload", "dossier", flipIn(b, `"complaint"`), vkey},
		{"leaf", "leaf", flipIn(b, `"leaf"`), vkey},
		{"proof hash", "inclusion proof", flipIn(b, `"hashes"`), vkey},
		{"proof leaf index", "inclusion proof", bytes.Replace(b, []byte(`"leaf_index": "16"`), []byte(`"leaf_index": "15"`), 1), vkey},
		{"checkpoint note", "checkpoint", flipIn(b, `"note"`), vkey},
		{"checkpoint signature", "checkpoint", flip(b, sigAt), vkey},
		{"another key", "checkpoint", b, sealproof.VerifierKey(sealproof.Origin(region), other.Public().(ed25519.PublicKey))},
		{"another region's key", "checkpoint", b, sealproof.VerifierKey(sealproof.Origin("110105"), key.Public().(ed25519.PublicKey))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Equal(tt.bundle, b) && tt.key == vkey {
				t.Fatal("nothing changed")
			}
			_, err := sealproof.Verify(tt.bundle, tt.key)
			var ve *sealproof.VerifyError
			if !errors.As(err, &ve) || ve.Part != tt.part {
				t.Fatalf("Verify = %v, want a failure of the %s", err, tt.part)
			}
		})
	}
}

// Zero bytes after the published checkpoint: it no longer opens, so it is
// set aside and published again from the checked tree; after a hash tile:
// the log refuses to open and names the tiles.
func TestZeroFilledCheckpointAndTile(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	dir := t.TempDir()
	l := open(t, dir, key)
	seal(t, l, 1, 300)
	before := checkpoint(t, l, key)
	l.Close()
	appendZeros := func(path string, n int) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(make([]byte, n))
		f.Close()
	}
	cpPath := filepath.Join(dir, region, "log", "checkpoint")
	appendZeros(cpPath, 16)
	var logged bytes.Buffer
	l2, err := sealedlog.Open(dir, key, slog.New(slog.NewTextHandler(&logged, nil)), sealedlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "published checkpoint does not open") {
		t.Fatalf("not reported: %s", logged.String())
	}
	if _, err := os.Stat(cpPath + ".damaged"); err != nil {
		t.Fatalf("damaged checkpoint not kept aside: %v", err)
	}
	if after := checkpoint(t, l2, key); after.Size != before.Size || !bytes.Equal(after.Root, before.Root) {
		t.Fatalf("opened at %d, last checkpoint %d", after.Size, before.Size)
	}
	seal(t, l2, 300, 310)
	verifyInclusion(t, l2, key, 305, 0)
	cp, _ := l2.Checkpoint(ctx, region, 0)
	l2.Close()

	appendZeros(filepath.Join(dir, region, "log", layout.TilePath(0, 1, layout.PartialTileSize(0, 1, uint64(cp.TreeSize)))), 8)
	if _, err := sealedlog.Open(dir, key, discard, sealedlog.Options{}); !errors.Is(err, sealedlog.ErrCorrupt) || !strings.Contains(err.Error(), "tiles") {
		t.Fatalf("open with a damaged tile: %v", err)
	}
}
