package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
)

// jsonFieldRE finds the field a protojson decoding error is about:
// `invalid value for enum field category: "X"`, `unknown field "foo"`.
var jsonFieldRE = regexp.MustCompile(`(?:field (\w+)|unknown field "(\w+)")`)

// errorHandler answers like the default handler (UNAVAILABLE is 503 and
// so on, ErrorInfo and other details passed through), but a request body
// the gateway could not decode (bad JSON, an unknown enum name, an unknown
// field) also gets the google.rpc.BadRequest detail the services give, so
// every 400 names its field the same way, and a service the gateway cannot
// reach answers like a service whose backend is down. A body cut at the
// size limit is answered 413 (REQUEST_TOO_LARGE) instead. A call over a
// rate limit is 429 with a Retry-After header.
func errorHandler(log *slog.Logger) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		if bodyTooLarge(r) {
			writeTooLarge(w)
			return
		}
		setRetryAfter(w, err)
		runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, unreachable(ctx, log, decodeError(err)))
	}
}

// setRetryAfter turns a google.rpc.RetryInfo detail (a call over a rate
// limit, RESOURCE_EXHAUSTED, which the default handler answers 429) into a
// Retry-After header in whole seconds, as HTTP clients expect; the body
// keeps the detail with the exact delay.
func setRetryAfter(w http.ResponseWriter, err error) {
	if secs, ok := apierr.RetryAfterSeconds(err); ok {
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
}

// unreachable replaces the gRPC client's own UNAVAILABLE (no ErrorInfo, a
// message naming addresses) by the platform's BACKEND_UNAVAILABLE with its
// fixed message; the original goes to the log.
func unreachable(ctx context.Context, log *slog.Logger, err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable || apierr.Reason(err) != "" {
		return err
	}
	if log != nil {
		log.WarnContext(ctx, "backend unreachable", "error", st.Message())
	}
	return apierr.New(codes.Unavailable, apierr.ReasonBackendUnavailable, apierr.MsgBackendUnavailable)
}

// decodeError adds a field violation to an INVALID_ARGUMENT that carries no
// details and comes from decoding the request.
func decodeError(err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument || len(st.Details()) > 0 {
		return err
	}
	msg := st.Message()
	if !strings.HasPrefix(msg, "proto:") && !strings.Contains(msg, "syntax error") && !strings.Contains(msg, "unexpected") {
		return err
	}
	field := "body"
	if m := jsonFieldRE.FindStringSubmatch(msg); m != nil {
		field = m[1] + m[2]
	}
	withDetails, derr := status.New(codes.InvalidArgument, "invalid request body: "+msg).WithDetails(
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: msg}}},
		&errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT", Domain: "disputes.gov"},
	)
	if derr != nil {
		return err
	}
	return withDetails.Err()
}
