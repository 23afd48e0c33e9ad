// Package grpcapi implements routing.v1.RoutingService: thin handlers that
// authorise, call the tracker domain through the store and map errors.
package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/legal"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// Rosters gives the last valid roster of a region (the roster watcher).
type Rosters interface {
	Get(region string) (*rosterv1.Roster, bool)
}

// Server is the RoutingService implementation.
type Server struct {
	routingv1.UnimplementedRoutingServiceServer

	store    *store.Store
	rosters  Rosters
	calendar tracker.Calendar
	now      func() time.Time
	log      *slog.Logger
	legal    *legal.Source
	// calendars is what GetCalendarStatus reads (SetCalendars).
	calendars *regionconfig.Watcher[*configv1.BusinessCalendar]
}

// New returns the service.
func New(st *store.Store, rosters Rosters, cal tracker.Calendar, now func() time.Time, log *slog.Logger) *Server {
	return &Server{store: st, rosters: rosters, calendar: cal, now: now, log: log}
}

var errNoRoster = errors.New("roster of the region is not loaded")

// caller returns the domain view of the authenticated caller.
func caller(ctx context.Context) (tracker.Caller, error) {
	id, ok := authn.FromContext(ctx)
	if !ok {
		return tracker.Caller{}, apierr.New(codes.Unauthenticated, apierr.ReasonUnauthenticated, "no caller identity")
	}
	return tracker.Caller{
		Actor:      tracker.Actor{Region: id.Region, Department: id.Department, Staff: id.Staff, Roles: id.Roles},
		RegionWide: id.HasAnyRole(authn.RoleOffice, authn.RoleConvenor),
		Office:     id.HasAnyRole(authn.RoleOffice),
		Head:       id.HasAnyRole(authn.RoleHead),
	}, nil
}

// inRegion refuses callers of another region before anything is read.
func inRegion(c tracker.Caller, name string) error {
	region, _, _, err := names.ParseDispute(name)
	if err != nil {
		return err
	}
	if region != c.Region {
		return fmt.Errorf("%w: caller's region %s differs from the dispute's region %s", tracker.ErrPermissionDenied, c.Region, region)
	}
	return nil
}

// notFound is the one answer for a dispute without a tracker and for one the
// caller may not read: the same code, reason and message, naming only the
// requested name, so a refusal never tells that a dispute exists.
func notFound(name string) error { return fmt.Errorf("%w: %s", tracker.ErrNotFound, name) }

// hideMissing turns the store's not found for name into notFound(name).
func hideMissing(name string, err error) error {
	if errors.Is(err, tracker.ErrNotFound) {
		return notFound(name)
	}
	return err
}

// toStatus is the one table from domain and store errors to gRPC statuses.
func (s *Server) toStatus(err error) error {
	if err == nil {
		return nil
	}
	var ve *tracker.ValidationError
	var refused *tracker.RefusedError
	var ne *names.Error
	var cm *calendarMissingError
	switch {
	case errors.As(err, &cm):
		return cm.status()
	case errors.As(err, &ve):
		return apierr.Invalid(apierr.Violation{Field: ve.Field, Reason: ve.Reason})
	case errors.As(err, &ne):
		return apierr.Invalid(apierr.Violation{Field: ne.FieldName(), Reason: ne.Error()})
	case errors.Is(err, tracker.ErrNotFound):
		return apierr.New(codes.NotFound, "TRACKING_NOT_FOUND", err.Error())
	case errors.Is(err, tracker.ErrPermissionDenied):
		return apierr.New(codes.PermissionDenied, apierr.ReasonPermissionDenied, err.Error())
	case errors.Is(err, tracker.ErrIllegalTransition):
		return apierr.New(codes.FailedPrecondition, "ILLEGAL_TRANSITION", err.Error())
	case errors.Is(err, tracker.ErrEtagMismatch):
		return apierr.New(codes.Aborted, "ETAG_MISMATCH", err.Error())
	case errors.As(err, &refused):
		return apierr.New(codes.FailedPrecondition, refused.Reason, err.Error())
	case errors.Is(err, tracker.ErrPrecondition):
		return apierr.New(codes.FailedPrecondition, "PRECONDITION_NOT_MET", err.Error())
	case errors.Is(err, tracker.ErrNoOffice):
		return apierr.New(codes.FailedPrecondition, "NO_OFFICE", err.Error())
	case errors.Is(err, events.ErrBehind):
		return apierr.New(codes.Unavailable, "CATCHING_UP", "the dispute's latest events are still being applied; retry")
	case errors.Is(err, errNoRoster):
		return apierr.New(codes.Unavailable, "ROSTER_UNAVAILABLE", err.Error())
	}
	// Statuses built already, storage failures and anything unexpected:
	// a fixed message for the caller, the error itself for the call's log line.
	return apierr.FromError(err)
}
