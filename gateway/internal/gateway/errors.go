package gateway

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// jsonFieldRE finds the field a protojson decoding error is about:
// `invalid value for enum field category: "X"`, `unknown field "foo"`.
var jsonFieldRE = regexp.MustCompile(`(?:field (\w+)|unknown field "(\w+)")`)

// errorHandler answers like the default handler, but a request body the
// gateway could not decode (bad JSON, an unknown enum name, an unknown
// field) also gets the google.rpc.BadRequest detail the services give, so
// every 400 names its field the same way.
// A body cut at the size limit is answered 413 (REQUEST_TOO_LARGE) instead.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if bodyTooLarge(r) {
		writeTooLarge(w)
		return
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, decodeError(err))
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
