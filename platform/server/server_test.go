package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/apipb"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/logging"
	"github.com/xiaoyi-disputes/disputes/platform/mtls"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

const testService = "test.v1.TestService"

// phoneRequest builds at run time a message Req{claimant: Claimant{phone}}
// whose phone carries a buf.validate pattern, standing in for generated
// request types until the service protos exist.
func phoneRequest(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	sr := &validate.StringRules{}
	sr.SetPattern(`^1[3-9][0-9]{9}$`)
	rules := &validate.FieldRules{}
	rules.SetString(sr)
	opts := &descriptorpb.FieldOptions{}
	proto.SetExtension(opts, validate.E_Field, rules)
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("servertest/req.proto"), Package: proto.String("servertest"), Syntax: proto.String("proto3"),
		Dependency: []string{"buf/validate/validate.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Claimant"), Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("phone"), JsonName: proto.String("phone"), Number: proto.Int32(1), Label: opt,
				Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Options: opts,
			}}},
			{Name: proto.String("Req"), Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("claimant"), JsonName: proto.String("claimant"), Number: proto.Int32(1), Label: opt,
				Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: proto.String(".servertest.Claimant"),
			}}},
		},
	}, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("Req")
}

// testDesc is a hand-written service: Echo answers with the caller's staff
// id (or panics on name "panic"), Check takes the validated phone request,
// Watch is a server stream.
func testDesc(reqType protoreflect.MessageDescriptor) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: testService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: "Echo", Handler: func(_ any, ctx context.Context, dec func(any) error, icp grpc.UnaryServerInterceptor) (any, error) {
				in := &apipb.Method{}
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(ctx context.Context, req any) (any, error) {
					switch req.(*apipb.Method).GetName() {
					case "panic":
						panic("boom")
					case "plain error":
						return nil, errors.New("get intake:{141181}:dispute:2026-1: WRONGTYPE")
					}
					id, _ := authn.FromContext(ctx)
					return &apipb.Method{Name: id.Staff}, nil
				}
				return icp(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/" + testService + "/Echo"}, h)
			}},
			{MethodName: "Check", Handler: func(_ any, ctx context.Context, dec func(any) error, icp grpc.UnaryServerInterceptor) (any, error) {
				in := dynamicpb.NewMessage(reqType)
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(context.Context, any) (any, error) { return &apipb.Method{Name: "valid"}, nil }
				return icp(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/" + testService + "/Check"}, h)
			}},
		},
		Streams: []grpc.StreamDesc{{
			StreamName: "Watch", ServerStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				in := &apipb.Method{}
				if err := ss.RecvMsg(in); err != nil {
					return err
				}
				return ss.SendMsg(in)
			},
		}},
	}
}

type fixture struct {
	certs  string // the CA and certificates the server trusts
	srv    *Server
	conn   *grpc.ClientConn
	cancel context.CancelFunc
	done   chan error
	logs   *testenv.LogBuffer
	tokens map[string]string
	req    protoreflect.MessageDescriptor
}

func start(t *testing.T, drain time.Duration) *fixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{logs: &testenv.LogBuffer{}, tokens: map[string]string{}, done: make(chan error, 1), req: phoneRequest(t)}
	for _, role := range []string{authn.RoleClerk, authn.RoleAdmin} {
		tok, err := authn.Issue(priv, authn.Identity{Region: "110105", Department: "chaoyang", Staff: role + "1", Roles: []string{role}}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[role] = tok
	}
	log, err := logging.New(f.logs, "test", "debug")
	if err != nil {
		t.Fatal(err)
	}
	policy := authn.Policy{
		"/" + testService + "/Echo":  {AnyRole: []string{authn.RoleClerk}},
		"/" + testService + "/Check": {AnyRole: []string{authn.RoleClerk}},
		"/" + testService + "/Watch": {AnyRole: []string{authn.RoleClerk}},
	}
	f.certs = t.TempDir()
	if _, err := mtls.InitDir(f.certs, nil); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Service: "test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
		DrainDelay: drain, TLS: mtls.DirFiles(f.certs, "intake"), Reflection: true}
	f.srv, err = New(cfg, log, policy, authn.NewVerifier(pub))
	if err != nil {
		t.Fatal(err)
	}
	f.srv.GRPC().RegisterService(testDesc(f.req), nil)
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() { f.done <- f.srv.Run(ctx) }()
	f.conn = f.dial(t, mtls.DirFiles(f.certs, mtls.ClientName), "intake")
	t.Cleanup(func() {
		f.conn.Close()
		cancel()
		if err := <-f.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return f
}

// dial returns a connection to the fixture's server with the client
// certificate of files, expecting the server to be serverName.
func (f *fixture) dial(t *testing.T, files mtls.Files, serverName string) *grpc.ClientConn {
	t.Helper()
	tc, err := mtls.ClientConfig(files, serverName)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(f.srv.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func callCtx(t *testing.T, token string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	if token != "" {
		ctx = authn.WithToken(ctx, token)
	}
	return ctx
}

func TestHealthAndReflection(t *testing.T) {
	f := start(t, 0)
	hc := healthpb.NewHealthClient(f.conn)
	for _, svc := range []string{"", testService} {
		resp, err := hc.Check(callCtx(t, ""), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("health %q: %v", svc, err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q = %v", svc, resp.GetStatus())
		}
	}

	stream, err := reflectionpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(callCtx(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"grpc.health.v1.Health", testService} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
}

func TestTransportSecurity(t *testing.T) {
	f := start(t, 0)
	other := t.TempDir()
	if _, err := mtls.InitDir(other, nil); err != nil {
		t.Fatal(err)
	}
	plain, err := grpc.NewClient(f.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	noCertTLS, err := mtls.ClientConfig(mtls.DirFiles(f.certs, mtls.ClientName), "intake")
	if err != nil {
		t.Fatal(err)
	}
	noCertTLS.GetClientCertificate = nil
	noCert, err := grpc.NewClient(f.srv.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(noCertTLS)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		conn *grpc.ClientConn
		want codes.Code
	}{
		{"mutual TLS with the client certificate", f.conn, codes.OK},
		{"the gateway's certificate", f.dial(t, mtls.DirFiles(f.certs, "gateway"), "intake"), codes.OK},
		{"plaintext is refused", plain, codes.Unavailable},
		{"TLS without a client certificate is refused", noCert, codes.Unavailable},
		{"a client certificate of another CA is refused", f.dial(t, mtls.Files{
			Cert: filepath.Join(other, "client.pem"), Key: filepath.Join(other, "client-key.pem"),
			CA: filepath.Join(f.certs, "ca.pem")}, "intake"), codes.Unavailable},
		{"a server not named as expected is refused by the client", f.dial(t, mtls.DirFiles(f.certs, mtls.ClientName), "routing"), codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.conn.Close()
			_, err := healthpb.NewHealthClient(tt.conn).Check(callCtx(t, ""), &healthpb.HealthCheckRequest{})
			if status.Code(err) != tt.want {
				t.Errorf("health check: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReflectionOffByDefault(t *testing.T) {
	dir := t.TempDir()
	if _, err := mtls.InitDir(dir, nil); err != nil {
		t.Fatal(err)
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Service: "test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ShutdownTimeout: time.Second,
		TLS: mtls.DirFiles(dir, "intake")}
	srv, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), authn.Policy{}, authn.NewVerifier(pub))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	f := &fixture{srv: srv}
	conn := f.dial(t, mtls.DirFiles(dir, mtls.ClientName), "intake")
	defer conn.Close()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(callCtx(t, ""))
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("reflection without -reflection: %v, want Unimplemented", err)
	}
}

func TestAuthAndValidation(t *testing.T) {
	f := start(t, 0)
	phone := func(p string) *dynamicpb.Message {
		req := dynamicpb.NewMessage(f.req)
		claimant := req.Mutable(f.req.Fields().ByName("claimant")).Message()
		claimant.Set(claimant.Descriptor().Fields().ByName("phone"), protoreflect.ValueOfString(p))
		return req
	}
	tests := []struct {
		name, method, token string
		req                 proto.Message
		want                codes.Code
		wantMsg             string
	}{
		{"no token", "Echo", "", &apipb.Method{}, codes.Unauthenticated, "missing bearer token"},
		{"bad token", "Echo", "xyz", &apipb.Method{}, codes.Unauthenticated, "invalid token"},
		{"wrong role", "Echo", f.tokens[authn.RoleAdmin], &apipb.Method{}, codes.PermissionDenied, "[clerk]"},
		{"ok", "Echo", f.tokens[authn.RoleClerk], &apipb.Method{Name: "disputes/42"}, codes.OK, ""},
		{"panic", "Echo", f.tokens[authn.RoleClerk], &apipb.Method{Name: "panic"}, codes.Internal, "internal error"},
		{"plain error", "Echo", f.tokens[authn.RoleClerk], &apipb.Method{Name: "plain error"}, codes.Internal, "internal error"},
		{"invalid phone", "Check", f.tokens[authn.RoleClerk], phone("12345"), codes.InvalidArgument, "invalid argument: claimant.phone: "},
		{"valid phone", "Check", f.tokens[authn.RoleClerk], phone("13812341234"), codes.OK, ""},
		{"unknown method denied", "Nope", f.tokens[authn.RoleClerk], &apipb.Method{}, codes.Unimplemented, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &apipb.Method{}
			err := f.conn.Invoke(callCtx(t, tt.token), "/"+testService+"/"+tt.method, tt.req, resp)
			st := status.Convert(err)
			if st.Code() != tt.want || !strings.Contains(st.Message(), tt.wantMsg) {
				t.Fatalf("got %v %q, want %v containing %q", st.Code(), st.Message(), tt.want, tt.wantMsg)
			}
			// Every refusal of the platform carries a reason; only grpc-go's
			// own UNIMPLEMENTED for an unknown method has none.
			if tt.want != codes.OK && tt.want != codes.Unimplemented && apierr.Reason(err) == "" {
				t.Errorf("%v has no ErrorInfo reason", err)
			}
			if strings.Contains(st.Message(), "WRONGTYPE") {
				t.Errorf("internal text reached the caller: %q", st.Message())
			}
			if tt.want == codes.InvalidArgument {
				if vs := apierr.FieldViolations(err); len(vs) != 1 || vs[0].Field != "claimant.phone" {
					t.Fatalf("violations = %+v", vs)
				}
			}
			if tt.name == "ok" && resp.GetName() != "clerk1" {
				t.Fatalf("handler saw staff %q, want clerk1", resp.GetName())
			}
		})
	}

	t.Run("stream", func(t *testing.T) {
		desc := &grpc.StreamDesc{StreamName: "Watch", ServerStreams: true}
		for _, tc := range []struct {
			token string
			want  codes.Code
		}{{"", codes.Unauthenticated}, {f.tokens[authn.RoleAdmin], codes.PermissionDenied}, {f.tokens[authn.RoleClerk], codes.OK}} {
			cs, err := f.conn.NewStream(callCtx(t, tc.token), desc, "/"+testService+"/Watch")
			if err != nil {
				t.Fatal(err)
			}
			if err := cs.SendMsg(&apipb.Method{Name: "x"}); err != nil {
				t.Fatal(err)
			}
			cs.CloseSend()
			err = cs.RecvMsg(&apipb.Method{})
			if status.Code(err) != tc.want {
				t.Fatalf("stream with token %.8q: %v, want %v", tc.token, err, tc.want)
			}
		}
	})

	t.Run("log line", func(t *testing.T) {
		var found bool
		for line := range strings.SplitSeq(f.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "rpc" || m["name"] != "disputes/42" {
				continue
			}
			found = true
			for k, want := range map[string]any{"method": "/" + testService + "/Echo", "code": "OK", "region": "110105", "department": "chaoyang", "staff": "clerk1", "service": "test"} {
				if m[k] != want {
					t.Errorf("log %s = %v, want %v", k, m[k], want)
				}
			}
			if _, ok := m["duration_ms"]; !ok {
				t.Error("log line has no duration_ms")
			}
		}
		if !found {
			t.Fatalf("no rpc log line for Echo in:\n%s", f.logs.String())
		}
		if !strings.Contains(f.logs.String(), `"panic":"boom"`) {
			t.Fatal("panic not logged")
		}
	})

	t.Run("metrics", func(t *testing.T) {
		body, code := get(t, "http://"+f.srv.AdminAddr()+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics = %d", code)
		}
		for _, want := range []string{
			`grpc_server_rpcs_total{code="OK",method="/test.v1.TestService/Echo"} 1`,
			`grpc_server_rpcs_total{code="Unauthenticated",method="/test.v1.TestService/Echo"} 2`,
			`grpc_server_rpcs_total{code="Internal",method="/test.v1.TestService/Echo"} 2`, // the panic and the plain error
			`grpc_server_rpc_duration_seconds_count{method="/test.v1.TestService/Check"} 2`,
			"go_goroutines",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

func get(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp.StatusCode
}

func TestReadinessAndShutdown(t *testing.T) {
	f := start(t, 500*time.Millisecond)
	admin := "http://" + f.srv.AdminAddr()
	if body, code := get(t, admin+"/healthz"); code != 200 || body != "ok" {
		t.Fatalf("/healthz = %d %q", code, body)
	}

	var fail sync.Mutex
	failing := false
	f.srv.AddReadinessCheck("redis", func(context.Context) error { return nil })
	f.srv.AddReadinessInfo("roster", func() string { return "stale since 10:00" })
	f.srv.AddReadinessCheck("etcd", func(context.Context) error {
		fail.Lock()
		defer fail.Unlock()
		if failing {
			return errors.New("etcd unreachable")
		}
		return nil
	})
	tests := []struct {
		name     string
		failing  bool
		wantCode int
		want     readiness
	}{
		{"ready", false, 200, readiness{Status: "ready", Checks: map[string]string{"redis": "ok", "etcd": "ok"}}},
		{"check fails", true, 503, readiness{Status: "not_ready", Checks: map[string]string{"redis": "ok", "etcd": "etcd unreachable"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail.Lock()
			failing = tt.failing
			fail.Unlock()
			body, code := get(t, admin+"/readyz")
			var got readiness
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode || got.Status != tt.want.Status || len(got.Checks) != 2 ||
				got.Checks["redis"] != tt.want.Checks["redis"] || got.Checks["etcd"] != tt.want.Checks["etcd"] ||
				got.Info["roster"] != "stale since 10:00" {
				t.Fatalf("/readyz = %d %s, want %d %+v", code, body, tt.wantCode, tt.want)
			}
		})
	}
	fail.Lock()
	failing = false
	fail.Unlock()

	f.cancel()
	deadline := time.Now().Add(400 * time.Millisecond)
	for {
		body, code := get(t, admin+"/readyz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "shutting_down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %s after cancel", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Still draining: gRPC answers, but health says NOT_SERVING.
	resp, err := healthpb.NewHealthClient(f.conn).Check(callCtx(t, ""), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health during drain = %v, %v; want NOT_SERVING", resp.GetStatus(), err)
	}
	if err := <-f.done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	f.done <- nil // for the cleanup
	for i := 1; i <= 4; i++ {
		if !strings.Contains(f.logs.String(), "shutdown step "+string(rune('0'+i))+"/4") {
			t.Errorf("shutdown step %d not logged", i)
		}
	}
}

func TestConfig(t *testing.T) {
	t.Setenv("INTAKE_GRPC_ADDR", ":7001")
	t.Setenv("INTAKE_DRAIN_DELAY", "250ms")
	t.Setenv(PublicKeyEnv, "/keys/pub.pem")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(c Config) bool
		wantErr string
	}{
		{"env defaults", nil, nil, func(c Config) bool {
			return c.GRPCAddr == ":7001" && c.AdminAddr == ":8001" && c.DrainDelay == 250*time.Millisecond &&
				c.ShutdownTimeout == DefaultShutdownTimeout && c.PublicKeyFile == "/keys/pub.pem" && c.LogLevel == "info" &&
				c.TokenAudience == authn.DefaultAudience && c.TokenMaxLifetime == authn.DefaultMaxLifetime
		}, ""},
		{"token env", nil, map[string]string{TokenAudienceEnv: "disputes-staging", TokenMaxLifetimeEnv: "8h"}, func(c Config) bool {
			return c.TokenAudience == "disputes-staging" && c.TokenMaxLifetime == 8*time.Hour
		}, ""},
		{"token flags", []string{"-token-audience", "x", "-token-max-lifetime", "1h"}, nil, func(c Config) bool {
			return c.TokenAudience == "x" && c.TokenMaxLifetime == time.Hour
		}, ""},
		{"bad token lifetime", nil, map[string]string{TokenMaxLifetimeEnv: "forever"}, nil, TokenMaxLifetimeEnv},
		{"flags win", []string{"-grpc-addr", ":9", "-log-level", "debug"}, nil, func(c Config) bool {
			return c.GRPCAddr == ":9" && c.LogLevel == "debug"
		}, ""},
		{"bad env duration", nil, map[string]string{"INTAKE_SHUTDOWN_TIMEOUT": "soon"}, nil, "INTAKE_SHUTDOWN_TIMEOUT"},
		{"bad level", []string{"-log-level", "loud"}, nil, nil, "log level"},
		{"no admin", []string{"-admin-addr", ""}, nil, nil, "admin address is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c := Config{Service: "intake", AdminAddr: ":8001", InsecurePlaintext: true}
			fs := flag.NewFlagSet("intake", flag.ContinueOnError)
			c.RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Validate = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("config = %+v", c)
			}
		})
	}
}

func TestTLSConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    mtls.Files
		wantErr string
	}{
		{"nothing", nil, nil, mtls.Files{}, "-insecure-plaintext"},
		{"flags", []string{"-tls-cert", "c.pem", "-tls-key", "k.pem", "-tls-ca", "ca.pem"}, nil,
			mtls.Files{Cert: "c.pem", Key: "k.pem", CA: "ca.pem"}, ""},
		{"the service's env wins over the shared one", nil, map[string]string{
			TLSCertEnv: "shared.pem", TLSKeyEnv: "shared-key.pem", TLSCAEnv: "ca.pem",
			"INTAKE_TLS_CERT": "intake.pem", "INTAKE_TLS_KEY": "intake-key.pem"},
			mtls.Files{Cert: "intake.pem", Key: "intake-key.pem", CA: "ca.pem"}, ""},
		{"a missing key is named", []string{"-tls-cert", "c.pem", "-tls-ca", "ca.pem"}, nil, mtls.Files{}, "[key]"},
		{"plaintext", []string{"-insecure-plaintext"}, nil, mtls.Files{}, ""},
		{"plaintext and certificates", []string{"-insecure-plaintext", "-tls-cert", "c.pem"}, nil, mtls.Files{}, "choose one"},
		{"plaintext is a flag, not an env var", nil, map[string]string{"INTAKE_INSECURE_PLAINTEXT": "true"}, mtls.Files{}, "-insecure-plaintext"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c := Config{Service: "intake", GRPCAddr: ":0", AdminAddr: ":0"}
			fs := flag.NewFlagSet("intake", flag.ContinueOnError)
			c.RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Validate = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.TLS != tt.want {
				t.Errorf("TLS = %+v, want %+v", c.TLS, tt.want)
			}
		})
	}
}
