// Package sealedlog is the archive's sealed log: per region one append-only
// file of sealed dossiers on local disk, independent of Redis, hashed into
// an RFC 6962 Merkle tree whose checkpoints are signed with Ed25519.
//
// Each record is one leaf: the deterministic protobuf encoding of a
// dossier (archive.v1.Dossier with its events, sealed and leaf_index left
// unset), framed as a 4-byte big-endian length, a 4-byte CRC-32C of the
// leaf, then the leaf. An append is fsynced before it is acknowledged; on
// open, a torn last record (a crash mid-write) is cut off, and the index of
// dispute names to leaves is rebuilt from the leaves themselves, so a
// dossier is never sealed twice.
package sealedlog

import (
	"bufio"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/platform/names"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

// Errors of the log.
var (
	// ErrNotSealed: no leaf for the dispute.
	ErrNotSealed = errors.New("dossier not sealed")
	// ErrCorrupt: a record before the last one does not check out.
	ErrCorrupt = errors.New("sealed log corrupt")
)

const (
	headerLen = 8
	// maxLeaf bounds one record so a damaged length cannot make us allocate wildly.
	maxLeaf = 64 << 20
	suffix  = ".log"
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// Log is the sealed log of every region under one directory.
type Log struct {
	dir    string
	signer *Signer
	log    *slog.Logger

	mu      sync.Mutex
	regions map[string]*regionLog
}

type entry struct {
	offset int64 // of the leaf bytes
	length int
}

// regionLog is one region's file and its in-memory index.
type regionLog struct {
	mu     sync.RWMutex
	f      *os.File
	size   int64 // bytes of valid records
	hashes [][]byte
	leaves []entry
	byName map[string]int64
}

// Open opens (creating dir if needed) the log of every region found under
// dir, recovering each file. Checkpoints are signed with key.
func Open(dir string, key ed25519.PrivateKey, log *slog.Logger) (*Log, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sealed log dir: %w", err)
	}
	l := &Log{dir: dir, signer: NewSigner(key), log: log, regions: map[string]*regionLog{}}
	files, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil {
		return nil, fmt.Errorf("list sealed logs: %w", err)
	}
	for _, p := range files {
		region := strings.TrimSuffix(filepath.Base(p), suffix)
		if !names.IsRegion(region) {
			continue
		}
		rl, err := l.openRegion(region)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.regions[region] = rl
	}
	return l, nil
}

// Close closes every region's file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, rl := range l.regions {
		errs = append(errs, rl.f.Close())
	}
	l.regions = map[string]*regionLog{}
	return errors.Join(errs...)
}

// Signer returns the checkpoint signer.
func (l *Log) Signer() *Signer { return l.signer }

// Regions lists the regions with a log, sorted.
func (l *Log) Regions() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.regions))
	for r := range l.regions {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

func (l *Log) openRegion(region string) (*regionLog, error) {
	path := filepath.Join(l.dir, region+suffix)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open sealed log %s: %w", region, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// Make the new file's directory entry durable too.
		if err := syncDir(l.dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	rl := &regionLog{f: f, byName: map[string]int64{}}
	if err := rl.recover(l.log, region); err != nil {
		f.Close()
		return nil, err
	}
	return rl, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}

// recover reads every record, rebuilding hashes and the name index, and
// cuts off a torn last record.
func (rl *regionLog) recover(log *slog.Logger, region string) error {
	st, err := rl.f.Stat()
	if err != nil {
		return fmt.Errorf("stat sealed log %s: %w", region, err)
	}
	fileSize := st.Size()
	r := bufio.NewReader(io.NewSectionReader(rl.f, 0, fileSize))
	var off int64
	hdr := make([]byte, headerLen)
	torn := func(why string) error {
		log.Warn("sealed log: cutting off a torn last record", "region", region, "offset", off,
			"dropped_bytes", fileSize-off, "why", why)
		if err := rl.f.Truncate(off); err != nil {
			return fmt.Errorf("truncate sealed log %s: %w", region, err)
		}
		if err := rl.f.Sync(); err != nil {
			return fmt.Errorf("sync sealed log %s: %w", region, err)
		}
		return nil
	}
	for off < fileSize {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return torn("short header")
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		sum := binary.BigEndian.Uint32(hdr[4:])
		end := off + headerLen + n
		if n > maxLeaf || end > fileSize {
			if end > fileSize {
				return torn("short record")
			}
			return fmt.Errorf("%w: region %s: record at %d claims %d bytes", ErrCorrupt, region, off, n)
		}
		leaf := make([]byte, n)
		if _, err := io.ReadFull(r, leaf); err != nil {
			return fmt.Errorf("read sealed log %s: %w", region, err)
		}
		if crc32.Checksum(leaf, castagnoli) != sum {
			if end == fileSize {
				return torn("checksum mismatch")
			}
			return fmt.Errorf("%w: region %s: checksum mismatch at %d", ErrCorrupt, region, off)
		}
		d := &archivev1.Dossier{}
		if err := proto.Unmarshal(leaf, d); err != nil {
			return fmt.Errorf("%w: region %s: leaf at %d: %v", ErrCorrupt, region, off, err)
		}
		if _, dup := rl.byName[d.GetName()]; dup {
			return fmt.Errorf("%w: region %s: %s sealed twice", ErrCorrupt, region, d.GetName())
		}
		rl.add(d.GetName(), leaf, off+headerLen)
		off = end
	}
	rl.size = off
	return nil
}

func (rl *regionLog) add(name string, leaf []byte, offset int64) {
	rl.byName[name] = int64(len(rl.leaves))
	rl.leaves = append(rl.leaves, entry{offset: offset, length: len(leaf)})
	rl.hashes = append(rl.hashes, LeafHash(leaf))
}

func (l *Log) region(region string, create bool) (*regionLog, error) {
	if !names.IsRegion(region) {
		return nil, fmt.Errorf("bad region %q", region)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if rl, ok := l.regions[region]; ok {
		return rl, nil
	}
	if !create {
		return nil, nil
	}
	rl, err := l.openRegion(region)
	if err != nil {
		return nil, err
	}
	l.regions[region] = rl
	return rl, nil
}

// Canonical returns the leaf bytes of d: its deterministic encoding with
// sealed and leaf_index unset.
func Canonical(d *archivev1.Dossier) ([]byte, error) {
	c := proto.Clone(d).(*archivev1.Dossier)
	c.Sealed, c.LeafIndex = false, 0
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode dossier: %w", err)
	}
	return b, nil
}

func regionOf(name string) (string, error) {
	region, _, err := names.DisputeID(name)
	return region, err
}

// Seal appends d as a leaf of its region's log and returns its index, once
// the record is on disk. If the dispute was sealed before, it returns that
// leaf's index and appended false, writing nothing.
func (l *Log) Seal(d *archivev1.Dossier) (index int64, appended bool, err error) {
	region, err := regionOf(d.GetName())
	if err != nil {
		return 0, false, err
	}
	rl, err := l.region(region, true)
	if err != nil {
		return 0, false, err
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if i, ok := rl.byName[d.GetName()]; ok {
		return i, false, nil
	}
	leaf, err := Canonical(d)
	if err != nil {
		return 0, false, err
	}
	rec := make([]byte, headerLen+len(leaf))
	binary.BigEndian.PutUint32(rec[:4], uint32(len(leaf)))
	binary.BigEndian.PutUint32(rec[4:8], crc32.Checksum(leaf, castagnoli))
	copy(rec[headerLen:], leaf)
	if _, err := rl.f.WriteAt(rec, rl.size); err != nil {
		// Leave no partial record behind for the next append to follow.
		_ = rl.f.Truncate(rl.size)
		return 0, false, fmt.Errorf("write sealed log %s: %w", region, err)
	}
	if err := rl.f.Sync(); err != nil {
		_ = rl.f.Truncate(rl.size)
		return 0, false, fmt.Errorf("sync sealed log %s: %w", region, err)
	}
	rl.add(d.GetName(), leaf, rl.size+headerLen)
	rl.size += int64(len(rec))
	return int64(len(rl.leaves) - 1), true, nil
}

// SealMany appends the dossiers ds, all of one region, as leaves of its
// log with one write and one fsync, and returns each one's index (the
// earlier index of a dossier sealed before). Nothing is appended when the
// write or the fsync fails.
func (l *Log) SealMany(region string, ds []*archivev1.Dossier) ([]int64, error) {
	rl, err := l.region(region, true)
	if err != nil {
		return nil, err
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	out := make([]int64, len(ds))
	type pending struct {
		name   string
		leaf   []byte
		offset int64
	}
	var buf []byte
	var adds []pending
	inBatch := map[string]int{}
	next := int64(len(rl.leaves))
	for i, d := range ds {
		if r, err := regionOf(d.GetName()); err != nil || r != region {
			return nil, fmt.Errorf("dossier %s is not of region %s", d.GetName(), region)
		}
		if j, ok := rl.byName[d.GetName()]; ok {
			out[i] = j
			continue
		}
		if j, ok := inBatch[d.GetName()]; ok {
			out[i] = out[j]
			continue
		}
		leaf, err := Canonical(d)
		if err != nil {
			return nil, err
		}
		var h [headerLen]byte
		binary.BigEndian.PutUint32(h[:4], uint32(len(leaf)))
		binary.BigEndian.PutUint32(h[4:8], crc32.Checksum(leaf, castagnoli))
		buf = append(buf, h[:]...)
		adds = append(adds, pending{d.GetName(), leaf, rl.size + int64(len(buf))})
		buf = append(buf, leaf...)
		inBatch[d.GetName()] = i
		out[i] = next
		next++
	}
	if len(adds) == 0 {
		return out, nil
	}
	if _, err := rl.f.WriteAt(buf, rl.size); err != nil {
		_ = rl.f.Truncate(rl.size)
		return nil, fmt.Errorf("write sealed log %s: %w", region, err)
	}
	if err := rl.f.Sync(); err != nil {
		_ = rl.f.Truncate(rl.size)
		return nil, fmt.Errorf("sync sealed log %s: %w", region, err)
	}
	for _, a := range adds {
		rl.add(a.name, a.leaf, a.offset)
	}
	rl.size += int64(len(buf))
	return out, nil
}

// Lookup returns the sealed dossier of dispute name with sealed and
// leaf_index set, or ErrNotSealed.
func (l *Log) Lookup(name string) (*archivev1.Dossier, error) {
	region, err := regionOf(name)
	if err != nil {
		return nil, err
	}
	rl, err := l.region(region, false)
	if err != nil {
		return nil, err
	}
	if rl == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotSealed, name)
	}
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	i, ok := rl.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotSealed, name)
	}
	leaf, err := rl.read(i)
	if err != nil {
		return nil, err
	}
	d := &archivev1.Dossier{}
	if err := proto.Unmarshal(leaf, d); err != nil {
		return nil, fmt.Errorf("decode leaf %d of %s: %w", i, region, err)
	}
	d.Sealed, d.LeafIndex = true, i
	return d, nil
}

// Sealed reports whether dispute name has a leaf.
func (l *Log) Sealed(name string) bool {
	region, err := regionOf(name)
	if err != nil {
		return false
	}
	rl, err := l.region(region, false)
	if err != nil || rl == nil {
		return false
	}
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	_, ok := rl.byName[name]
	return ok
}

func (rl *regionLog) read(i int64) ([]byte, error) {
	e := rl.leaves[i]
	leaf := make([]byte, e.length)
	if _, err := rl.f.ReadAt(leaf, e.offset); err != nil {
		return nil, fmt.Errorf("read leaf %d: %w", i, err)
	}
	return leaf, nil
}

// Proof is an inclusion proof of one leaf in a tree of some size.
type Proof struct {
	LeafIndex, TreeSize int64
	LeafHash            []byte
	Hashes              [][]byte
}

// InclusionProof proves the leaf of dispute name is in its region's tree
// of treeSize leaves (0: the current size).
func (l *Log) InclusionProof(name string, treeSize int64) (Proof, error) {
	region, err := regionOf(name)
	if err != nil {
		return Proof{}, err
	}
	rl, err := l.region(region, false)
	if err != nil {
		return Proof{}, err
	}
	if rl == nil {
		return Proof{}, fmt.Errorf("%w: %s", ErrNotSealed, name)
	}
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	i, ok := rl.byName[name]
	if !ok {
		return Proof{}, fmt.Errorf("%w: %s", ErrNotSealed, name)
	}
	if treeSize == 0 {
		treeSize = int64(len(rl.hashes))
	}
	path, err := InclusionPath(rl.hashes, i, treeSize)
	if err != nil {
		return Proof{}, &RangeError{Err: err}
	}
	return Proof{LeafIndex: i, TreeSize: treeSize, LeafHash: rl.hashes[i], Hashes: path}, nil
}

// RangeError is a tree size that cannot prove the leaf asked for.
type RangeError struct{ Err error }

func (e *RangeError) Error() string { return e.Err.Error() }
func (e *RangeError) Unwrap() error { return e.Err }

// Checkpoint is a region's signed tree head.
type Checkpoint struct {
	TreeSize  int64
	RootHash  []byte
	Note      string
	Signature []byte
}

// Checkpoint returns the signed checkpoint of region's current tree; an
// empty tree for a region that sealed nothing yet.
func (l *Log) Checkpoint(region string) (Checkpoint, error) {
	rl, err := l.region(region, false)
	if err != nil {
		return Checkpoint{}, err
	}
	var hashes [][]byte
	if rl != nil {
		rl.mu.RLock()
		hashes = rl.hashes[:len(rl.hashes):len(rl.hashes)]
		rl.mu.RUnlock()
	}
	size, root := int64(len(hashes)), Root(hashes)
	note := Note(Origin(region), size, root)
	return Checkpoint{TreeSize: size, RootHash: root, Note: note, Signature: l.signer.Sign(note)}, nil
}
