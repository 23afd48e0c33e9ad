package sealedlog

import (
	"crypto/ed25519"
	"encoding/base64"
	"strconv"
)

// Origin names a region's log in its checkpoints.
func Origin(region string) string { return "disputes.archive/regions/" + region }

// Note is the checkpoint text that is signed: the origin, the tree size
// and the base64 root hash, one per line.
func Note(origin string, size int64, root []byte) string {
	return origin + "\n" + strconv.FormatInt(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root) + "\n"
}

// Signer signs checkpoints with an Ed25519 key.
type Signer struct {
	key ed25519.PrivateKey
}

// NewSigner returns a signer with key.
func NewSigner(key ed25519.PrivateKey) *Signer { return &Signer{key: key} }

// Sign returns the Ed25519 signature of note.
func (s *Signer) Sign(note string) []byte { return ed25519.Sign(s.key, []byte(note)) }

// Public returns the key that verifies the signatures.
func (s *Signer) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }
