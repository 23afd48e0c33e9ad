package grpcapi

import (
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

// GetCheckpoint returns the signed checkpoint of the caller's region's
// sealed log.
func (s *Server) GetCheckpoint(ctx context.Context, req *archivev1.GetCheckpointRequest) (*archivev1.GetCheckpointResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	region, err := regionOf(c, req.GetParent())
	if err != nil {
		return nil, s.toStatus(err)
	}
	cp, err := s.sealed.Checkpoint(region)
	if err != nil {
		return nil, s.toStatus(err)
	}
	return checkpoint(cp), nil
}

func checkpoint(cp sealedlog.Checkpoint) *archivev1.GetCheckpointResponse {
	return &archivev1.GetCheckpointResponse{TreeSize: cp.TreeSize, RootHash: cp.RootHash, Note: cp.Note, Signature: cp.Signature}
}

// notSealed names the state of a dossier that is not in the log yet.
func notSealed(d *archivev1.Dossier) error {
	return fmt.Errorf("%w: %s is %s", sealedlog.ErrNotSealed, d.GetName(), d.GetState())
}

// GetInclusionProof proves a sealed dossier's leaf is in its region's tree
// of tree_size leaves (0: the latest), to those who may read the dossier.
func (s *Server) GetInclusionProof(ctx context.Context, req *archivev1.GetInclusionProofRequest) (*archivev1.GetInclusionProofResponse, error) {
	d, err := s.load(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if !d.GetSealed() {
		return nil, s.toStatus(notSealed(d))
	}
	p, err := s.sealed.InclusionProof(d.GetName(), req.GetTreeSize())
	if err != nil {
		return nil, s.toStatus(err)
	}
	return proofOf(p), nil
}

func proofOf(p sealedlog.Proof) *archivev1.GetInclusionProofResponse {
	return &archivev1.GetInclusionProofResponse{LeafIndex: p.LeafIndex, TreeSize: p.TreeSize, LeafHash: p.LeafHash, Hashes: p.Hashes}
}

// Export is the document ExportDossier returns: the dossier with its
// events and, once sealed, the proof of its leaf against the checkpoint.
type Export struct {
	Dossier        json.RawMessage `json:"dossier"`
	InclusionProof json.RawMessage `json:"inclusion_proof,omitempty"`
	Checkpoint     json.RawMessage `json:"checkpoint,omitempty"`
}

// ExportMediaType is the media type of an export.
const ExportMediaType = "application/json"

// ExportDossier exports a dossier as one JSON document to those who may
// read it.
func (s *Server) ExportDossier(ctx context.Context, req *archivev1.ExportDossierRequest) (*archivev1.ExportDossierResponse, error) {
	d, err := s.load(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	var doc Export
	enc := protojson.MarshalOptions{UseProtoNames: true}
	raw := func(m proto.Message) (json.RawMessage, error) {
		b, err := enc.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode export: %w", err)
		}
		return b, nil
	}
	if doc.Dossier, err = raw(d); err != nil {
		return nil, s.toStatus(err)
	}
	if d.GetSealed() {
		region, _, err := names.DisputeID(d.GetName())
		if err != nil {
			return nil, s.toStatus(err)
		}
		cp, err := s.sealed.Checkpoint(region)
		if err != nil {
			return nil, s.toStatus(err)
		}
		p, err := s.sealed.InclusionProof(d.GetName(), cp.TreeSize)
		if err != nil {
			return nil, s.toStatus(err)
		}
		if doc.Checkpoint, err = raw(checkpoint(cp)); err != nil {
			return nil, s.toStatus(err)
		}
		if doc.InclusionProof, err = raw(proofOf(p)); err != nil {
			return nil, s.toStatus(err)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, s.toStatus(fmt.Errorf("encode export: %w", err))
	}
	return &archivev1.ExportDossierResponse{MediaType: ExportMediaType, Content: b}, nil
}
