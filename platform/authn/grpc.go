package authn

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
)

// Rule is the access rule of one RPC: either public (no token needed) or
// callable by anyone holding one of AnyRole.
type Rule struct {
	Public  bool
	AnyRole []string
}

// Policy maps a full method name ("/disputes.intake.v1.IntakeService/RegisterDispute")
// to its rule. A method with no rule is denied, so a new RPC is closed until
// someone decides who may call it.
type Policy map[string]Rule

// alwaysPublic lists method prefixes that never need a token: probes and tooling.
var alwaysPublic = []string{"/grpc.health.v1.Health/", "/grpc.reflection."}

func (p Policy) rule(method string) (Rule, bool) {
	for _, prefix := range alwaysPublic {
		if strings.HasPrefix(method, prefix) {
			return Rule{Public: true}, true
		}
	}
	r, ok := p[method]
	return r, ok
}

// Authorize checks the incoming metadata of ctx against the rule for method
// and returns ctx carrying the caller's identity (unchanged for public methods
// called without a token).
func (p Policy) Authorize(ctx context.Context, v *Verifier, method string) (context.Context, error) {
	rule, ok := p.rule(method)
	if !ok {
		return nil, apierr.Newf(codes.PermissionDenied, apierr.ReasonPermissionDenied, "no access rule for %s", method)
	}
	token, present := bearer(ctx)
	if rule.Public {
		// A token on a public call is still honoured so logs name the caller.
		if present {
			if id, err := v.Verify(token); err == nil {
				return NewContext(ctx, id), nil
			}
		}
		return ctx, nil
	}
	if !present {
		return nil, apierr.New(codes.Unauthenticated, apierr.ReasonUnauthenticated, "missing bearer token: send metadata \"authorization: Bearer <jwt>\"")
	}
	id, err := v.Verify(token)
	if err != nil {
		reason := apierr.ReasonTokenInvalid
		if errors.Is(err, ErrTokenExpired) {
			reason = apierr.ReasonTokenExpired
		}
		return nil, apierr.New(codes.Unauthenticated, reason, err.Error())
	}
	if !id.HasAnyRole(rule.AnyRole...) {
		return nil, apierr.Newf(codes.PermissionDenied, apierr.ReasonPermissionDenied, "%s requires one of roles %v; caller has %v", method, rule.AnyRole, id.Roles)
	}
	return NewContext(ctx, id), nil
}

func bearer(ctx context.Context) (string, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		scheme, token, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "bearer") && strings.TrimSpace(token) != "" {
			return strings.TrimSpace(token), true
		}
	}
	return "", false
}

// UnaryServerInterceptor authenticates and authorizes each unary call by p.
func UnaryServerInterceptor(v *Verifier, p Policy) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := p.Authorize(ctx, v, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor authenticates and authorizes each stream by p.
func StreamServerInterceptor(v *Verifier, p Policy) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := p.Authorize(ss.Context(), v, info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
	}
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }

type tokenCreds string

func (t tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

func (tokenCreds) RequireTransportSecurity() bool { return false }

// TokenCredentials returns per-RPC credentials that send token as a bearer
// token on every call. They do not require TLS: traffic stays inside the
// platform's network.
func TokenCredentials(token string) credentials.PerRPCCredentials { return tokenCreds(token) }

// WithToken returns ctx with token attached as outgoing bearer metadata, for
// a single call made on behalf of a caller.
func WithToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}
