package grpcapi

import (
	"context"
	"fmt"
	"strconv"

	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

// parentRegion returns the region of a parent "regions/<r>". The log's
// public calls need no caller.
func parentRegion(parent string) (string, error) {
	region, err := names.ParseRegion(parent)
	if err != nil {
		return "", names.InField("parent", err)
	}
	return region, nil
}

// GetCheckpoint returns a signed checkpoint of a region's sealed log: the
// latest, or the one issued for tree_size.
func (s *Server) GetCheckpoint(ctx context.Context, req *archivev1.GetCheckpointRequest) (*archivev1.GetCheckpointResponse, error) {
	region, err := parentRegion(req.GetParent())
	if err != nil {
		return nil, s.toStatus(err)
	}
	cp, err := s.sealed.Checkpoint(ctx, region, req.GetTreeSize())
	if err != nil {
		return nil, s.toStatus(err)
	}
	return s.checkpoint(region, cp), nil
}

func (s *Server) checkpoint(region string, cp sealedlog.Checkpoint) *archivev1.GetCheckpointResponse {
	return &archivev1.GetCheckpointResponse{TreeSize: cp.TreeSize, RootHash: cp.RootHash, Note: cp.Note,
		Signature: cp.Signature, Origin: cp.Origin, VerifierKey: s.sealed.VerifierKey(region)}
}

const (
	defaultCheckpointPage = 100
	maxCheckpointPage     = 1000
)

// ListCheckpoints pages every checkpoint issued for a region, smallest
// tree first.
func (s *Server) ListCheckpoints(ctx context.Context, req *archivev1.ListCheckpointsRequest) (*archivev1.ListCheckpointsResponse, error) {
	region, err := parentRegion(req.GetParent())
	if err != nil {
		return nil, s.toStatus(err)
	}
	offset, size, err := page(req.GetPageToken(), req.GetPageSize(), defaultCheckpointPage, maxCheckpointPage)
	if err != nil {
		return nil, s.toStatus(err)
	}
	cps, err := s.sealed.Checkpoints(region)
	if err != nil {
		return nil, s.toStatus(err)
	}
	resp := &archivev1.ListCheckpointsResponse{}
	for i := offset; i < len(cps) && i < offset+size; i++ {
		resp.Checkpoints = append(resp.Checkpoints, s.checkpoint(region, cps[i]))
	}
	if offset+size < len(cps) {
		resp.NextPageToken = strconv.Itoa(offset + size)
	}
	return resp, nil
}

// GetConsistencyProof proves the tree of from_size leaves is a prefix of
// the tree of to_size leaves (0: the latest checkpoint).
func (s *Server) GetConsistencyProof(ctx context.Context, req *archivev1.GetConsistencyProofRequest) (*archivev1.GetConsistencyProofResponse, error) {
	region, err := parentRegion(req.GetParent())
	if err != nil {
		return nil, s.toStatus(err)
	}
	to, hashes, err := s.sealed.ConsistencyProof(ctx, region, req.GetFromSize(), req.GetToSize())
	if err != nil {
		return nil, s.toStatus(err)
	}
	return &archivev1.GetConsistencyProofResponse{FromSize: req.GetFromSize(), ToSize: to, Hashes: hashes}, nil
}

// GetLogTile returns a hash tile of a region's log.
func (s *Server) GetLogTile(ctx context.Context, req *archivev1.GetLogTileRequest) (*archivev1.GetLogTileResponse, error) {
	region, err := parentRegion(req.GetParent())
	if err != nil {
		return nil, s.toStatus(err)
	}
	b, err := s.sealed.Tile(ctx, region, uint64(req.GetLevel()), uint64(req.GetIndex()), uint8(req.GetWidth()))
	if err != nil {
		return nil, s.toStatus(err)
	}
	return &archivev1.GetLogTileResponse{Data: b}, nil
}

// notSealed names the state of a dossier that is not in the log yet.
func notSealed(d *archivev1.Dossier) error {
	return fmt.Errorf("%w: %s is %s", sealedlog.ErrNotSealed, d.GetName(), d.GetState())
}

// GetInclusionProof proves a sealed dossier's leaf is in its region's tree
// of tree_size leaves (0: the latest checkpoint), to those who may read
// the dossier.
func (s *Server) GetInclusionProof(ctx context.Context, req *archivev1.GetInclusionProofRequest) (*archivev1.GetInclusionProofResponse, error) {
	d, err := s.load(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if !d.GetSealed() {
		return nil, s.toStatus(notSealed(d))
	}
	region, _, err := names.DisputeID(d.GetName())
	if err != nil {
		return nil, s.toStatus(err)
	}
	p, err := s.sealed.InclusionProof(ctx, region, d.GetLeafIndex(), req.GetTreeSize())
	if err != nil {
		return nil, s.toStatus(err)
	}
	return proofOf(p), nil
}

func proofOf(p sealedlog.Proof) *archivev1.GetInclusionProofResponse {
	return &archivev1.GetInclusionProofResponse{LeafIndex: p.LeafIndex, TreeSize: p.TreeSize, LeafHash: p.LeafHash, Hashes: p.Hashes}
}

// ExportMediaType is the media type of an export.
const ExportMediaType = sealproof.MediaType

// ExportDossier exports a dossier as one bundle (archive/sealproof) to
// those who may read it: once sealed, with its leaf, the latest checkpoint
// and the inclusion proof against it, so it verifies offline
// (disputectl archive verify).
func (s *Server) ExportDossier(ctx context.Context, req *archivev1.ExportDossierRequest) (*archivev1.ExportDossierResponse, error) {
	d, err := s.load(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if !d.GetSealed() {
		b, err := sealproof.NewBundle(d, nil, nil, nil)
		if err != nil {
			return nil, s.toStatus(err)
		}
		return &archivev1.ExportDossierResponse{MediaType: ExportMediaType, Content: b}, nil
	}
	region, _, err := names.DisputeID(d.GetName())
	if err != nil {
		return nil, s.toStatus(err)
	}
	reg, err := sealproof.RegistrationEventID(d)
	if err != nil {
		return nil, s.toStatus(err)
	}
	_, leaf, err := s.sealed.Leaf(ctx, d.GetName(), reg, d.GetLeafIndex())
	if err != nil {
		return nil, s.toStatus(err)
	}
	cp, err := s.sealed.Checkpoint(ctx, region, 0)
	if err != nil {
		return nil, s.toStatus(err)
	}
	p, err := s.sealed.InclusionProof(ctx, region, d.GetLeafIndex(), cp.TreeSize)
	if err != nil {
		return nil, s.toStatus(err)
	}
	b, err := sealproof.NewBundle(d, leaf, proofOf(p), s.checkpoint(region, cp))
	if err != nil {
		return nil, s.toStatus(err)
	}
	return &archivev1.ExportDossierResponse{MediaType: ExportMediaType, Content: b}, nil
}
