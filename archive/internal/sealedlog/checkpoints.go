package sealedlog

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
)

// checkpointStore keeps every checkpoint the archive issued for a region,
// one file per tree size, written atomically before it is handed out.
type checkpointStore struct {
	dir      string
	verifier note.Verifier

	mu    sync.RWMutex
	sizes []int64
	byN   map[int64]Checkpoint
}

func openCheckpoints(dir string, v note.Verifier) (*checkpointStore, error) {
	s := &checkpointStore{dir: dir, verifier: v, byN: map[int64]Checkpoint{}}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	for _, e := range ents {
		size, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || len(e.Name()) != 20 {
			continue // a temporary file of a write cut short
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read checkpoint %s: %w", e.Name(), err)
		}
		cp, n, err := sealproof.OpenCheckpoint(raw, v)
		if err != nil {
			return nil, fmt.Errorf("kept checkpoint %s: %w", e.Name(), err)
		}
		if int64(cp.Size) != size {
			return nil, fmt.Errorf("kept checkpoint %s is for %d leaves", e.Name(), cp.Size)
		}
		s.byN[size] = Checkpoint{TreeSize: size, RootHash: cp.Root, Note: string(raw),
			Signature: sealproof.SignatureOf(n, v), Origin: cp.Origin}
		s.sizes = append(s.sizes, size)
	}
	slices.Sort(s.sizes)
	return s, nil
}

// reload adds the checkpoints another process kept since.
func (s *checkpointStore) reload() error {
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list checkpoints: %w", err)
	}
	for _, e := range ents {
		size, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || len(e.Name()) != 20 {
			continue
		}
		s.mu.RLock()
		_, ok := s.byN[size]
		s.mu.RUnlock()
		if ok {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			return fmt.Errorf("read checkpoint %s: %w", e.Name(), err)
		}
		cp, n, err := sealproof.OpenCheckpoint(raw, s.verifier)
		if err != nil {
			return fmt.Errorf("kept checkpoint %s: %w", e.Name(), err)
		}
		if int64(cp.Size) != size {
			return fmt.Errorf("kept checkpoint %s is for %d leaves", e.Name(), cp.Size)
		}
		s.mu.Lock()
		if _, ok := s.byN[size]; !ok {
			s.byN[size] = Checkpoint{TreeSize: size, RootHash: cp.Root, Note: string(raw),
				Signature: sealproof.SignatureOf(n, s.verifier), Origin: cp.Origin}
			i, _ := slices.BinarySearch(s.sizes, size)
			s.sizes = slices.Insert(s.sizes, i, size)
		}
		s.mu.Unlock()
	}
	return nil
}

func (s *checkpointStore) count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sizes)
}

func (s *checkpointStore) last() (Checkpoint, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.sizes) == 0 {
		return Checkpoint{}, false
	}
	return s.byN[s.sizes[len(s.sizes)-1]], true
}

func (s *checkpointStore) get(size int64) (Checkpoint, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cp, ok := s.byN[size]
	if !ok {
		return Checkpoint{}, fmt.Errorf("%w: %d", ErrNoCheckpoint, size)
	}
	return cp, nil
}

func (s *checkpointStore) list() []Checkpoint {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Checkpoint, len(s.sizes))
	for i, n := range s.sizes {
		out[i] = s.byN[n]
	}
	return out
}

// add keeps cp; a second, different root for a kept size is a fork and is
// refused.
func (s *checkpointStore) add(cp Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byN[cp.TreeSize]; ok {
		if string(old.RootHash) != string(cp.RootHash) {
			return fmt.Errorf("%w: two roots for tree size %d", ErrCorrupt, cp.TreeSize)
		}
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return fmt.Errorf("checkpoint dir: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(s.dir, fmt.Sprintf("%020d", cp.TreeSize)), []byte(cp.Note)); err != nil {
		return fmt.Errorf("keep checkpoint %d: %w", cp.TreeSize, err)
	}
	s.byN[cp.TreeSize] = cp
	i, _ := slices.BinarySearch(s.sizes, cp.TreeSize)
	s.sizes = slices.Insert(s.sizes, i, cp.TreeSize)
	return nil
}

// writeFileAtomic writes path through a synced temporary file and a
// rename, then syncs the directory: a crash leaves the old or the new file.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// emptyCheckpoint signs the checkpoint of a region's empty log.
func emptyCheckpoint(region string, key ed25519.PrivateKey) (Checkpoint, error) {
	origin := sealproof.Origin(region)
	signer, err := sealproof.NewSigner(origin, key)
	if err != nil {
		return Checkpoint{}, err
	}
	root := rfc6962.DefaultHasher.EmptyRoot()
	text := origin + "\n0\n" + base64.StdEncoding.EncodeToString(root) + "\n"
	raw, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	v, err := note.NewVerifier(sealproof.VerifierKey(origin, key.Public().(ed25519.PublicKey)))
	if err != nil {
		return Checkpoint{}, err
	}
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, err
	}
	return Checkpoint{TreeSize: 0, RootHash: root, Note: string(raw), Signature: sealproof.SignatureOf(n, v), Origin: origin}, nil
}
