package gateway

import (
	"context"
	"errors"
	"fmt"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// Limits of one HTTP request. A request body is a form of a few kilobytes;
// 1 MiB is far above any legitimate one and far below what would hurt the
// gateway. A call may take at most MaxCallTimeout, whatever Grpc-Timeout
// the client sends, so a client cannot hold a backend stream for hours.
const (
	MaxBodyBytes   = 1 << 20
	MaxCallTimeout = 30 * time.Second
)

// ReasonRequestTooLarge is the ErrorInfo reason of a 413.
const ReasonRequestTooLarge = "REQUEST_TOO_LARGE"

// bodyLimitKey finds a request's *limitedBody in its context, so the error
// handler can tell a body cut at the limit from a malformed one.
type bodyLimitKey struct{}

// limitedBody passes at most MaxBodyBytes of a body and remembers whether
// the client sent more.
type limitedBody struct {
	io.ReadCloser
	exceeded atomic.Bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		b.exceeded.Store(true)
	}
	return n, err
}

// bodyTooLarge reports whether r's body was cut at the limit.
func bodyTooLarge(r *http.Request) bool {
	b, ok := r.Context().Value(bodyLimitKey{}).(*limitedBody)
	return ok && b.exceeded.Load()
}

// guard applies the request limits and the security headers to every
// request before next sees it: a body announced larger than MaxBodyBytes is
// refused with 413 before a byte of it is read, and any other body is read
// through a limit, so a body without a length (chunked) that turns out too
// large is cut there and refused the same way (by the error handler). The
// call's context ends after MaxCallTimeout; grpc-gateway derives the call's
// deadline from it, so a longer Grpc-Timeout only shortens to it.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(r.URL.Path, "/v1/") || strings.HasPrefix(r.URL.Path, "/print/") {
			// Answers carry personal data: no cache may keep them.
			h.Set("Cache-Control", "no-store")
		}
		if r.ContentLength > MaxBodyBytes {
			writeTooLarge(w)
			return
		}
		if f := personalQuery(r); f != "" {
			writeBadRequest(w, f, "a personal number may not be sent in a URL; send the filters in the body of POST "+
				"/v1/regions/<region>/disputes:search")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), MaxCallTimeout)
		defer cancel()
		if r.Body != nil && r.Body != http.NoBody {
			body := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, MaxBodyBytes)}
			r.Body = body
			ctx = context.WithValue(ctx, bodyLimitKey{}, body)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// personalFilters are the query parameters (in either spelling) that would
// carry a phone, ID or credit-code number.
var personalFilters = []string{"claimantPhone", "claimant_phone", "claimantIdNumber", "claimant_id_number",
	"claimantCreditCode", "claimant_credit_code"}

// personalQuery returns the field of a personal-number filter in r's query,
// "" when there is none.
func personalQuery(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	q := r.URL.Query()
	for _, f := range personalFilters {
		if q.Has(f) {
			return f
		}
	}
	return ""
}

// writeBadRequest answers 400 with a BadRequest naming field, the body every
// other refusal of bad input has.
func writeBadRequest(w http.ResponseWriter, field, why string) {
	st, err := status.New(codes.InvalidArgument, "invalid argument: "+field+": "+why).WithDetails(
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: why}}},
		&errdetails.ErrorInfo{Reason: apierr.ReasonInvalidArgument, Domain: apierr.Domain},
	)
	body := []byte(`{"code":3,"message":"invalid argument"}`)
	if err == nil {
		if b, err := protojson.Marshal(st.Proto()); err == nil {
			body = b
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	w.Write(body)
}

// writeTooLarge answers 413 with the error body every other error has.
func writeTooLarge(w http.ResponseWriter) {
	st, err := status.New(codes.ResourceExhausted, fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes)).WithDetails(
		&errdetails.ErrorInfo{Reason: ReasonRequestTooLarge, Domain: "disputes.gov",
			Metadata: map[string]string{"limit_bytes": strconv.Itoa(MaxBodyBytes)}},
	)
	body := []byte(`{"code":8,"message":"request body too large"}`)
	if err == nil {
		if b, err := protojson.Marshal(st.Proto()); err == nil {
			body = b
		}
	}
	w.Header().Set("Content-Type", "application/json")
	// The rest of the body is not read: the connection closes after this.
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	w.Write(body)
}
