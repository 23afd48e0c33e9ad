// Package sealproof is the public side of the archive's sealed log
// (docs/ARCHITECTURE.md, "Sealed log"): the leaf format, the note keys that
// sign each region's checkpoints, the export bundle and its offline
// verification. The archive writes with it; disputectl and anyone holding a
// region's public note key verify with it, without the archive.
package sealproof

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/proto"

	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
)

// RegistrationType is the event type that opens every dossier.
var RegistrationType = string((&intakev1.DisputeRegistered{}).ProtoReflect().Descriptor().FullName())

// MaxLeaf is the largest leaf a C2SP tlog-tiles entry bundle can hold (a
// 16-bit length prefix). A dossier whose leaf is larger is refused before
// anything is written.
const MaxLeaf = 1<<16 - 1

// Origin names a region's log: the first line of its checkpoints and the
// name of the note key that signs them.
func Origin(region string) string { return "disputes.archive/regions/" + region }

// ErrNoRegistration: the dossier holds no DisputeRegistered event, so its
// leaf could not name it unambiguously.
var ErrNoRegistration = errors.New("dossier has no registration event")

// RegistrationEventID returns the id of d's DisputeRegistered event.
func RegistrationEventID(d *archivev1.Dossier) (string, error) {
	for _, e := range d.GetEvents() {
		if e.GetType() == RegistrationType {
			return e.GetId(), nil
		}
	}
	return "", fmt.Errorf("%w: %s", ErrNoRegistration, d.GetName())
}

// Canonical returns d as it is sealed: sealed, leaf_index and the addendum
// unset (they are the archive's view of the leaf, not part of it); d
// itself when they are unset already.
func Canonical(d *archivev1.Dossier) *archivev1.Dossier {
	if !d.GetSealed() && d.GetLeafIndex() == 0 && len(d.GetAddendum()) == 0 {
		return d
	}
	c := proto.Clone(d).(*archivev1.Dossier)
	c.Sealed, c.LeafIndex, c.Addendum = false, 0, nil
	return c
}

// LeafTooLargeError is a dossier whose leaf exceeds MaxLeaf.
type LeafTooLargeError struct {
	Name string
	Size int
}

func (e *LeafTooLargeError) Error() string {
	return fmt.Sprintf("dossier %s encodes to %d bytes, over the sealed log's entry limit of %d", e.Name, e.Size, MaxLeaf)
}

// EncodeLeaf returns the leaf of dossier d: the deterministic encoding of
// a SealedLeaf naming the dispute and its registration event.
func EncodeLeaf(d *archivev1.Dossier) ([]byte, error) {
	reg, err := RegistrationEventID(d)
	if err != nil {
		return nil, err
	}
	leaf := &archivev1.SealedLeaf{Name: d.GetName(), RegistrationEventId: reg, Dossier: Canonical(d)}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(leaf)
	if err != nil {
		return nil, fmt.Errorf("encode leaf of %s: %w", d.GetName(), err)
	}
	if len(b) > MaxLeaf {
		return nil, &LeafTooLargeError{Name: d.GetName(), Size: len(b)}
	}
	return b, nil
}

// DecodeLeaf parses a leaf.
func DecodeLeaf(b []byte) (*archivev1.SealedLeaf, error) {
	l := &archivev1.SealedLeaf{}
	if err := proto.Unmarshal(b, l); err != nil {
		return nil, fmt.Errorf("decode leaf: %w", err)
	}
	if l.GetName() == "" || l.GetRegistrationEventId() == "" || l.GetDossier() == nil {
		return nil, errors.New("decode leaf: name, registration event or dossier missing")
	}
	return l, nil
}

// keyHash is the note key id: the first 4 bytes of SHA-256 over the name,
// a newline, the algorithm byte and the public key (signed-note spec, as
// golang.org/x/mod/sumdb/note computes it).
func keyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{1}) // Ed25519
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// NewSigner returns the note signer of the log named name with key.
func NewSigner(name string, key ed25519.PrivateKey) (note.Signer, error) {
	pub := key.Public().(ed25519.PublicKey)
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, keyHash(name, pub),
		base64.StdEncoding.EncodeToString(append([]byte{1}, key.Seed()...)))
	return note.NewSigner(skey)
}

// VerifierKey returns the public note key (name+keyid+base64 key) of the
// log named name whose checkpoints pub verifies.
func VerifierKey(name string, pub ed25519.PublicKey) string {
	return fmt.Sprintf("%s+%08x+%s", name, keyHash(name, pub), base64.StdEncoding.EncodeToString(append([]byte{1}, pub...)))
}

// Checkpoint is the body of a C2SP tlog-checkpoint.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// ParseCheckpoint parses a checkpoint body: origin, size and base64 root,
// one per line, then optional extension lines.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return Checkpoint{}, errors.New("checkpoint: want origin, size and root lines")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || (len(lines[1]) > 1 && lines[1][0] == '0') {
		return Checkpoint{}, fmt.Errorf("checkpoint: bad size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != sha256.Size {
		return Checkpoint{}, fmt.Errorf("checkpoint: bad root hash %q", lines[2])
	}
	if lines[0] == "" {
		return Checkpoint{}, errors.New("checkpoint: empty origin")
	}
	return Checkpoint{Origin: lines[0], Size: size, Root: root}, nil
}

// OpenCheckpoint checks the signature of a signed checkpoint note with
// verifier and parses it; the origin must be the key's name.
func OpenCheckpoint(signed []byte, v note.Verifier) (Checkpoint, *note.Note, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("signature: %w", err)
	}
	cp, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if cp.Origin != v.Name() {
		return Checkpoint{}, nil, fmt.Errorf("checkpoint: origin %q is not the key's log %q", cp.Origin, v.Name())
	}
	return cp, n, nil
}

// SignatureOf returns the raw signature in a signed note made by v's key.
func SignatureOf(n *note.Note, v note.Verifier) []byte {
	for _, s := range n.Sigs {
		if s.Name == v.Name() && s.Hash == v.KeyHash() {
			b, err := base64.StdEncoding.DecodeString(s.Base64)
			if err == nil && len(b) > 4 {
				return bytes.Clone(b[4:])
			}
		}
	}
	return nil
}
