// Package grpcapi implements archive.v1.ArchiveService: thin handlers that
// authorise per dossier, read the store and map errors.
package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealing"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

// Server is the ArchiveService implementation.
type Server struct {
	archivev1.UnimplementedArchiveServiceServer

	store  *store.Store
	sealed *sealedlog.Log
	log    *slog.Logger
}

// New returns the service over the Redis store and the sealed log.
func New(st *store.Store, sealed *sealedlog.Log, log *slog.Logger) *Server {
	return &Server{store: st, sealed: sealed, log: log}
}

func caller(ctx context.Context) (dossier.Caller, error) {
	id, ok := authn.FromContext(ctx)
	if !ok {
		return dossier.Caller{}, apierr.New(codes.Unauthenticated, apierr.ReasonUnauthenticated, "no caller identity")
	}
	return dossier.Caller{Region: id.Region, Department: id.Department,
		RegionWide: id.HasAnyRole(authn.RoleOffice, authn.RoleConvenor)}, nil
}

// regionOf returns the region of a parent "regions/<r>" the caller belongs to.
func regionOf(c dossier.Caller, parent string) (string, error) {
	region, err := names.ParseRegion(parent)
	if err != nil {
		return "", names.InField("parent", err)
	}
	if region != c.Region {
		return "", fmt.Errorf("%w: caller's region %s differs from %s", dossier.ErrPermissionDenied, c.Region, region)
	}
	return region, nil
}

// toStatus is the one table from domain and store errors to gRPC statuses.
func (s *Server) toStatus(err error) error {
	if err == nil {
		return nil
	}
	var ve *dossier.ValidationError
	var re *sealedlog.RangeError
	var ne *names.Error
	var broad *store.TooBroadError
	switch {
	case errors.As(err, &ve):
		return apierr.Invalid(apierr.Violation{Field: ve.Field, Reason: ve.Reason})
	case errors.As(err, &ne):
		return apierr.Invalid(apierr.Violation{Field: ne.FieldName(), Reason: ne.Error()})
	case errors.As(err, &re):
		return apierr.Invalid(apierr.Violation{Field: "tree_size", Reason: re.Error()})
	case errors.As(err, &broad):
		return apierr.New(codes.FailedPrecondition, "SEARCH_TOO_BROAD", broad.Error())
	case errors.Is(err, sealedlog.ErrNotSealed):
		return apierr.New(codes.FailedPrecondition, "DOSSIER_NOT_SEALED", err.Error())
	case errors.Is(err, sealedlog.ErrMismatch):
		return apierr.New(codes.FailedPrecondition, "SEALED_LEAF_MISMATCH", err.Error())
	case errors.Is(err, sealproof.ErrNoRegistration):
		return apierr.New(codes.FailedPrecondition, "SEALED_LEAF_MISMATCH", err.Error())
	case errors.Is(err, sealedlog.ErrNoCheckpoint):
		return apierr.New(codes.NotFound, "CHECKPOINT_NOT_FOUND", err.Error())
	case errors.Is(err, sealedlog.ErrNoTile):
		return apierr.New(codes.NotFound, "TILE_NOT_FOUND", err.Error())
	case errors.Is(err, dossier.ErrNotFound):
		return apierr.New(codes.NotFound, "DOSSIER_NOT_FOUND", err.Error())
	case errors.Is(err, dossier.ErrPermissionDenied):
		return apierr.New(codes.PermissionDenied, apierr.ReasonPermissionDenied, err.Error())
	}
	// Statuses built already, storage failures and anything unexpected:
	// a fixed message for the caller, the error itself for the call's log line.
	return apierr.FromError(err)
}

func summary(d *dossier.Dossier) *archivev1.Dossier { return sealing.Proto(d, nil) }

// load returns dossier name with its events if the caller may read it: a
// department that took part, or the region's office and convenor. A
// dossier the store marks sealed is served from its leaf, and only if the
// leaf names the same dispute and registration event; a dossier Redis lost
// is served from the log's latest leaf of that name.
func (s *Server) load(ctx context.Context, name string) (*archivev1.Dossier, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	region, _, err := names.DisputeID(name)
	if err != nil {
		return nil, s.toStatus(err)
	}
	if region != c.Region {
		return nil, s.toStatus(fmt.Errorf("%w: caller's region %s differs from the dispute's region %s", dossier.ErrPermissionDenied, c.Region, region))
	}
	out, err := s.dossier(ctx, name)
	if errors.Is(err, dossier.ErrNotFound) {
		return nil, s.toStatus(notFound(name))
	}
	if err != nil {
		return nil, s.toStatus(err)
	}
	if !(&dossier.Dossier{Region: region, Departments: out.GetDepartments()}).CanView(c) {
		// The same answer as for a dossier that does not exist.
		return nil, s.toStatus(notFound(name))
	}
	return out, nil
}

func (s *Server) dossier(ctx context.Context, name string) (*archivev1.Dossier, error) {
	d, evs, err := s.store.Get(ctx, name)
	if errors.Is(err, dossier.ErrNotFound) {
		out, lerr := s.sealed.Lookup(ctx, name)
		if errors.Is(lerr, sealedlog.ErrNotSealed) {
			return nil, err
		}
		return out, lerr
	}
	if err != nil {
		return nil, err
	}
	out := sealing.Proto(d, evs)
	if !d.Sealed {
		return out, nil
	}
	reg, err := sealproof.RegistrationEventID(out)
	if err != nil {
		return nil, err
	}
	sealed, _, err := s.sealed.Leaf(ctx, name, reg, d.LeafIndex)
	return sealed, err
}

// notFound is the one answer for a dossier that does not exist and for one
// the caller may not read: the same code, reason and message, naming only
// the requested name, so a refusal never tells that a dispute exists.
func notFound(name string) error { return fmt.Errorf("%w: %s", dossier.ErrNotFound, name) }

// GetDossier returns a dossier with its events in order to a department
// that took part, or to the region's office and convenor.
func (s *Server) GetDossier(ctx context.Context, req *archivev1.GetDossierRequest) (*archivev1.GetDossierResponse, error) {
	d, err := s.load(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	// The addendum is shown with the dossier; it is no part of the sealed
	// leaf, so proofs and exports leave it out.
	if d.Addendum, err = s.store.Addendum(ctx, d.GetName()); err != nil {
		return nil, s.toStatus(err)
	}
	return &archivev1.GetDossierResponse{Dossier: d}, nil
}

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// page reads an offset page token and a page size (0: def, at most max);
// one reading serves every list of the archive.
func page(token string, pageSize int32, def, max int) (offset, size int, err error) {
	if token != "" {
		if offset, err = strconv.Atoi(token); err != nil || offset < 0 {
			return 0, 0, &dossier.ValidationError{Field: "page_token", Reason: "is not a token from a previous response"}
		}
	}
	size = int(pageSize)
	if size == 0 {
		size = def
	}
	return offset, min(size, max), nil
}
