// Command echo is the baseline of the intake benchmark: a bare grpc-go
// server whose grpc.testing.TestService/UnaryCall returns the request's
// payload. No interceptors, no authentication, no storage: what is left is
// the cost of gRPC itself on this machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/reflection"

	"github.com/xiaoyi-disputes/disputes/platform/mtls"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9150", "gRPC listen address")
	var files mtls.Files
	fs.StringVar(&files.Cert, "tls-cert", "", "certificate for mutual TLS, as the services serve (empty: plaintext)")
	fs.StringVar(&files.Key, "tls-key", "", "key of -tls-cert")
	fs.StringVar(&files.CA, "tls-ca", "", "CA the clients' certificates must chain to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var opts []grpc.ServerOption
	if files != (mtls.Files{}) {
		tc, err := mtls.ServerConfig(files)
		if err != nil {
			return err
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	srv := grpc.NewServer(opts...)
	testgrpc.RegisterTestServiceServer(srv, echoServer{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	go func() {
		<-ctx.Done()
		srv.GracefulStop()
	}()
	fmt.Fprintln(os.Stderr, "echo: serving on", lis.Addr())
	return srv.Serve(lis)
}

// echoServer answers UnaryCall with the request's payload.
type echoServer struct {
	testgrpc.UnimplementedTestServiceServer
}

func (echoServer) UnaryCall(_ context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}
