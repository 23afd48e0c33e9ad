package apierr

import (
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// RateLimited returns RESOURCE_EXHAUSTED with ErrorInfo RATE_LIMITED
// (metadata naming the limit) and google.rpc.RetryInfo{retry_delay: retry},
// the refusal of a call over a caller's rate limit.
func RateLimited(msg string, retry time.Duration, metadata map[string]string) error {
	return withDetails(status.New(codes.ResourceExhausted, msg),
		&errdetails.ErrorInfo{Reason: ReasonRateLimited, Domain: Domain, Metadata: metadata},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(retry)},
	)
}

// RetryDelay returns the retry delay of err's google.rpc.RetryInfo detail,
// and false when it has none.
func RetryDelay(err error) (time.Duration, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return 0, false
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

// RetryAfterSeconds returns err's retry delay in whole seconds, rounded up
// and at least 1, the value of an HTTP Retry-After header; false when err
// has no RetryInfo.
func RetryAfterSeconds(err error) (int64, bool) {
	d, ok := RetryDelay(err)
	if !ok {
		return 0, false
	}
	return max(1, int64((d+time.Second-1)/time.Second)), true
}
