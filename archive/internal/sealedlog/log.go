// Package sealedlog is the archive's sealed log (docs/ARCHITECTURE.md,
// "Sealed log"): per region one transparency log on local disk, independent
// of Redis, written with the tessera POSIX driver in the C2SP tlog-tiles
// layout and checkpointed with C2SP tlog-checkpoints signed by the region's
// note key (sealproof.Origin names both).
//
// One process writes a data directory at a time (a file lock); Open takes
// it. A standby opens the directory with OpenReader: it serves what the
// writer kept (checkpoints, proofs, tiles, leaves) as of its last Refresh,
// and Lead makes it the writer once it won the election (archive/internal/
// writer). Every batch a writer led in is fenced: it appends nothing, and
// keeps no checkpoint, once its fence says another leads. Dossiers are
// sealed in batches: one tessera integration and one published checkpoint
// per batch. Every checkpoint the archive hands out is kept first, so any
// of them can be asked for again and proven consistent with the latest.
// On open each region's log is checked against its tiles and its last kept
// checkpoint: it opens at that checkpoint's size or larger with the same
// root, or refuses to open and says why; a zero-filled tail is cut and
// reported, nothing else is ever cut.
package sealedlog

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

// Errors of the log.
var (
	// ErrNotSealed: no leaf for the dispute.
	ErrNotSealed = errors.New("dossier not sealed")
	// ErrCorrupt: the log on disk does not check out.
	ErrCorrupt = errors.New("sealed log corrupt")
	// ErrLocked: another process writes the data directory.
	ErrLocked = errors.New("sealed log in use by another process")
	// ErrMismatch: a leaf is not the dossier it is taken for.
	ErrMismatch = errors.New("sealed leaf does not match the dossier")
	// ErrNoCheckpoint: no checkpoint was issued for the tree size asked for.
	ErrNoCheckpoint = errors.New("no checkpoint issued for that tree size")
	// ErrNotLeader: this process does not write the log (now).
	ErrNotLeader = errors.New("this archive process does not write the sealed log")
)

// LockFile is the name of the lock file in the data directory.
const LockFile = "LOCK"

// Options tune the log; the zero value is the default.
type Options struct {
	// CheckpointInterval is the least time between two published
	// checkpoints of a region (default and minimum 100ms).
	CheckpointInterval time.Duration
	// MaxBatch bounds the dossiers of one integration (default 4096).
	MaxBatch int
}

// inFlight is how many integrations one SealBatch call queues at once:
// the next is prepared while one is written, and one checkpoint covers
// them all.
const inFlight = 4

func (o Options) withDefaults() Options {
	if o.CheckpointInterval < 100*time.Millisecond {
		o.CheckpointInterval = 100 * time.Millisecond
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 4096
	}
	return o
}

// Log is the sealed log of every region under one directory.
type Log struct {
	dir  string
	key  ed25519.PrivateKey
	log  *slog.Logger
	opts Options

	mu   sync.Mutex
	lock *os.File // held while writing
	// writer: the regions are open for writing (Open, Lead); fence checks
	// before every batch that this process still leads (nil: always).
	writer  bool
	fence   func(context.Context) error
	closed  bool
	regions map[string]*regionLog
}

// Open opens (creating dir if needed) the log of every region under dir,
// checking each, and migrates a region's log of the earlier format
// (<region>.log) into it. Checkpoints are signed with key under each
// region's note name. A directory another process holds is refused.
func Open(dir string, key ed25519.PrivateKey, log *slog.Logger, opts Options) (*Log, error) {
	l, err := newLog(dir, key, log, opts)
	if err != nil {
		return nil, err
	}
	if err := l.Lead(nil); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// OpenReader opens the log under dir for reading only, without its lock:
// a standby's view of what the writer kept. It serves the kept checkpoints
// and the leaves they cover as of the last Refresh; SealBatch refuses with
// ErrNotLeader until Lead.
func OpenReader(dir string, key ed25519.PrivateKey, log *slog.Logger, opts Options) (*Log, error) {
	l, err := newLog(dir, key, log, opts)
	if err != nil {
		return nil, err
	}
	if err := l.Refresh(context.Background()); err != nil {
		return nil, err
	}
	return l, nil
}

func newLog(dir string, key ed25519.PrivateKey, log *slog.Logger, opts Options) (*Log, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sealed log dir: %w", err)
	}
	// tessera logs through klog: send it to the service's log.
	klog.SetSlogLogger(log.With("component", "tessera"))
	return &Log{dir: dir, key: key, log: log, opts: opts.withDefaults(), regions: map[string]*regionLog{}}, nil
}

// regionDirs lists the regions with a directory under dir.
func (l *Log) regionDirs() ([]string, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("list sealed logs: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && names.IsRegion(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Lead makes l the writer of its directory: it takes the directory's lock
// (ErrLocked while another process holds it), opens and checks every
// region's log for writing, from what is on disk, and migrates legacy
// logs. fence is asked before every batch is appended and before its
// checkpoint is kept; its error fails the batch. Reads go on meanwhile.
func (l *Log) Lead(fence func(context.Context) error) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return errors.New("sealed log closed")
	}
	if l.writer {
		l.fence = fence
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	lock, err := lockDir(l.dir)
	if err != nil {
		return err
	}
	regions, err := l.regionDirs()
	if err != nil {
		lock.Close()
		return err
	}
	opened := map[string]*regionLog{}
	abandon := func() {
		for _, rl := range opened {
			rl.close()
		}
		lock.Close()
	}
	for _, r := range regions {
		rl, err := openRegion(filepath.Join(l.dir, r), r, l.key, l.log, l.opts, fence)
		if err != nil {
			abandon()
			return err
		}
		opened[r] = rl
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		abandon()
		return errors.New("sealed log closed")
	}
	l.regions, l.lock, l.writer, l.fence = opened, lock, true, fence
	l.mu.Unlock()
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return errors.Join(fmt.Errorf("list sealed logs: %w", err), l.Follow(context.Background()))
	}
	for _, e := range entries {
		if region, ok := strings.CutSuffix(e.Name(), legacySuffix); ok && names.IsRegion(region) && !e.IsDir() {
			if err := l.migrate(region, filepath.Join(l.dir, e.Name())); err != nil {
				// Not a writer with half its work undone: give the log up.
				return errors.Join(err, l.Follow(context.Background()))
			}
		}
	}
	return nil
}

// Follow stops writing: no batch is appended from now on, every region's
// appender is shut down, the log is opened for reading again and the
// directory's lock released.
func (l *Log) Follow(ctx context.Context) error {
	l.mu.Lock()
	if !l.writer {
		l.mu.Unlock()
		return nil
	}
	l.writer, l.fence = false, nil
	writing := l.regions
	lock := l.lock
	l.lock = nil
	l.mu.Unlock()
	var errs []error
	for _, rl := range writing {
		// A batch under way fails its fence or finds the appender gone.
		errs = append(errs, rl.close())
	}
	readers := map[string]*regionLog{}
	if regions, err := l.regionDirs(); err != nil {
		errs = append(errs, err)
	} else {
		for _, r := range regions {
			rl, err := openReaderRegion(ctx, filepath.Join(l.dir, r), r, l.key, l.log)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			readers[r] = rl
		}
	}
	l.mu.Lock()
	if !l.closed && !l.writer {
		l.regions = readers
	}
	l.mu.Unlock()
	if lock != nil {
		errs = append(errs, lock.Close())
	}
	return errors.Join(errs...)
}

// Writing reports whether l writes its directory now.
func (l *Log) Writing() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writer
}

// Refresh reads, while l does not write, what the writer kept since the
// last Refresh: new regions, their checkpoints and the leaves these cover,
// each checked against the tiles.
func (l *Log) Refresh(ctx context.Context) error {
	l.mu.Lock()
	if l.writer || l.closed {
		l.mu.Unlock()
		return nil
	}
	known := maps.Clone(l.regions)
	l.mu.Unlock()
	regions, err := l.regionDirs()
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range regions {
		if rl, ok := known[r]; ok {
			errs = append(errs, rl.refresh(ctx))
			continue
		}
		rl, err := openReaderRegion(ctx, filepath.Join(l.dir, r), r, l.key, l.log)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l.mu.Lock()
		if _, ok := l.regions[r]; !ok && !l.writer && !l.closed {
			l.regions[r] = rl
		}
		l.mu.Unlock()
	}
	return errors.Join(errs...)
}

// lockDir takes the data directory's lock, or says who holds it.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked (%s) by %s; one archive process per data directory",
				ErrLocked, dir, path, strings.TrimSpace("pid "+string(holder)))
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// Close shuts down every region's log, then releases the lock.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, rl := range l.regions {
		errs = append(errs, rl.close())
	}
	l.regions = map[string]*regionLog{}
	l.writer, l.fence, l.closed = false, nil, true
	if l.lock != nil {
		errs = append(errs, l.lock.Close())
		l.lock = nil
	}
	return errors.Join(errs...)
}

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

// VerifierKey returns the public note key of region's checkpoints.
func (l *Log) VerifierKey(region string) string {
	return sealproof.VerifierKey(sealproof.Origin(region), l.key.Public().(ed25519.PublicKey))
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
	if !l.writer {
		return nil, ErrNotLeader
	}
	rl, err := openRegion(filepath.Join(l.dir, region), region, l.key, l.log, l.opts, l.fence)
	if err != nil {
		return nil, err
	}
	l.regions[region] = rl
	return rl, nil
}

func regionOf(name string) (string, error) {
	region, _, err := names.DisputeID(name)
	return region, err
}

// Result is the outcome of sealing one dossier of a batch.
type Result struct {
	// Index is the dossier's leaf.
	Index int64
	// Appended is false when the dossier was sealed before.
	Appended bool
	// Err is why this dossier was not sealed.
	Err error
}

// SealBatch seals the dossiers ds, each once, and returns one result per
// dossier in order, once every new leaf is integrated and covered by a
// checkpoint that is kept. A dossier sealed before (same name and
// registration event) keeps its leaf; a dossier too large or without a
// registration event is refused alone.
func (l *Log) SealBatch(ctx context.Context, ds []*archivev1.Dossier) []Result {
	out := make([]Result, len(ds))
	byRegion := map[string][]int{}
	for i, d := range ds {
		region, err := regionOf(d.GetName())
		if err != nil {
			out[i].Err = err
			continue
		}
		byRegion[region] = append(byRegion[region], i)
	}
	for region, idx := range byRegion {
		rl, err := l.region(region, true)
		if err != nil {
			for _, i := range idx {
				out[i].Err = err
			}
			continue
		}
		for step, start := inFlight*l.opts.MaxBatch, 0; start < len(idx); start += step {
			part := idx[start:min(len(idx), start+step)]
			sub := make([]*archivev1.Dossier, len(part))
			for j, i := range part {
				sub[j] = ds[i]
			}
			for j, r := range rl.sealBatch(ctx, sub) {
				out[part[j]] = r
			}
		}
	}
	return out
}

// Seal seals one dossier; see SealBatch.
func (l *Log) Seal(ctx context.Context, d *archivev1.Dossier) (index int64, appended bool, err error) {
	r := l.SealBatch(ctx, []*archivev1.Dossier{d})[0]
	return r.Index, r.Appended, r.Err
}

// lookup returns the latest sealed dossier named name with sealed and
// leaf_index set, or ErrNotSealed.
func (l *Log) lookup(ctx context.Context, name string) (*archivev1.Dossier, error) {
	rl, err := l.regionOfName(name)
	if err != nil {
		return nil, err
	}
	i, ok := rl.latest(name)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotSealed, name)
	}
	leaf, err := rl.leaf(ctx, i)
	if err != nil {
		return nil, err
	}
	return served(leaf, i), nil
}

// LookupRegistration returns the leaf index of the dossier named name
// registered by event reg, or ErrNotSealed.
func (l *Log) LookupRegistration(name, reg string) (int64, error) {
	rl, err := l.regionOfName(name)
	if err != nil {
		return 0, err
	}
	if i, ok := rl.find(name, reg); ok {
		return i, nil
	}
	return 0, fmt.Errorf("%w: %s", ErrNotSealed, name)
}

// leaf returns the dossier sealed at index of name's region, checked to be
// the dossier named name registered by event reg: a leaf that is another
// dossier is ErrMismatch, never served for it.
func (l *Log) leaf(ctx context.Context, name, reg string, index int64) (*archivev1.Dossier, []byte, error) {
	rl, err := l.regionOfName(name)
	if err != nil {
		return nil, nil, err
	}
	if index < 0 || index >= rl.size() {
		return nil, nil, fmt.Errorf("%w: %s: leaf %d is not in the log of %d leaves", ErrMismatch, name, index, rl.size())
	}
	raw, err := rl.leafBytes(ctx, index)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := sealproof.DecodeLeaf(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: leaf %d: %v", ErrCorrupt, index, err)
	}
	if leaf.GetName() != name || (reg != "" && leaf.GetRegistrationEventId() != reg) {
		return nil, nil, fmt.Errorf("%w: leaf %d is %s registered by %s, not %s registered by %s",
			ErrMismatch, index, leaf.GetName(), leaf.GetRegistrationEventId(), name, reg)
	}
	return served(leaf, index), raw, nil
}

func served(leaf *archivev1.SealedLeaf, i int64) *archivev1.Dossier {
	d := leaf.GetDossier()
	d.Sealed, d.LeafIndex = true, i
	return d
}

// Sealed reports whether a dossier named name has a leaf.
func (l *Log) Sealed(name string) bool {
	rl, err := l.regionOfName(name)
	if err != nil {
		return false
	}
	_, ok := rl.latest(name)
	return ok
}

func (l *Log) regionOfName(name string) (*regionLog, error) {
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
	return rl, nil
}

// Proof is an inclusion proof of one leaf in a tree of some size.
type Proof struct {
	LeafIndex, TreeSize int64
	LeafHash            []byte
	Hashes              [][]byte
}

// RangeError is a tree size that cannot prove what was asked for.
type RangeError struct{ Err error }

func (e *RangeError) Error() string { return e.Err.Error() }
func (e *RangeError) Unwrap() error { return e.Err }

// inclusionProof proves leaf index of region is in the tree of an issued
// checkpoint of treeSize leaves (0: the latest checkpoint).
func (l *Log) inclusionProof(ctx context.Context, region string, index, treeSize int64) (Proof, error) {
	rl, err := l.region(region, false)
	if err != nil {
		return Proof{}, err
	}
	if rl == nil {
		return Proof{}, fmt.Errorf("%w: no log for region %s", ErrNotSealed, region)
	}
	return rl.inclusionProof(ctx, index, treeSize)
}

// consistencyProof proves the tree of from leaves is a prefix of the tree
// of to leaves (0: the latest checkpoint), both sizes of issued checkpoints
// or smaller.
func (l *Log) consistencyProof(ctx context.Context, region string, from, to int64) (int64, [][]byte, error) {
	rl, err := l.region(region, false)
	if err != nil {
		return 0, nil, err
	}
	if rl == nil {
		if from == 0 && to == 0 {
			return 0, nil, nil
		}
		return 0, nil, &RangeError{Err: fmt.Errorf("region %s has an empty log", region)}
	}
	return rl.consistencyProof(ctx, from, to)
}

// Checkpoint is a region's signed tree head.
type Checkpoint struct {
	TreeSize int64
	RootHash []byte
	// Note is the whole signed note.
	Note string
	// Signature is the Ed25519 signature of the note's text.
	Signature []byte
	Origin    string
}

// checkpoint returns the signed checkpoint of region's tree of treeSize
// leaves, or the latest with 0; it is kept before it is returned. An empty
// tree for a region that sealed nothing yet.
func (l *Log) checkpoint(ctx context.Context, region string, treeSize int64) (Checkpoint, error) {
	rl, err := l.region(region, false)
	if err != nil {
		return Checkpoint{}, err
	}
	if rl == nil {
		if treeSize != 0 {
			return Checkpoint{}, fmt.Errorf("%w: %d (region %s has an empty log)", ErrNoCheckpoint, treeSize, region)
		}
		return emptyCheckpoint(region, l.key)
	}
	if treeSize == 0 {
		return rl.latestCheckpoint(ctx)
	}
	return rl.cps.get(treeSize)
}

// Checkpoints lists region's kept checkpoints, smallest tree first.
func (l *Log) Checkpoints(region string) ([]Checkpoint, error) {
	rl, err := l.region(region, false)
	if err != nil || rl == nil {
		return nil, err
	}
	return rl.cps.list(), nil
}

// tile returns a hash tile of region's log (C2SP tlog-tiles), width 0 for
// a full tile, as of the latest checkpoint.
func (l *Log) tile(ctx context.Context, region string, level, index uint64, width uint8) ([]byte, error) {
	rl, err := l.region(region, false)
	if err != nil {
		return nil, err
	}
	if rl == nil {
		return nil, fmt.Errorf("%w: %w", ErrNoTile, os.ErrNotExist)
	}
	return rl.servedTile(ctx, level, index, width)
}

// lagging reports whether err may only mean that l, a reader, has not yet
// read what the writer kept since its last Refresh; if so it reads it.
func (l *Log) lagging(ctx context.Context, err error) bool {
	var re *RangeError
	if err == nil || !(errors.Is(err, ErrNotSealed) || errors.Is(err, ErrMismatch) || errors.Is(err, ErrNoCheckpoint) || errors.Is(err, ErrNoTile) || errors.As(err, &re)) {
		return false
	}
	l.mu.Lock()
	reader := !l.writer && !l.closed
	l.mu.Unlock()
	return reader && l.Refresh(ctx) == nil
}

// Lookup returns the latest sealed dossier named name with sealed and
// leaf_index set, or ErrNotSealed.
func (l *Log) Lookup(ctx context.Context, name string) (*archivev1.Dossier, error) {
	d, err := l.lookup(ctx, name)
	if l.lagging(ctx, err) {
		d, err = l.lookup(ctx, name)
	}
	return d, err
}

// Leaf returns the dossier sealed at index of name's region, checked to be
// the dossier named name registered by event reg: a leaf that is another
// dossier is ErrMismatch, never served for it.
func (l *Log) Leaf(ctx context.Context, name, reg string, index int64) (*archivev1.Dossier, []byte, error) {
	d, raw, err := l.leaf(ctx, name, reg, index)
	if l.lagging(ctx, err) {
		d, raw, err = l.leaf(ctx, name, reg, index)
	}
	return d, raw, err
}

// InclusionProof proves leaf index of region is in the tree of an issued
// checkpoint of treeSize leaves (0: the latest checkpoint).
func (l *Log) InclusionProof(ctx context.Context, region string, index, treeSize int64) (Proof, error) {
	p, err := l.inclusionProof(ctx, region, index, treeSize)
	if l.lagging(ctx, err) {
		p, err = l.inclusionProof(ctx, region, index, treeSize)
	}
	return p, err
}

// ConsistencyProof proves the tree of from leaves is a prefix of the tree
// of to leaves (0: the latest checkpoint), both sizes of issued checkpoints
// or smaller.
func (l *Log) ConsistencyProof(ctx context.Context, region string, from, to int64) (int64, [][]byte, error) {
	n, hashes, err := l.consistencyProof(ctx, region, from, to)
	if l.lagging(ctx, err) {
		n, hashes, err = l.consistencyProof(ctx, region, from, to)
	}
	return n, hashes, err
}

// Checkpoint returns the signed checkpoint of region's tree of treeSize
// leaves, or the latest with 0; it is kept before it is returned. An empty
// tree for a region that sealed nothing yet. A reader returns the latest
// the writer kept.
func (l *Log) Checkpoint(ctx context.Context, region string, treeSize int64) (Checkpoint, error) {
	cp, err := l.checkpoint(ctx, region, treeSize)
	if l.lagging(ctx, err) {
		cp, err = l.checkpoint(ctx, region, treeSize)
	}
	return cp, err
}

// Tile returns a hash tile of region's log (C2SP tlog-tiles), width 0 for
// a full tile, as of the latest checkpoint.
func (l *Log) Tile(ctx context.Context, region string, level, index uint64, width uint8) ([]byte, error) {
	b, err := l.tile(ctx, region, level, index, width)
	if l.lagging(ctx, err) {
		b, err = l.tile(ctx, region, level, index, width)
	}
	return b, err
}
