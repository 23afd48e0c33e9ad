package apierr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

func TestIsTransient(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "x"}}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("decode routing:{141181}:tracker:2026-1: bad json"), false},
		{"redis nil", redis.Nil, false},
		{"canceled", context.Canceled, false},
		{"deadline", fmt.Errorf("get k: %w", context.DeadlineExceeded), true},
		{"pool timeout", fmt.Errorf("watch k: %w", redis.ErrPoolTimeout), true},
		{"client closed", redis.ErrClosed, true},
		{"net op error", fmt.Errorf("get k: %w", refused), true},
		{"connection refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"eof", fmt.Errorf("read: %w", io.EOF), true},
		{"redis loading", errors.New("LOADING Redis is loading the dataset in memory"), true},
		{"grpc unavailable", fmt.Errorf("load roster: %w", status.Error(codes.Unavailable, "etcdserver: no leader")), true},
		{"grpc not found", status.Error(codes.NotFound, "nope"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := apierr.IsTransient(tc.err); got != tc.want {
				t.Errorf("IsTransient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestFromError(t *testing.T) {
	secret := "get intake:{141181}:dispute:2026-1"
	own := apierr.New(codes.NotFound, "DISPUTE_NOT_FOUND", "dispute regions/141181/disputes/2026-1 not found")
	for _, tc := range []struct {
		name   string
		err    error
		code   codes.Code
		reason string
		cause  bool
	}{
		{"own status passes", own, codes.NotFound, "DISPUTE_NOT_FOUND", false},
		{"unexpected", fmt.Errorf("%s: %w", secret, errors.New("WRONGTYPE Operation against a key")), codes.Internal, apierr.ReasonInternal, true},
		{"bare status", status.Error(codes.FailedPrecondition, secret), codes.Internal, apierr.ReasonInternal, true},
		{"wrapped own status", fmt.Errorf("%s: %w", secret, own), codes.Internal, apierr.ReasonInternal, true},
		{"pool timeout", fmt.Errorf("%s: %w", secret, redis.ErrPoolTimeout), codes.Unavailable, apierr.ReasonBackendUnavailable, true},
		{"deadline", fmt.Errorf("%s: %w", secret, context.DeadlineExceeded), codes.Unavailable, apierr.ReasonBackendUnavailable, true},
		{"etcd unavailable", fmt.Errorf("%s: %w", secret, status.Error(codes.Unavailable, "etcdserver: no leader")), codes.Unavailable, apierr.ReasonBackendUnavailable, true},
		{"canceled", fmt.Errorf("%s: %w", secret, context.Canceled), codes.Canceled, apierr.ReasonCanceled, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := apierr.FromError(tc.err)
			st := status.Convert(got)
			if st.Code() != tc.code || apierr.Reason(got) != tc.reason {
				t.Fatalf("FromError = %v %q reason %q, want %v %q", st.Code(), st.Message(), apierr.Reason(got), tc.code, tc.reason)
			}
			if tc.cause {
				if strings.Contains(st.Message(), "141181") || strings.Contains(got.Error(), "141181") {
					t.Errorf("internal text reached the status: %q / %q", st.Message(), got.Error())
				}
				if apierr.Cause(got) != tc.err {
					t.Errorf("Cause = %v, want the original error", apierr.Cause(got))
				}
			}
			// Mapping twice changes nothing: a table may hand its result on.
			if again := apierr.FromError(got); status.Code(again) != tc.code || apierr.Reason(again) != tc.reason {
				t.Errorf("FromError twice = %v", again)
			}
		})
	}
	if apierr.FromError(nil) != nil {
		t.Error("FromError(nil) != nil")
	}
}

// TestStoppedRedisIsTransient checks what go-redis really returns once its
// server is gone, not what its docs say it returns.
func TestStoppedRedisIsTransient(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Kill()
	err := rdb.Get(ctx, "k").Err()
	if err == nil {
		t.Fatal("GET on a killed redis-server succeeded")
	}
	if !apierr.IsTransient(err) {
		t.Fatalf("IsTransient(%v) = false", err)
	}
	if got := apierr.FromError(err); status.Code(got) != codes.Unavailable || apierr.Reason(got) != apierr.ReasonBackendUnavailable {
		t.Fatalf("FromError(%v) = %v", err, got)
	}
}
