package sealedlog_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

// template is a valid sealed log written once per process: three batches
// of dossiers, so it has several checkpoints, tiles and entry bundles.
var template struct {
	once  sync.Once
	dir   string
	key   ed25519.PrivateKey
	files []string // relative paths, sorted
	n     int      // dossiers sealed
	err   error
}

func loadTemplate(tb testing.TB) {
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "sealedlog-fuzz-")
		if err != nil {
			template.err = err
			return
		}
		template.dir, template.key = dir, newKey(&testing.T{})
		l, err := sealedlog.Open(dir, template.key, discard, sealedlog.Options{})
		if err != nil {
			template.err = err
			return
		}
		ctx := context.Background()
		for _, batch := range [][]int{{1, 2}, {3}, {4, 5, 6}} {
			var ds []*archivev1.Dossier
			for _, n := range batch {
				ds = append(ds, dossier(n, regOf(n)))
			}
			for _, r := range l.SealBatch(ctx, ds) {
				if r.Err != nil {
					template.err = r.Err
				}
			}
			template.n += len(batch)
		}
		if err := l.Close(); err != nil && template.err == nil {
			template.err = err
		}
		template.err = errors.Join(template.err, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			template.files = append(template.files, rel)
			return err
		}))
		slices.Sort(template.files)
	})
	if template.err != nil {
		tb.Fatalf("template log: %v", template.err)
	}
}

// copyTemplate copies the template log into dir.
func copyTemplate(t *testing.T, dir string) {
	t.Helper()
	for _, rel := range template.files {
		b, err := os.ReadFile(filepath.Join(template.dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzOpen corrupts one file of a valid sealed log (the published
// checkpoint, a kept checkpoint, the tree state, a hash tile, an entry
// bundle, the lock file) at a fuzzed offset with fuzzed bytes, or cuts it
// there, then opens the log and reads it: Open refuses with an error, or
// everything it serves is consistent (docs/ARCHITECTURE.md, "Crash
// safety"); it never panics or hangs.
func FuzzOpen(f *testing.F) {
	loadTemplate(f)
	f.Cleanup(func() { os.RemoveAll(template.dir) })
	for i := range template.files {
		f.Add(uint8(i), uint32(0), []byte{0xff}, false)
		f.Add(uint8(i), uint32(40), []byte("0"), false)
		f.Add(uint8(i), uint32(10), []byte{}, true)
		f.Add(uint8(i), uint32(1<<20), []byte{0, 0, 0, 0}, false) // appended zeros
	}
	f.Fuzz(func(t *testing.T, which uint8, off uint32, patch []byte, cut bool) {
		loadTemplate(t)
		dir := t.TempDir()
		copyTemplate(t, dir)
		rel := template.files[int(which)%len(template.files)]
		p := filepath.Join(dir, rel)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		at := int(off % uint32(len(b)+1))
		if cut {
			b = b[:at]
		} else {
			end := min(at+len(patch), 1<<16)
			if end > len(b) {
				b = append(b, make([]byte, end-len(b))...)
			}
			copy(b[at:end], patch)
		}
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}

		done := make(chan struct{})
		go func() {
			defer close(done)
			checkOpen(t, dir, rel)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			t.Fatalf("Open with %s corrupted did not return", rel)
		}
	})
}

// checkOpen opens dir and, if it opens, checks what it serves.
func checkOpen(t *testing.T, dir, corrupted string) {
	l, err := sealedlog.Open(dir, template.key, discard, sealedlog.Options{})
	if err != nil {
		if err.Error() == "" {
			t.Errorf("%s corrupted: Open failed with an empty error", corrupted)
		}
		return
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cp, err := l.Checkpoint(ctx, region, 0)
	if err != nil {
		// A log that opened serves its latest checkpoint.
		t.Fatalf("%s corrupted: opened, but no checkpoint: %v", corrupted, err)
	}
	cps, err := l.Checkpoints(region)
	if err != nil {
		t.Fatalf("%s corrupted: checkpoints: %v", corrupted, err)
	}
	for _, k := range cps {
		if k.TreeSize > cp.TreeSize {
			t.Fatalf("%s corrupted: kept checkpoint %d past the latest %d", corrupted, k.TreeSize, cp.TreeSize)
		}
		if err := verifyNote(k); err != nil {
			t.Fatalf("%s corrupted: kept checkpoint %d: %v", corrupted, k.TreeSize, err)
		}
	}
	if err := verifyNote(cp); err != nil {
		t.Fatalf("%s corrupted: latest checkpoint: %v", corrupted, err)
	}
	// Nothing sealed is lost silently: every leaf the template's last
	// checkpoint covered is still there, with its own dossier.
	if cp.TreeSize < int64(template.n) {
		t.Fatalf("%s corrupted: opened at %d leaves, %d were sealed", corrupted, cp.TreeSize, template.n)
	}
	for n := 1; n <= template.n; n++ {
		d, err := l.Lookup(ctx, name(n))
		if err != nil {
			t.Fatalf("%s corrupted: lookup %s: %v", corrupted, name(n), err)
		}
		if d.GetName() != name(n) {
			t.Fatalf("%s corrupted: lookup %s gave %s", corrupted, name(n), d.GetName())
		}
		pr, err := l.InclusionProof(ctx, region, d.GetLeafIndex(), 0)
		if err != nil {
			t.Fatalf("%s corrupted: proof of %s: %v", corrupted, name(n), err)
		}
		if pr.TreeSize != cp.TreeSize {
			t.Fatalf("%s corrupted: proof of %s for %d leaves, latest checkpoint %d", corrupted, name(n), pr.TreeSize, cp.TreeSize)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(pr.LeafIndex), uint64(pr.TreeSize), pr.LeafHash, pr.Hashes, cp.RootHash); err != nil {
			t.Fatalf("%s corrupted: proof of %s does not verify: %v", corrupted, name(n), err)
		}
	}
}

// verifyNote opens a checkpoint note with the template's key and checks it
// says what the log says of it.
func verifyNote(c sealedlog.Checkpoint) error {
	v, err := note.NewVerifier(sealproof.VerifierKey(sealproof.Origin(region), template.key.Public().(ed25519.PublicKey)))
	if err != nil {
		return err
	}
	got, _, err := sealproof.OpenCheckpoint([]byte(c.Note), v)
	if err != nil {
		return err
	}
	if int64(got.Size) != c.TreeSize || !bytes.Equal(got.Root, c.RootHash) {
		return fmt.Errorf("note says %d leaves, root %x; served %d, %x", got.Size, got.Root, c.TreeSize, c.RootHash)
	}
	return nil
}
