package sealedlog

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"

	"google.golang.org/protobuf/proto"

	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

// The earlier format of the sealed log: one file <region>.log of records,
// each a 4-byte big-endian length, a 4-byte CRC-32C of the leaf and the
// leaf, a deterministic archive.v1.Dossier.
const (
	legacySuffix    = ".log"
	legacyHeaderLen = 8
	legacyMaxLeaf   = 64 << 20
	// MigratedSuffix is appended to a legacy log's name once its dossiers
	// are in the region's transparency log; the file is kept.
	MigratedSuffix = ".migrated"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// readLegacy reads every dossier of a legacy log. It refuses what the
// format could not tell from damage before (a record of zero bytes, a
// length past the end, a bad checksum before the last record) and reports
// a torn or zero-filled tail instead of taking it for records.
func readLegacy(path string) (ds []*archivev1.Dossier, tail string, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read legacy log: %w", err)
	}
	off := 0
	for off < len(raw) {
		rest := raw[off:]
		if allZero(rest) {
			return ds, fmt.Sprintf("%d zero bytes at offset %d", len(rest), off), nil
		}
		if len(rest) < legacyHeaderLen {
			return ds, fmt.Sprintf("a torn header of %d bytes at offset %d", len(rest), off), nil
		}
		n := int(binary.BigEndian.Uint32(rest[:4]))
		sum := binary.BigEndian.Uint32(rest[4:8])
		switch {
		case n == 0:
			return nil, "", fmt.Errorf("%w: %s: empty record at offset %d followed by data", ErrCorrupt, path, off)
		case n > legacyMaxLeaf:
			return nil, "", fmt.Errorf("%w: %s: record at offset %d claims %d bytes", ErrCorrupt, path, off, n)
		case legacyHeaderLen+n > len(rest):
			return nil, "", fmt.Errorf("%w: %s: the length field at offset %d claims %d bytes, %d remain; later records would be lost",
				ErrCorrupt, path, off, n, len(rest)-legacyHeaderLen)
		}
		leaf := rest[legacyHeaderLen : legacyHeaderLen+n]
		if crc32.Checksum(leaf, castagnoli) != sum {
			return nil, "", fmt.Errorf("%w: %s: checksum mismatch at offset %d", ErrCorrupt, path, off)
		}
		d := &archivev1.Dossier{}
		if err := proto.Unmarshal(leaf, d); err != nil || d.GetName() == "" {
			return nil, "", fmt.Errorf("%w: %s: record at offset %d is no dossier: %v", ErrCorrupt, path, off, err)
		}
		ds = append(ds, d)
		off += legacyHeaderLen + n
	}
	return ds, "", nil
}

// migrate seals the dossiers of region's legacy log into its transparency
// log in their order, then renames the legacy file. It is idempotent: a
// migration cut short is resumed, each dossier sealed once.
func (l *Log) migrate(region, path string) error {
	ds, tail, err := readLegacy(path)
	if err != nil {
		return fmt.Errorf("migrate %s: %w (the file is left as it is)", path, err)
	}
	if tail != "" {
		l.log.Warn("sealed log migration: the legacy log ends in damage that holds no record; it is left out",
			"region", region, "path", path, "tail", tail)
	}
	ctx := context.Background()
	sealed := 0
	for start := 0; start < len(ds); start += l.opts.MaxBatch {
		for i, r := range l.SealBatch(ctx, ds[start:min(len(ds), start+l.opts.MaxBatch)]) {
			if r.Err != nil {
				return fmt.Errorf("migrate %s: dossier %s: %w (the file is left as it is)", path, ds[start+i].GetName(), r.Err)
			}
			if r.Appended {
				sealed++
			}
		}
	}
	if err := os.Rename(path, path+MigratedSuffix); err != nil {
		return fmt.Errorf("migrate %s: %w", path, err)
	}
	l.log.Info("sealed log migrated", "region", region, "from", path, "dossiers", len(ds), "appended", sealed)
	return nil
}
