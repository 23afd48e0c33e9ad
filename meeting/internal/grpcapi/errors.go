package grpcapi

import (
	"errors"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
)

// ErrorInfo reasons of the meeting service.
const (
	ReasonEtagMismatch       = "ETAG_MISMATCH"
	ReasonRosterNotFound     = "ROSTER_NOT_FOUND"
	ReasonRosterUnavailable  = "ROSTER_UNAVAILABLE"
	ReasonRegionMismatch     = "REGION_MISMATCH"
	ReasonPermissionDenied   = apierr.ReasonPermissionDenied
	ReasonBackendUnavailable = apierr.ReasonBackendUnavailable
	ReasonInternal           = apierr.ReasonInternal
)

// toStatus is the one place the meeting service turns domain and storage
// errors into gRPC statuses. Field paths of roster violations are made
// relative to the request ("units[2].id" becomes "roster.units[2].id");
// etcd keys, named when the stored roster is unreadable, stay as they are.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, roster.ErrStale):
		return apierr.New(codes.Aborted, ReasonEtagMismatch, "the roster changed since it was read: get it again, reapply the change and retry with the new etag")
	case errors.Is(err, roster.ErrNotFound):
		return apierr.New(codes.NotFound, ReasonRosterNotFound, err.Error())
	}
	var (
		invalid *office.ValidationError
		refused *office.PreconditionError
		missing *office.NotFoundError
		denied  *office.DeniedError
		badName *names.Error
	)
	switch {
	case errors.As(err, &badName):
		return apierr.Invalid(apierr.Violation{Field: badName.FieldName(), Reason: badName.Error()})
	case errors.As(err, &invalid):
		out := make([]apierr.Violation, len(invalid.Violations))
		for i, v := range invalid.Violations {
			out[i] = apierr.Violation{Field: v.Field, Reason: v.Reason}
		}
		return apierr.Invalid(out...)
	case errors.As(err, &refused):
		return apierr.New(codes.FailedPrecondition, refused.Reason, refused.Msg)
	case errors.As(err, &missing):
		return apierr.New(codes.NotFound, missing.Reason, missing.Error())
	case errors.As(err, &denied):
		return apierr.New(codes.PermissionDenied, ReasonPermissionDenied, denied.Msg)
	}
	if vs, ok := roster.Violations(err); ok {
		out := make([]apierr.Violation, len(vs))
		for i, v := range vs {
			out[i] = apierr.Violation{Field: requestPath(v.Field), Reason: v.Reason}
		}
		return apierr.Invalid(out...)
	}
	// Storage failures and anything unexpected: a fixed message for the
	// caller, the error itself for the call's log line.
	return apierr.FromError(err)
}

func requestPath(field string) string {
	switch {
	case field == "update_mask", strings.HasPrefix(field, "/"):
		return field
	case field == "":
		return "roster"
	}
	return "roster." + field
}
