package server

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/logging"
)

// benchCall is what the log interceptor knows about a typical
// RegisterDispute call once the caller is authenticated.
func benchCall() *callInfo {
	return &callInfo{
		id:     authn.Identity{Region: "141181", Department: "hrss", Staff: "staff-0042", Roles: []string{authn.RoleClerk}},
		hasID:  true,
		parent: "regions/141181",
	}
}

const benchMethod = "/disputes.intake.v1.IntakeService/RegisterDispute"

// benchFile is a real file in the test's temp dir, so each line costs the
// write syscall it costs in production.
func benchFile(b *testing.B) *os.File {
	f, err := os.Create(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

// benchWriter is a file behind a logging.Writer, as the services log.
func benchWriter(b *testing.B) io.Writer {
	w := logging.NewWriter(benchFile(b))
	b.Cleanup(func() {
		if err := w.Flush(); err != nil {
			b.Error(err)
		}
	})
	return w
}

func benchServer(b *testing.B, w io.Writer) *Server {
	l, err := logging.New(w, "intake", "info")
	if err != nil {
		b.Fatal(err)
	}
	return &Server{log: l}
}

// BenchmarkLogCall measures the access log line of one RPC as the log
// interceptor writes it, to io.Discard (formatting only) and to a file.
func BenchmarkLogCall(b *testing.B) {
	ctx := context.Background()
	notFound := status.Error(codes.NotFound, "dispute regions/141181/disputes/2026-17 not found")
	for _, out := range []struct {
		name string
		w    func(b *testing.B) io.Writer
	}{
		{"discard", func(*testing.B) io.Writer { return io.Discard }},
		{"file", func(b *testing.B) io.Writer { return benchFile(b) }},
		{"writer", benchWriter},
	} {
		for _, c := range []struct {
			name string
			err  error
		}{{"ok", nil}, {"error", notFound}} {
			b.Run(out.name+"/"+c.name, func(b *testing.B) {
				s := benchServer(b, out.w(b))
				ci := benchCall()
				start := time.Now()
				b.ReportAllocs()
				for b.Loop() {
					s.logCall(ctx, benchMethod, ci, start, c.err)
				}
			})
		}
	}
}

// BenchmarkLogCallParallel is the access log under concurrent RPCs, all
// writing to one file as the services write to stderr, directly and
// through a logging.Writer.
func BenchmarkLogCallParallel(b *testing.B) {
	for _, out := range []struct {
		name string
		w    func(b *testing.B) io.Writer
	}{
		{"file", func(b *testing.B) io.Writer { return benchFile(b) }},
		{"writer", benchWriter},
	} {
		b.Run(out.name, func(b *testing.B) {
			ctx := context.Background()
			s := benchServer(b, out.w(b))
			start := time.Now()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ci := benchCall()
				for pb.Next() {
					s.logCall(ctx, benchMethod, ci, start, nil)
				}
			})
		})
	}
}
