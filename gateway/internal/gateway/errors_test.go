package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
)

func TestDecodeErrorNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		in        error
		wantField string // "" means the error passes unchanged
	}{
		{status.Error(codes.InvalidArgument, `proto: (line 1:141): invalid value for enum field category: "CATEGORY_NOPE"`), "category"},
		{status.Error(codes.InvalidArgument, `proto: (line 1:12): unknown field "claimantt"`), "claimantt"},
		{status.Error(codes.InvalidArgument, `proto: syntax error (line 1:2): invalid value x`), "body"},
		{status.Error(codes.InvalidArgument, `invalid argument: dispute.claimant.phone: must be ...`), ""},
		{status.Error(codes.NotFound, `proto: whatever`), ""},
		{errors.New("plain"), ""},
	} {
		out := decodeError(tc.in)
		if tc.wantField == "" {
			if out != tc.in {
				t.Errorf("%v was changed to %v", tc.in, out)
			}
			continue
		}
		st := status.Convert(out)
		var got string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 {
				got = br.GetFieldViolations()[0].GetField()
			}
		}
		if st.Code() != codes.InvalidArgument || got != tc.wantField {
			t.Errorf("%v: code %v field %q, want InvalidArgument naming %q", tc.in, st.Code(), got, tc.wantField)
		}
	}
}

// TestErrorHandlerKeepsCodesAndReasons checks the HTTP side of the error
// policy: each code keeps its HTTP status and the ErrorInfo reason reaches
// the client; a service the gateway cannot reach is BACKEND_UNAVAILABLE.
func TestErrorHandlerKeepsCodesAndReasons(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		wantStatus int
		wantReason string
		hidden     string // text that must not reach the client
	}{
		{"backend down", apierr.New(codes.Unavailable, apierr.ReasonBackendUnavailable, apierr.MsgBackendUnavailable), http.StatusServiceUnavailable, apierr.ReasonBackendUnavailable, ""},
		{"service unreachable", status.Error(codes.Unavailable, "connection error: desc = \"transport: Error while dialing: dial tcp 10.0.0.7:7001: connect: connection refused\""), http.StatusServiceUnavailable, apierr.ReasonBackendUnavailable, "10.0.0.7"},
		{"token expired", apierr.New(codes.Unauthenticated, apierr.ReasonTokenExpired, "token expired"), http.StatusUnauthorized, apierr.ReasonTokenExpired, ""},
		{"role", apierr.New(codes.PermissionDenied, apierr.ReasonPermissionDenied, "x"), http.StatusForbidden, apierr.ReasonPermissionDenied, ""},
		{"internal", apierr.New(codes.Internal, apierr.ReasonInternal, apierr.MsgInternal), http.StatusInternalServerError, apierr.ReasonInternal, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/v1/x", nil)
			errorHandler(nil)(context.Background(), runtime.NewServeMux(), &runtime.JSONPb{}, w, r, tc.err)
			body := w.Body.String()
			if w.Code != tc.wantStatus || !strings.Contains(body, `"reason":"`+tc.wantReason+`"`) {
				t.Fatalf("HTTP %d %s, want %d with reason %s", w.Code, body, tc.wantStatus, tc.wantReason)
			}
			if tc.hidden != "" && strings.Contains(body, tc.hidden) {
				t.Errorf("body shows %q: %s", tc.hidden, body)
			}
		})
	}
}
