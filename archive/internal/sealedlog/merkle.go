package sealedlog

import (
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/rfc6962"
)

// hasher is the RFC 6962 SHA-256 tree hasher.
var hasher = rfc6962.DefaultHasher

// LeafHash returns the RFC 6962 hash of one leaf: SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) []byte { return hasher.HashLeaf(leaf) }

// split is the largest power of two smaller than n (n >= 2), where RFC 6962
// section 2.1 splits a tree of n leaves.
func split(n int) int { return 1 << (bits.Len(uint(n-1)) - 1) }

// rootOf is MTH(D[0:n]) over leaf hashes (RFC 6962 section 2.1).
func rootOf(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		return hasher.EmptyRoot()
	case 1:
		return leaves[0]
	}
	k := split(len(leaves))
	return hasher.HashChildren(rootOf(leaves[:k]), rootOf(leaves[k:]))
}

// pathOf is PATH(m, D[0:n]), the audit path of leaf m (RFC 6962 section
// 2.1.1), leaf-most sibling first.
func pathOf(m int, leaves [][]byte) [][]byte {
	if len(leaves) <= 1 {
		return nil
	}
	k := split(len(leaves))
	if m < k {
		return append(pathOf(m, leaves[:k]), rootOf(leaves[k:]))
	}
	return append(pathOf(m-k, leaves[k:]), rootOf(leaves[:k]))
}

// Root returns the RFC 6962 root of the tree over the given leaf hashes.
func Root(leafHashes [][]byte) []byte { return rootOf(leafHashes) }

// InclusionPath returns the audit path of leaf index in the tree of the
// first size leaf hashes.
func InclusionPath(leafHashes [][]byte, index, size int64) ([][]byte, error) {
	if size < 0 || size > int64(len(leafHashes)) {
		return nil, fmt.Errorf("tree size %d out of range [0, %d]", size, len(leafHashes))
	}
	if index < 0 || index >= size {
		return nil, fmt.Errorf("leaf %d is not in a tree of size %d", index, size)
	}
	return pathOf(int(index), leafHashes[:size]), nil
}
