// Package apierr is the one way services build gRPC error statuses, so every
// error carries an ErrorInfo reason clients can branch on and, for bad
// input, a BadRequest listing each offending field.
package apierr

import (
	"errors"
	"fmt"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// Domain is the ErrorInfo domain of every error this platform returns.
const Domain = "disputes.gov"

// ReasonInvalidArgument is the ErrorInfo reason of errors built by Invalid.
const ReasonInvalidArgument = "INVALID_ARGUMENT"

// Violation is one bad field: its dotted path in the request
// ("dispute.claimant.phone") and why it is bad.
type Violation struct {
	Field, Reason string
}

// Invalid returns an InvalidArgument status listing vs in its message and as
// BadRequest field violations.
func Invalid(vs ...Violation) error {
	parts := make([]string, len(vs))
	fvs := make([]*errdetails.BadRequest_FieldViolation, len(vs))
	for i, v := range vs {
		parts[i] = v.Reason
		if v.Field != "" {
			parts[i] = v.Field + ": " + v.Reason
		}
		fvs[i] = &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Reason}
	}
	st := status.New(codes.InvalidArgument, "invalid argument: "+strings.Join(parts, "; "))
	return withDetails(st,
		&errdetails.BadRequest{FieldViolations: fvs},
		&errdetails.ErrorInfo{Reason: ReasonInvalidArgument, Domain: Domain},
	)
}

// New returns a status with code and msg carrying ErrorInfo{Reason: reason}.
// reason is UPPER_SNAKE and stable ("DISPUTE_NOT_FOUND"); msg is for humans.
func New(code codes.Code, reason, msg string) error {
	return withDetails(status.New(code, msg), &errdetails.ErrorInfo{Reason: reason, Domain: Domain})
}

// NewWithMetadata is New with ErrorInfo metadata: the values a client needs
// to act on the reason (the year a calendar is missing for).
func NewWithMetadata(code codes.Code, reason, msg string, metadata map[string]string) error {
	return withDetails(status.New(code, msg), &errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: metadata})
}

// Newf is New with a formatted message.
func Newf(code codes.Code, reason, format string, args ...any) error {
	return New(code, reason, fmt.Sprintf(format, args...))
}

func withDetails(st *status.Status, details ...protoadapt.MessageV1) error {
	ds, err := st.WithDetails(details...)
	if err != nil {
		// Only fails for code OK or unmarshalable details, neither of which
		// callers here can produce; fall back to the bare status.
		return st.Err()
	}
	return ds.Err()
}

// Reason returns the ErrorInfo reason carried by err's status, or "" when
// there is none.
func Reason(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// FieldViolations returns the BadRequest field violations carried by err's
// status, mostly for tests and clients that show them next to form fields.
func FieldViolations(err error) []Violation {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	var vs []Violation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				vs = append(vs, Violation{Field: fv.GetField(), Reason: fv.GetDescription()})
			}
		}
	}
	return vs
}

// FromValidation converts a *protovalidate.ValidationError into Invalid with
// one violation per failed rule. Any other error (a rule that failed to
// compile or evaluate) is a server bug and becomes INTERNAL through
// FromError, its text kept for the log.
func FromValidation(err error) error {
	if err == nil {
		return nil
	}
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) {
		return FromError(fmt.Errorf("validate request: %w", err))
	}
	vs := make([]Violation, 0, len(ve.Violations))
	for _, v := range ve.Violations {
		if v == nil || v.Proto == nil {
			continue
		}
		reason := v.Proto.GetMessage()
		if reason == "" {
			reason = "violates rule " + v.Proto.GetRuleId()
		}
		vs = append(vs, Violation{Field: protovalidate.FieldPathString(v.Proto.GetField()), Reason: reason})
	}
	return Invalid(vs...)
}
