package sealedlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

// ErrNoTile: the tile asked for is not part of the latest checkpoint's tree.
var ErrNoTile = errors.New("no such tile")

const hashLen = 32

// leafRef is one leaf of a dispute name: a name used again (after a loss
// of Redis) has one leaf per registration.
type leafRef struct {
	reg   string
	index int64
}

// regionLog is one region's tessera log, its kept checkpoints and the
// index of dispute names to leaves.
type regionLog struct {
	region   string
	root     string // the tessera POSIX directory
	logger   *slog.Logger
	signer   note.Signer
	verifier note.Verifier

	// readOnly: a standby's view (OpenReader), no appender; it serves
	// the kept checkpoints and the leaves they cover.
	readOnly bool
	// fence is asked before a batch is appended and before its
	// checkpoint is kept (nil: always leads); stopped is set once the
	// appender shuts down.
	fence    func(context.Context) error
	stopped  atomic.Bool
	cancel   context.CancelFunc
	appender *tessera.Appender
	shutdown func(context.Context) error
	awaiter  *tessera.PublicationAwaiter
	cps      *checkpointStore

	sealMu sync.Mutex // one batch at a time

	mu     sync.RWMutex
	n      int64 // integrated leaves
	byName map[string][]leafRef

	// published caches the last published checkpoint read and kept, by
	// its bytes, so GetCheckpoint neither opens its note nor writes it
	// again while the log does not grow.
	pubMu     sync.Mutex
	pubRaw    []byte
	published Checkpoint
}

func newRegion(dir, region string, key ed25519.PrivateKey, logger *slog.Logger) (*regionLog, error) {
	origin := sealproof.Origin(region)
	signer, err := sealproof.NewSigner(origin, key)
	if err != nil {
		return nil, fmt.Errorf("note signer of %s: %w", region, err)
	}
	verifier, err := note.NewVerifier(sealproof.VerifierKey(origin, key.Public().(ed25519.PublicKey)))
	if err != nil {
		return nil, fmt.Errorf("note verifier of %s: %w", region, err)
	}
	rl := &regionLog{region: region, root: filepath.Join(dir, "log"), logger: logger, signer: signer,
		verifier: verifier, byName: map[string][]leafRef{}}
	if rl.cps, err = openCheckpoints(filepath.Join(dir, "checkpoints"), verifier); err != nil {
		return nil, fmt.Errorf("%w: region %s: %v", ErrCorrupt, region, err)
	}
	return rl, nil
}

// openReaderRegion opens region's log for reading only: the leaves its
// last kept checkpoint covers, checked against the tiles. Nothing is
// written.
func openReaderRegion(ctx context.Context, dir, region string, key ed25519.PrivateKey, logger *slog.Logger) (*regionLog, error) {
	rl, err := newRegion(dir, region, key, logger)
	if err != nil {
		return nil, err
	}
	rl.readOnly = true
	rl.stopped.Store(true)
	if err := rl.refresh(ctx); err != nil {
		return nil, err
	}
	return rl, nil
}

// refresh reads, for a reader, the checkpoints the writer kept since and
// indexes the leaves the latest covers, each checked against its hash in
// the tiles and the tiles against the checkpoint's root.
func (rl *regionLog) refresh(ctx context.Context) error {
	if !rl.readOnly {
		return nil
	}
	if err := rl.cps.reload(); err != nil {
		return fmt.Errorf("%w: region %s: %v", ErrCorrupt, rl.region, err)
	}
	last, ok := rl.cps.last()
	from := uint64(rl.size())
	if !ok || uint64(last.TreeSize) <= from {
		return nil
	}
	size := uint64(last.TreeSize)
	fetch := rl.tileFetcher()
	root, err := rootFromTiles(ctx, size, fetch)
	if err != nil {
		return rl.corrupt("tiles of the kept checkpoint of %d leaves: %v", size, err)
	}
	if !bytes.Equal(root, last.RootHash) {
		return rl.corrupt("tiles give root %x for %d leaves, the kept checkpoint %x", root, size, last.RootHash)
	}
	for b := from / layout.EntryBundleWidth; b*layout.EntryBundleWidth < size; b++ {
		if err := rl.checkBundle(ctx, b, from, size, fetch); err != nil {
			return err
		}
	}
	rl.mu.Lock()
	rl.n = max(rl.n, int64(size))
	rl.mu.Unlock()
	return nil
}

func openRegion(dir, region string, key ed25519.PrivateKey, logger *slog.Logger, opts Options, fence func(context.Context) error) (*regionLog, error) {
	rl, err := newRegion(dir, region, key, logger)
	if err != nil {
		return nil, err
	}
	rl.fence = fence
	if err := rl.recover(context.Background()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	driver, err := posix.New(ctx, posix.Config{Path: rl.root})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open log of %s: %w", region, err)
	}
	aopts := tessera.NewAppendOptions().
		WithCheckpointSigner(rl.signer).
		WithBatching(uint(opts.MaxBatch), 10*time.Millisecond).
		WithPushback(uint(2 * opts.MaxBatch)).
		WithCheckpointInterval(opts.CheckpointInterval).
		// Partial tiles stay: every kept checkpoint's tiles remain servable.
		WithGarbageCollectionInterval(0)
	appender, shutdown, reader, err := tessera.NewAppender(ctx, driver, aopts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open log of %s: %w", region, err)
	}
	rl.cancel, rl.appender, rl.shutdown = cancel, appender, shutdown
	rl.awaiter = tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 10*time.Millisecond)
	return rl, nil
}

func (rl *regionLog) close() error {
	if rl.stopped.Swap(true) || rl.shutdown == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := rl.shutdown(ctx)
	rl.cancel()
	return err
}

func (rl *regionLog) size() int64 {
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	return rl.n
}

func (rl *regionLog) latest(name string) (int64, bool) {
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	refs := rl.byName[name]
	if len(refs) == 0 {
		return 0, false
	}
	return refs[len(refs)-1].index, true
}

func (rl *regionLog) find(name, reg string) (int64, bool) {
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	for _, r := range rl.byName[name] {
		if r.reg == reg {
			return r.index, true
		}
	}
	return 0, false
}

func (rl *regionLog) add(name, reg string, index int64) {
	rl.byName[name] = append(rl.byName[name], leafRef{reg: reg, index: index})
	rl.n = max(rl.n, index+1)
}

// corrupt is a refusal to open region's log, with why.
func (rl *regionLog) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: region %s (%s): %s", ErrCorrupt, rl.region, rl.root, fmt.Sprintf(format, args...))
}

// treeState is tessera's record of the integrated tree (.state/treeState).
type treeState struct {
	Size uint64 `json:"size"`
	Root []byte `json:"root"`
}

// recover checks the log on disk before anything is appended: the
// integrated tree against its tiles, the last kept checkpoint against the
// tree, every entry against its leaf hash; and rebuilds the name index.
func (rl *regionLog) recover(ctx context.Context) error {
	raw, err := os.ReadFile(filepath.Join(rl.root, ".state", "treeState"))
	if errors.Is(err, os.ErrNotExist) {
		if last, ok := rl.cps.last(); ok && last.TreeSize > 0 {
			return rl.corrupt("no log, but a checkpoint of %d leaves was issued; restore the directory from a backup", last.TreeSize)
		}
		return nil
	}
	if err != nil {
		return rl.corrupt("read tree state: %v", err)
	}
	var st treeState
	if err := json.Unmarshal(raw, &st); err != nil {
		return rl.corrupt("tree state .state/treeState unreadable: %v", err)
	}
	size := st.Size
	fetch := rl.tileFetcher()
	root, err := rootFromTiles(ctx, size, fetch)
	if err != nil {
		return rl.corrupt("tiles of the tree of %d leaves: %v", size, err)
	}
	if !bytes.Equal(root, st.Root) {
		return rl.corrupt("tiles give root %x for %d leaves, the tree state %x", root, size, st.Root)
	}
	if last, ok := rl.cps.last(); ok {
		if uint64(last.TreeSize) > size {
			return rl.corrupt("the log holds %d leaves but a checkpoint of %d leaves was issued; leaves are lost, restore from a backup", size, last.TreeSize)
		}
		r, err := rootFromTiles(ctx, uint64(last.TreeSize), fetch)
		if err != nil {
			return rl.corrupt("tiles of the last checkpoint (%d leaves): %v", last.TreeSize, err)
		}
		if !bytes.Equal(r, last.RootHash) {
			return rl.corrupt("the log's root at %d leaves is %x, the issued checkpoint says %x", last.TreeSize, r, last.RootHash)
		}
	}
	if err := rl.checkPublished(); err != nil {
		return err
	}
	for b := uint64(0); b*layout.EntryBundleWidth < size; b++ {
		if err := rl.checkBundle(ctx, b, 0, size, fetch); err != nil {
			return err
		}
	}
	rl.n = int64(size)
	rl.logger.Info("sealed log checked", "region", rl.region, "leaves", size, "checkpoints", rl.cps.count())
	return nil
}

// checkPublished removes a published checkpoint that no longer opens
// (tessera publishes a new one from the checked tree state), and reports it.
func (rl *regionLog) checkPublished() error {
	path := filepath.Join(rl.root, layout.CheckpointPath)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return rl.corrupt("read published checkpoint: %v", err)
	}
	_, _, err = sealproof.OpenCheckpoint(raw, rl.verifier)
	if err == nil {
		return nil
	}
	rl.logger.Warn("sealed log: published checkpoint does not open; it is set aside and published again from the checked tree",
		"region", rl.region, "path", path, "error", err.Error())
	if err := os.Rename(path, path+".damaged"); err != nil {
		return rl.corrupt("set aside damaged checkpoint: %v", err)
	}
	return nil
}

// checkBundle checks entry bundle b of a tree of size leaves against the
// level-0 tile and indexes its leaves from leaf from on. A zero-filled
// tail after the bundle's entries is cut (by a writer; a reader leaves it)
// and reported; any other damage refuses the log.
func (rl *regionLog) checkBundle(ctx context.Context, b, from, size uint64, fetch client.TileFetcherFunc) error {
	width := min(layout.EntryBundleWidth, size-b*layout.EntryBundleWidth)
	p := uint8(width % layout.EntryBundleWidth)
	rel := layout.EntriesPath(b, p)
	path := filepath.Join(rl.root, rel)
	raw, err := os.ReadFile(path)
	if err != nil {
		return rl.corrupt("entry bundle %s: %v", rel, err)
	}
	tile, err := fetch(ctx, 0, b, p)
	if err != nil || uint64(len(tile)) < width*hashLen {
		return rl.corrupt("leaf hash tile of bundle %s: %v", rel, err)
	}
	off := 0
	for k := uint64(0); k < width; k++ {
		i := b*layout.EntryBundleWidth + k
		if off+2 > len(raw) {
			return rl.corrupt("entry bundle %s ends after %d of its %d entries (leaf %d missing)", rel, k, width, i)
		}
		n := int(binary.BigEndian.Uint16(raw[off:]))
		if off+2+n > len(raw) {
			return rl.corrupt("entry bundle %s: the length field of leaf %d at byte %d claims %d bytes past the end", rel, i, off, n)
		}
		leaf := raw[off+2 : off+2+n]
		if !bytes.Equal(rfc6962.DefaultHasher.HashLeaf(leaf), tile[k*hashLen:(k+1)*hashLen]) {
			return rl.corrupt("entry bundle %s: leaf %d (length field at byte %d) does not match its hash in the tiles", rel, i, off)
		}
		name, reg, err := leafHeader(leaf)
		if err != nil {
			return rl.corrupt("entry bundle %s: leaf %d: %v", rel, i, err)
		}
		if i >= from {
			rl.mu.Lock()
			rl.add(name, reg, int64(i))
			rl.mu.Unlock()
		}
		off += 2 + n
	}
	if tail := raw[off:]; len(tail) > 0 {
		if !allZero(tail) {
			return rl.corrupt("entry bundle %s holds %d unexplained bytes after its %d entries", rel, len(tail), width)
		}
		if rl.readOnly {
			return nil
		}
		rl.logger.Warn("sealed log: cutting a zero-filled tail off an entry bundle", "region", rl.region,
			"bundle", rel, "entries", width, "zero_bytes", len(tail))
		if err := writeFileAtomic(path, raw[:off]); err != nil {
			return rl.corrupt("cut zero tail of %s: %v", rel, err)
		}
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// leafHeader reads the dispute name and registration event id of a leaf
// without decoding its dossier.
func leafHeader(b []byte) (name, reg string, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", "", protowire.ParseError(n)
		}
		b = b[n:]
		if typ == protowire.BytesType && (num == 1 || num == 2) {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return "", "", protowire.ParseError(m)
			}
			if num == 1 {
				name = string(v)
			} else {
				reg = string(v)
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return "", "", protowire.ParseError(m)
		}
		b = b[m:]
	}
	if name == "" || reg == "" {
		return "", "", errors.New("leaf names no dispute or registration event")
	}
	return name, reg, nil
}

// tileFetcher reads hash tiles from disk. A partial tile no longer on disk
// is the prefix of any wider tile at the same place: tiles only grow.
func (rl *regionLog) tileFetcher() client.TileFetcherFunc {
	return func(_ context.Context, level, index uint64, p uint8) ([]byte, error) {
		raw, err := os.ReadFile(filepath.Join(rl.root, layout.TilePath(level, index, p)))
		if err == nil || p == 0 || !errors.Is(err, os.ErrNotExist) {
			return raw, err
		}
		want := int(p) * hashLen
		if full, err := os.ReadFile(filepath.Join(rl.root, layout.TilePath(level, index, 0))); err == nil && len(full) >= want {
			return full[:want], nil
		}
		dir := filepath.Dir(filepath.Join(rl.root, layout.TilePath(level, index, 1)))
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if w, err := strconv.Atoi(e.Name()); err == nil && w > int(p) && w < layout.TileWidth {
				if wider, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && len(wider) >= want {
					return wider[:want], nil
				}
			}
		}
		return nil, fmt.Errorf("tile %d/%d width %d: %w", level, index, p, os.ErrNotExist)
	}
}

// rootFromTiles is the RFC 6962 root of the first size leaves, from the
// O(log size) tile nodes of its compact range.
func rootFromTiles(ctx context.Context, size uint64, fetch client.TileFetcherFunc) ([]byte, error) {
	if size == 0 {
		return rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	nodes, err := client.FetchRangeNodes(ctx, size, fetch)
	if err != nil {
		return nil, err
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r, err := rf.NewRange(0, size, nodes)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// sealBatch appends the dossiers not sealed yet as one batch and waits for
// a checkpoint that covers them, which it keeps.
func (rl *regionLog) sealBatch(ctx context.Context, ds []*archivev1.Dossier) []Result {
	rl.sealMu.Lock()
	defer rl.sealMu.Unlock()
	out := make([]Result, len(ds))
	// Fenced: a process that no longer leads appends nothing.
	if err := rl.leads(ctx); err != nil {
		for j := range out {
			out[j].Err = err
		}
		return out
	}
	type pending struct {
		j         int
		name, reg string
		fut       tessera.IndexFuture
	}
	var todo []pending
	first := map[[2]string]int{}
	dups := map[int]int{}
	var last tessera.Index
	var integrated bool
	// A dossier found in the log (appended by a writer cut short) is
	// sealed only once a kept checkpoint covers its leaf too.
	covered := int64(0)
	if cp, ok := rl.cps.last(); ok {
		covered = cp.TreeSize
	}
	for j, d := range ds {
		leaf, err := sealproof.EncodeLeaf(d)
		if err != nil {
			out[j].Err = err
			continue
		}
		reg, _ := sealproof.RegistrationEventID(d)
		if i, ok := rl.find(d.GetName(), reg); ok {
			out[j] = Result{Index: i}
			if i >= covered && (!integrated || uint64(i) > last.Index) {
				last, integrated = tessera.Index{Index: uint64(i)}, true
			}
			continue
		}
		key := [2]string{d.GetName(), reg}
		if k, ok := first[key]; ok {
			dups[j] = k
			continue
		}
		first[key] = j
		todo = append(todo, pending{j: j, name: d.GetName(), reg: reg, fut: rl.appender.Add(ctx, tessera.NewEntry(leaf))})
	}
	for _, p := range todo {
		idx, err := p.fut()
		if err != nil {
			out[p.j].Err = fmt.Errorf("append %s: %w", p.name, err)
			continue
		}
		rl.mu.Lock()
		rl.add(p.name, p.reg, int64(idx.Index))
		rl.mu.Unlock()
		out[p.j] = Result{Index: int64(idx.Index), Appended: true}
		if !integrated || idx.Index > last.Index {
			last, integrated = idx, true
		}
	}
	for j, k := range dups {
		out[j] = Result{Index: out[k].Index, Err: out[k].Err}
	}
	if !integrated {
		return out
	}
	// Integrated is not yet published: wait for a checkpoint that covers
	// the batch, and keep it before anyone is told the dossiers are sealed.
	err := func() error {
		_, raw, err := rl.awaiter.Await(ctx, func() (tessera.Index, error) { return last, nil })
		if err != nil {
			return fmt.Errorf("await checkpoint: %w", err)
		}
		// Fenced again: a checkpoint is kept, and handed out, only while
		// this process leads.
		if err := rl.leads(ctx); err != nil {
			return err
		}
		if _, err := rl.keep(raw); err != nil {
			return err
		}
		return nil
	}()
	if err != nil {
		// Nothing past the kept checkpoint counts as sealed.
		for j := range out {
			if out[j].Err == nil && out[j].Index >= covered {
				out[j] = Result{Err: err}
			}
		}
	}
	return out
}

// leads says whether this region's log may be written now: it is open
// for writing and its fence passes.
func (rl *regionLog) leads(ctx context.Context) error {
	if rl.readOnly || rl.stopped.Load() {
		return ErrNotLeader
	}
	if rl.fence != nil {
		if err := rl.fence(ctx); err != nil {
			if errors.Is(err, ErrNotLeader) {
				return err
			}
			return fmt.Errorf("%w: %v", ErrNotLeader, err)
		}
	}
	return nil
}

// keepPublished is keep for the published checkpoint, once per content:
// the root comes from the note, never from the tiles, so serving the latest
// checkpoint costs one small file read whatever the log's size.
func (rl *regionLog) keepPublished(ctx context.Context, raw []byte) (Checkpoint, error) {
	rl.pubMu.Lock()
	defer rl.pubMu.Unlock()
	if rl.pubRaw != nil && bytes.Equal(raw, rl.pubRaw) {
		return rl.published, nil
	}
	// Fenced like a batch: only the writer that leads keeps (and so hands
	// out) a checkpoint.
	if err := rl.leads(ctx); err != nil {
		return Checkpoint{}, err
	}
	cp, err := rl.keep(raw)
	if err != nil {
		return Checkpoint{}, err
	}
	rl.pubRaw, rl.published = raw, cp
	return cp, nil
}

// keep checks a published checkpoint and keeps it.
func (rl *regionLog) keep(raw []byte) (Checkpoint, error) {
	cp, n, err := sealproof.OpenCheckpoint(raw, rl.verifier)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("published checkpoint of %s: %w", rl.region, err)
	}
	c := Checkpoint{TreeSize: int64(cp.Size), RootHash: cp.Root, Note: string(raw),
		Signature: sealproof.SignatureOf(n, rl.verifier), Origin: cp.Origin}
	if err := rl.cps.add(c); err != nil {
		return Checkpoint{}, err
	}
	return c, nil
}

// latestCheckpoint returns the latest checkpoint, keeping it first.
func (rl *regionLog) latestCheckpoint(ctx context.Context) (Checkpoint, error) {
	raw, err := os.ReadFile(filepath.Join(rl.root, layout.CheckpointPath))
	if rl.readOnly {
		// A reader hands out only what the writer kept.
		err = os.ErrNotExist
	}
	if err == nil {
		cp, err := rl.keepPublished(ctx, raw)
		if errors.Is(err, ErrNotLeader) {
			// No longer leading: what was kept.
			if last, ok := rl.cps.last(); ok {
				return last, nil
			}
		}
		if err != nil {
			return Checkpoint{}, err
		}
		if last, _ := rl.cps.last(); last.TreeSize <= cp.TreeSize {
			return cp, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return Checkpoint{}, fmt.Errorf("read checkpoint of %s: %w", rl.region, err)
	}
	if last, ok := rl.cps.last(); ok {
		return last, nil
	}
	return Checkpoint{}, fmt.Errorf("%w: region %s has published none yet", ErrNoCheckpoint, rl.region)
}

func (rl *regionLog) provable(treeSize int64) (int64, error) {
	last, ok := rl.cps.last()
	if !ok {
		return 0, &RangeError{Err: fmt.Errorf("region %s has issued no checkpoint yet", rl.region)}
	}
	if treeSize == 0 {
		return last.TreeSize, nil
	}
	if treeSize > last.TreeSize {
		return 0, &RangeError{Err: fmt.Errorf("tree size %d is past the latest checkpoint's %d", treeSize, last.TreeSize)}
	}
	return treeSize, nil
}

func (rl *regionLog) inclusionProof(ctx context.Context, index, treeSize int64) (Proof, error) {
	size, err := rl.provable(treeSize)
	if err != nil {
		return Proof{}, err
	}
	if index < 0 || index >= size {
		return Proof{}, &RangeError{Err: fmt.Errorf("leaf %d is not in a tree of size %d", index, size)}
	}
	fetch := rl.tileFetcher()
	pb, err := client.NewProofBuilder(ctx, uint64(size), fetch)
	if err != nil {
		return Proof{}, err
	}
	hashes, err := pb.InclusionProof(ctx, uint64(index))
	if err != nil {
		return Proof{}, fmt.Errorf("inclusion proof of leaf %d in %s: %w", index, rl.region, err)
	}
	b := uint64(index) / layout.TileWidth
	tile, err := fetch(ctx, 0, b, layout.PartialTileSize(0, b, uint64(size)))
	k := uint64(index) % layout.TileWidth
	if err != nil || uint64(len(tile)) < (k+1)*hashLen {
		return Proof{}, fmt.Errorf("leaf hash %d of %s: %v", index, rl.region, err)
	}
	return Proof{LeafIndex: index, TreeSize: size, LeafHash: tile[k*hashLen : (k+1)*hashLen], Hashes: hashes}, nil
}

func (rl *regionLog) consistencyProof(ctx context.Context, from, to int64) (int64, [][]byte, error) {
	to, err := rl.provable(to)
	if err != nil {
		return 0, nil, err
	}
	if from < 0 || from > to {
		return 0, nil, &RangeError{Err: fmt.Errorf("tree size %d is past %d", from, to)}
	}
	if from == 0 || from == to {
		return to, nil, nil
	}
	pb, err := client.NewProofBuilder(ctx, uint64(to), rl.tileFetcher())
	if err != nil {
		return 0, nil, err
	}
	hashes, err := pb.ConsistencyProof(ctx, uint64(from), uint64(to))
	if err != nil {
		return 0, nil, fmt.Errorf("consistency proof %d..%d of %s: %w", from, to, rl.region, err)
	}
	return to, hashes, nil
}

// leafBytes reads leaf i from its entry bundle.
func (rl *regionLog) leafBytes(_ context.Context, i int64) ([]byte, error) {
	n := rl.size()
	b := uint64(i) / layout.EntryBundleWidth
	rel := layout.EntriesPath(b, layout.PartialTileSize(0, b, uint64(n)))
	raw, err := os.ReadFile(filepath.Join(rl.root, rel))
	if errors.Is(err, os.ErrNotExist) {
		// The bundle grew since; a full bundle holds the same first entries.
		raw, err = os.ReadFile(filepath.Join(rl.root, layout.EntriesPath(b, 0)))
	}
	if err != nil {
		return nil, fmt.Errorf("read leaf %d of %s: %w", i, rl.region, err)
	}
	off := 0
	for k := uint64(0); ; k++ {
		if off+2 > len(raw) {
			return nil, fmt.Errorf("%w: region %s: leaf %d not in bundle %s", ErrCorrupt, rl.region, i, rel)
		}
		ln := int(binary.BigEndian.Uint16(raw[off:]))
		if off+2+ln > len(raw) {
			return nil, fmt.Errorf("%w: region %s: bundle %s cut short", ErrCorrupt, rl.region, rel)
		}
		if k == uint64(i)%layout.EntryBundleWidth {
			return raw[off+2 : off+2+ln], nil
		}
		off += 2 + ln
	}
}

func (rl *regionLog) leaf(ctx context.Context, i int64) (*archivev1.SealedLeaf, error) {
	raw, err := rl.leafBytes(ctx, i)
	if err != nil {
		return nil, err
	}
	l, err := sealproof.DecodeLeaf(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: region %s: leaf %d: %v", ErrCorrupt, rl.region, i, err)
	}
	return l, nil
}

// servedTile returns a tile the latest checkpoint's tree holds.
func (rl *regionLog) servedTile(ctx context.Context, level, index uint64, width uint8) ([]byte, error) {
	last, ok := rl.cps.last()
	if !ok || level > 7 {
		return nil, fmt.Errorf("%w: %w", ErrNoTile, os.ErrNotExist)
	}
	w := uint64(width)
	if w == 0 {
		w = layout.TileWidth
	}
	// Leaves the tile covers: (index*256 + width) * 256^level.
	need := index*layout.TileWidth + w
	for range level {
		need *= layout.TileWidth
	}
	if index > 1<<40 || need > uint64(last.TreeSize) {
		return nil, fmt.Errorf("%w: %w", ErrNoTile, os.ErrNotExist)
	}
	return rl.tileFetcher()(ctx, level, index, width)
}
