package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/ratelimit"
)

// unlimited lists method prefixes never rate limited: probes and tooling,
// which carry no token and must answer while a caller is throttled.
var unlimited = []string{"/grpc.health.v1.Health/", "/grpc.reflection."}

// rateLimit takes the call's tokens from the caller's staff and department
// buckets (docs/SECURITY.md, "Rate limits"). A call without an identity (a
// public method called without a token) is not counted.
func (s *Server) rateLimit(ctx context.Context, method string) error {
	id, ok := authn.FromContext(ctx)
	if !ok {
		return nil
	}
	for _, p := range unlimited {
		if strings.HasPrefix(method, p) {
			return nil
		}
	}
	class := ratelimit.ClassOf(method)
	d := s.limiter.Allow(ratelimit.Caller{Region: id.Region, Department: id.Department, Staff: id.Staff}, class)
	if d.Allowed {
		return nil
	}
	s.rateLimited.WithLabelValues(method, string(d.Scope)).Inc()
	return rateLimited(d, class)
}

// rateLimited is the refusal: RESOURCE_EXHAUSTED with ErrorInfo
// RATE_LIMITED naming the bucket and its limit, and RetryInfo with the time
// until the bucket holds a token again. The gateway answers it 429 with a
// Retry-After header.
func rateLimited(d ratelimit.Decision, class ratelimit.Class) error {
	perSecond := strconv.FormatFloat(d.Limit.PerSecond, 'g', -1, 64)
	burst := strconv.FormatFloat(d.Limit.Burst, 'g', -1, 64)
	return apierr.RateLimited(fmt.Sprintf("rate limit exceeded: %s %ss are limited to %s/s (burst %s); retry after %v",
		d.Scope, class, perSecond, burst, d.RetryAfter), d.RetryAfter,
		map[string]string{"scope": string(d.Scope), "class": class.String(), "per_second": perSecond, "burst": burst})
}

func (s *Server) unaryRateLimit(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.rateLimit(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) streamRateLimit(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.rateLimit(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}
