package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
)

// The chain, outermost first: recover -> log -> metrics -> status -> authn -> rate limit -> validate.
// The log interceptor runs before authn, so it leaves a callInfo in the
// context that the authn step fills with the caller once known.

type callInfo struct {
	id           authn.Identity
	hasID        bool
	name, parent string
}

type callInfoKey struct{}

func infoFrom(ctx context.Context) *callInfo {
	ci, _ := ctx.Value(callInfoKey{}).(*callInfo)
	if ci == nil {
		return &callInfo{}
	}
	return ci
}

type named interface{ GetName() string }
type parented interface{ GetParent() string }

func (ci *callInfo) noteRequest(req any) {
	if n, ok := req.(named); ok && ci.name == "" {
		ci.name = n.GetName()
	}
	if p, ok := req.(parented); ok && ci.parent == "" {
		ci.parent = p.GetParent()
	}
}

func (s *Server) recovered(method string, p any) error {
	s.log.Error("panic in rpc", "method", method, "code", codes.Internal.String(),
		"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	// The metrics interceptor was unwound by the panic; count it here.
	s.rpcTotal.WithLabelValues(method, codes.Internal.String()).Inc()
	return apierr.New(codes.Internal, apierr.ReasonInternal, apierr.MsgInternal)
}

func (s *Server) unaryRecover(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, s.recovered(info.FullMethod, p)
		}
	}()
	return h(ctx, req)
}

func (s *Server) streamRecover(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = s.recovered(info.FullMethod, p)
		}
	}()
	return h(srv, ss)
}

// logCall writes the access line of one RPC. It runs on every call, so it
// builds the attributes in an array on the stack and hands the record to
// the handler itself: slog.Logger would also capture the caller's program
// counter, which the JSON lines do not show.
func (s *Server) logCall(ctx context.Context, method string, ci *callInfo, start time.Time, err error) {
	code := status.Code(err)
	level := slog.LevelInfo
	if err != nil {
		switch code {
		case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable, codes.DeadlineExceeded:
			level = slog.LevelError
		}
	}
	h := s.log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	now := time.Now()
	var attrs [10]slog.Attr
	n := 0
	add := func(a slog.Attr) { attrs[n] = a; n++ }
	add(slog.String("method", method))
	add(slog.String("code", code.String()))
	add(slog.Float64("duration_ms", float64(now.Sub(start).Microseconds())/1000))
	if ci.hasID {
		add(slog.String("region", ci.id.Region))
		add(slog.String("department", ci.id.Department))
		add(slog.String("staff", ci.id.Staff))
	}
	if ci.name != "" {
		add(slog.String("name", ci.name))
	}
	if ci.parent != "" {
		add(slog.String("parent", ci.parent))
	}
	if err != nil {
		add(slog.String("error", status.Convert(err).Message()))
		// The internal error behind a fixed "internal error" or "backend
		// unavailable" answer: logged here, never sent.
		if cause := apierr.Cause(err); cause != nil {
			add(slog.String("cause", cause.Error()))
		}
	}
	r := slog.NewRecord(now, level, "rpc", 0)
	r.AddAttrs(attrs[:n]...)
	_ = h.Handle(ctx, r) // as slog.Logger does: a failed log write does not fail the RPC
}

func (s *Server) unaryLog(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	start := time.Now()
	ci := &callInfo{}
	ci.noteRequest(req)
	resp, err := h(context.WithValue(ctx, callInfoKey{}, ci), req)
	s.logCall(ctx, info.FullMethod, ci, start, err)
	return resp, err
}

func (s *Server) streamLog(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	start := time.Now()
	ci := &callInfo{}
	err := h(srv, &wrappedStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), callInfoKey{}, ci), onRecv: ci.noteRequest})
	s.logCall(ss.Context(), info.FullMethod, ci, start, err)
	return err
}

func (s *Server) observe(method string, start time.Time, err error) {
	s.rpcTotal.WithLabelValues(method, status.Code(err).String()).Inc()
	s.rpcTime.WithLabelValues(method).Observe(time.Since(start).Seconds())
}

func (s *Server) unaryMetrics(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := h(ctx, req)
	s.observe(info.FullMethod, start, err)
	return resp, err
}

func (s *Server) streamMetrics(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	start := time.Now()
	err := h(srv, ss)
	s.observe(info.FullMethod, start, err)
	return err
}

// asStatus is the safety net of the error policy: a handler that returns a
// plain error instead of a status from its error table still answers with
// a reason and a fixed message (apierr.FromError), not grpc-go's UNKNOWN
// carrying the error's text. Statuses pass unchanged.
func asStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	return apierr.FromError(err)
}

func unaryStatus(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	return resp, asStatus(err)
}

func streamStatus(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return asStatus(h(srv, ss))
}

func (s *Server) authorize(ctx context.Context, method string) (context.Context, error) {
	ctx, err := s.policy.Authorize(ctx, s.verifier, method)
	if err != nil {
		return nil, err
	}
	if id, ok := authn.FromContext(ctx); ok {
		ci := infoFrom(ctx)
		ci.id, ci.hasID = id, true
	}
	return ctx, nil
}

func (s *Server) unaryAuthn(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, err := s.authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) streamAuthn(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, err := s.authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return h(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
}

func (s *Server) check(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	if err := s.validate.Validate(m); err != nil {
		return apierr.FromValidation(err)
	}
	return nil
}

func (s *Server) unaryValidate(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.check(req); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) streamValidate(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, &wrappedStream{ServerStream: ss, ctx: ss.Context(), check: s.check})
}

// wrappedStream overrides a stream's context and hooks each received message.
type wrappedStream struct {
	grpc.ServerStream
	ctx    context.Context
	onRecv func(any)
	check  func(any) error
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

func (w *wrappedStream) RecvMsg(m any) error {
	if err := w.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if w.onRecv != nil {
		w.onRecv(m)
	}
	if w.check != nil {
		return w.check(m)
	}
	return nil
}
