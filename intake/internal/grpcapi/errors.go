package grpcapi

import (
	"errors"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// ErrorInfo reasons intake returns besides those of dispute.DeniedError.
const (
	ReasonDisputeNotFound   = "DISPUTE_NOT_FOUND"
	ReasonNoRoster          = "NO_ROSTER"
	ReasonExternalRefExists = "EXTERNAL_REF_EXISTS"
	ReasonRequestIDReused   = "REQUEST_ID_REUSED"
	ReasonAlreadyWithdrawn  = "ALREADY_WITHDRAWN"
	ReasonUnauthenticated   = apierr.ReasonUnauthenticated
	ReasonInternal          = apierr.ReasonInternal
)

// errNoIdentity means a handler ran without the caller's identity, which
// the authn interceptor should have made impossible.
var errNoIdentity = errors.New("no caller identity")

// toStatus is the one mapping of intake's errors to gRPC statuses, each with
// an ErrorInfo reason clients branch on.
func toStatus(err error) error {
	var (
		ve  *dispute.ValidationError
		de  *dispute.DeniedError
		dup *dispute.DuplicateRefError
		se  *dispute.StateError
		ne  *names.Error
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		vs := make([]apierr.Violation, len(ve.Violations))
		for i, v := range ve.Violations {
			vs[i] = apierr.Violation{Field: v.Field, Reason: v.Reason}
		}
		return apierr.Invalid(vs...)
	case errors.As(err, &ne):
		return apierr.Invalid(apierr.Violation{Field: ne.FieldName(), Reason: ne.Error()})
	case errors.As(err, &de):
		return apierr.New(codes.PermissionDenied, de.Reason, de.Msg)
	case errors.As(err, &dup):
		return apierr.New(codes.AlreadyExists, ReasonExternalRefExists, dup.Error())
	case errors.Is(err, dispute.ErrRequestIDReused):
		return apierr.New(codes.AlreadyExists, ReasonRequestIDReused, err.Error())
	case errors.As(err, &se):
		return apierr.New(codes.FailedPrecondition, ReasonAlreadyWithdrawn, se.Msg)
	case errors.Is(err, dispute.ErrNotFound):
		return apierr.New(codes.NotFound, ReasonDisputeNotFound, err.Error())
	case errors.Is(err, dispute.ErrNoRoster):
		return apierr.New(codes.FailedPrecondition, ReasonNoRoster, err.Error())
	case errors.Is(err, errNoIdentity):
		return apierr.New(codes.Unauthenticated, ReasonUnauthenticated, err.Error())
	}
	// Storage failures and anything unexpected: a fixed message for the
	// caller, the error itself for the call's log line.
	return apierr.FromError(err)
}
