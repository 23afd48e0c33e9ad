package apierr

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/replicated"
)

// ErrorInfo reasons shared by every service. Services add their own domain
// reasons ("DISPUTE_NOT_FOUND"); these are the ones any RPC may return.
const (
	// ReasonUnauthenticated: the call carried no bearer token, or reached a
	// handler without the caller's identity.
	ReasonUnauthenticated = "UNAUTHENTICATED"
	// ReasonTokenInvalid: the bearer token is malformed, badly signed or
	// names an unfit identity.
	ReasonTokenInvalid = "TOKEN_INVALID"
	// ReasonTokenExpired: the bearer token was good but its time is up.
	ReasonTokenExpired = "TOKEN_EXPIRED"
	// ReasonPermissionDenied: the caller may not do this.
	ReasonPermissionDenied = "PERMISSION_DENIED"
	// ReasonBackendUnavailable: Redis, etcd or another service failed in a
	// way that may pass; the call may be retried.
	ReasonBackendUnavailable = "BACKEND_UNAVAILABLE"
	// ReasonRateLimited: the caller's staff or department bucket is empty
	// (RESOURCE_EXHAUSTED); google.rpc.RetryInfo says when to try again.
	ReasonRateLimited = "RATE_LIMITED"
	// ReasonCanceled: the caller gave up on the call.
	ReasonCanceled = "CANCELED"
	// ReasonInternal: a failure the service did not expect. Its cause is
	// logged, never returned.
	ReasonInternal = "INTERNAL"
)

// The fixed messages of FromError: callers never see an internal error's text.
const (
	MsgBackendUnavailable = "backend unavailable, retry"
	MsgInternal           = "internal error"
	MsgCanceled           = "request canceled"
)

// IsTransient reports whether err is a backend failure that may pass by
// itself, so the same call may succeed when retried: network and i/o errors
// (refused or reset connections, EOF, timeouts), go-redis pool timeouts and
// exhaustion, a closed client, Redis LOADING, READONLY, MASTERDOWN,
// TRYAGAIN, CLUSTERDOWN and max-clients replies, context.DeadlineExceeded,
// and gRPC statuses (from etcd or another service) with code UNAVAILABLE,
// DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED. It looks through wrapping.
//
// Handlers reach it through FromError; event consumers use it to decide
// whether to retry an event later or to give up on it. context.Canceled is
// not transient: the caller or the process gave up, and retrying does not
// help; consumers stopping on a canceled context should just return.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.ErrClosedPipe),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ETIMEDOUT),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted), errors.Is(err, redis.ErrClosed),
		redis.IsLoadingError(err), redis.IsReadOnlyError(err), redis.IsMasterDownError(err),
		redis.IsTryAgainError(err), redis.IsClusterDownError(err), redis.IsMaxClientsError(err),
		errors.Is(err, replicated.ErrNotReplicated):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// etcd's client returns errors with a gRPC code (rpctypes.EtcdError)
	// or plain statuses; other services' clients return statuses.
	var coded interface{ Code() codes.Code }
	if errors.As(err, &coded) {
		return transientCode(coded.Code())
	}
	var st interface{ GRPCStatus() *status.Status }
	if errors.As(err, &st) {
		return transientCode(st.GRPCStatus().Code())
	}
	return false
}

func transientCode(c codes.Code) bool {
	return c == codes.Unavailable || c == codes.DeadlineExceeded || c == codes.ResourceExhausted
}

// FromError is the fallback of every service's error table, for errors the
// table does not know:
//
//   - a status built by this package (it carries an ErrorInfo reason) is
//     returned as it is;
//   - context.Canceled becomes CANCELED;
//   - a transient failure (IsTransient) becomes UNAVAILABLE with reason
//     BACKEND_UNAVAILABLE and the message "backend unavailable, retry";
//   - anything else becomes INTERNAL with reason INTERNAL and the message
//     "internal error".
//
// The messages are fixed so that keys, addresses and backend replies never
// reach the caller. The original error stays attached for the server's
// per-RPC log line, which reads it with Cause.
func FromError(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := err.(interface{ GRPCStatus() *status.Status }); ok && hasReason(st.GRPCStatus()) {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled) && !IsTransient(err):
		return hide(New(codes.Canceled, ReasonCanceled, MsgCanceled), err)
	case IsTransient(err):
		return hide(New(codes.Unavailable, ReasonBackendUnavailable, MsgBackendUnavailable), err)
	}
	return hide(New(codes.Internal, ReasonInternal, MsgInternal), err)
}

func hasReason(st *status.Status) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() != "" {
			return true
		}
	}
	return false
}

// hidden is a status sent to the caller with the error behind it kept on
// the server side. It implements GRPCStatus itself, so grpc-go sends the
// status unchanged, and its Error text is the status's, never the cause's.
type hidden struct {
	st    *status.Status
	cause error
}

func hide(statusErr error, cause error) error {
	return &hidden{st: status.Convert(statusErr), cause: cause}
}

func (h *hidden) Error() string              { return h.st.Err().Error() }
func (h *hidden) GRPCStatus() *status.Status { return h.st }

// Cause returns the error FromError replaced by a fixed status, for the
// log line of the call; nil when err is not such a status.
func Cause(err error) error {
	var h *hidden
	if errors.As(err, &h) {
		return h.cause
	}
	return nil
}
