package sealproof

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	// The payloads of the events a dossier holds, so their JSON decodes
	// (intake's come with sealproof.go).
	_ "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	_ "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	_ "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
)

// Bundle is an exported sealed dossier: everything needed to check it
// offline against the region's public note key. Its parts are the
// protobuf JSON of the archive's messages.
type Bundle struct {
	Dossier        json.RawMessage `json:"dossier"`
	Leaf           []byte          `json:"leaf,omitempty"`
	InclusionProof json.RawMessage `json:"inclusion_proof,omitempty"`
	Checkpoint     json.RawMessage `json:"checkpoint,omitempty"`
}

// MediaType is the media type of a bundle.
const MediaType = "application/json"

var jsonOut = protojson.MarshalOptions{UseProtoNames: true}

// NewBundle encodes a bundle; leaf, p and cp are nil for a dossier not
// sealed yet.
func NewBundle(d *archivev1.Dossier, leaf []byte, p *archivev1.GetInclusionProofResponse, cp *archivev1.GetCheckpointResponse) ([]byte, error) {
	var b Bundle
	var err error
	if b.Dossier, err = jsonOut.Marshal(d); err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	if leaf != nil {
		b.Leaf = leaf
		if b.InclusionProof, err = jsonOut.Marshal(p); err != nil {
			return nil, fmt.Errorf("encode bundle: %w", err)
		}
		if b.Checkpoint, err = jsonOut.Marshal(cp); err != nil {
			return nil, fmt.Errorf("encode bundle: %w", err)
		}
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return out, nil
}

// VerifyError says which part of a bundle fails and why.
type VerifyError struct {
	// Part is one of "bundle", "key", "checkpoint", "inclusion proof",
	// "leaf" or "dossier".
	Part   string
	Reason string
}

func (e *VerifyError) Error() string { return e.Part + ": " + e.Reason }

func fail(part, format string, args ...any) error {
	return &VerifyError{Part: part, Reason: fmt.Sprintf(format, args...)}
}

// Verified is what a valid bundle proves.
type Verified struct {
	Name, RegistrationEventID string
	LeafIndex, TreeSize       uint64
	Origin                    string
	Root                      []byte
}

// Verify checks a bundle offline against the public note key vkey
// (name+keyid+key): the checkpoint's signature, the inclusion proof of the
// leaf under the checkpoint's root, and that the leaf is the dossier's.
// It returns a *VerifyError naming the first part that fails.
func Verify(bundle []byte, vkey string) (*Verified, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fail("key", "%v", err)
	}
	var b Bundle
	dec := json.NewDecoder(bytes.NewReader(bundle))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fail("bundle", "not an export bundle: %v", err)
	}
	in := protojson.UnmarshalOptions{}
	d := &archivev1.Dossier{}
	if err := in.Unmarshal(b.Dossier, d); err != nil {
		return nil, fail("dossier", "malformed: %v", err)
	}
	if len(b.Leaf) == 0 || len(b.InclusionProof) == 0 || len(b.Checkpoint) == 0 {
		return nil, fail("bundle", "dossier %s is not sealed: no leaf, proof or checkpoint", d.GetName())
	}
	cpMsg := &archivev1.GetCheckpointResponse{}
	if err := in.Unmarshal(b.Checkpoint, cpMsg); err != nil {
		return nil, fail("checkpoint", "malformed: %v", err)
	}
	cp, _, err := OpenCheckpoint([]byte(cpMsg.GetNote()), v)
	if err != nil {
		return nil, fail("checkpoint", "%v", err)
	}
	p := &archivev1.GetInclusionProofResponse{}
	if err := in.Unmarshal(b.InclusionProof, p); err != nil {
		return nil, fail("inclusion proof", "malformed: %v", err)
	}
	if p.GetTreeSize() < 0 || uint64(p.GetTreeSize()) != cp.Size {
		return nil, fail("inclusion proof", "is for a tree of %d leaves, the checkpoint for %d", p.GetTreeSize(), cp.Size)
	}
	leafHash := rfc6962.DefaultHasher.HashLeaf(b.Leaf)
	if !bytes.Equal(leafHash, p.GetLeafHash()) {
		return nil, fail("leaf", "hashes to %x, the proof names %x", leafHash, p.GetLeafHash())
	}
	if p.GetLeafIndex() < 0 || p.GetLeafIndex() != d.GetLeafIndex() {
		return nil, fail("inclusion proof", "is for leaf %d, the dossier says %d", p.GetLeafIndex(), d.GetLeafIndex())
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(p.GetLeafIndex()), cp.Size, leafHash, p.GetHashes(), cp.Root); err != nil {
		return nil, fail("inclusion proof", "leaf %d is not under the checkpoint's root of tree size %d: %v", p.GetLeafIndex(), cp.Size, err)
	}
	leaf, err := DecodeLeaf(b.Leaf)
	if err != nil {
		return nil, fail("leaf", "%v", err)
	}
	if leaf.GetName() != d.GetName() {
		return nil, fail("dossier", "is %s, the sealed leaf names %s", d.GetName(), leaf.GetName())
	}
	reg, err := RegistrationEventID(d)
	if err != nil {
		return nil, fail("dossier", "%v", err)
	}
	if reg != leaf.GetRegistrationEventId() {
		return nil, fail("dossier", "registration event %s, the sealed leaf names %s", reg, leaf.GetRegistrationEventId())
	}
	// The bundle's dossier went through JSON; so does the leaf's before they
	// are compared, so event payloads (Any) are encoded alike.
	sealed, err := roundTrip(leaf.GetDossier())
	if err != nil {
		return nil, fail("leaf", "%v", err)
	}
	if diff := firstDiff(Canonical(d), sealed); diff != "" {
		return nil, fail("dossier", "differs from the sealed leaf in %s", diff)
	}
	return &Verified{Name: d.GetName(), RegistrationEventID: reg, LeafIndex: uint64(p.GetLeafIndex()),
		TreeSize: cp.Size, Origin: cp.Origin, Root: cp.Root}, nil
}

func roundTrip(d *archivev1.Dossier) (*archivev1.Dossier, error) {
	b, err := jsonOut.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("re-encode the sealed dossier: %w", err)
	}
	out := &archivev1.Dossier{}
	if err := protojson.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("re-encode the sealed dossier: %w", err)
	}
	return out, nil
}

// firstDiff names the first top-level field (or event) where a and b
// differ, "" when they are equal.
func firstDiff(a, b *archivev1.Dossier) string {
	if proto.Equal(a, b) {
		return ""
	}
	if len(a.GetEvents()) != len(b.GetEvents()) {
		return fmt.Sprintf("events (%d, sealed %d)", len(a.GetEvents()), len(b.GetEvents()))
	}
	for i := range a.GetEvents() {
		if !proto.Equal(a.GetEvents()[i], b.GetEvents()[i]) {
			return fmt.Sprintf("event %d (%s)", i, b.GetEvents()[i].GetId())
		}
	}
	fields := a.ProtoReflect().Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if !a.ProtoReflect().Get(f).Equal(b.ProtoReflect().Get(f)) {
			return string(f.Name())
		}
	}
	return "its encoding"
}
