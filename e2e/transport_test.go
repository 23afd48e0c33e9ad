package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/xiaoyi-disputes/disputes/platform/mtls"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// services are the platform's gRPC services, each with a certificate.
var services = []string{"intake", "routing", "meeting", "archive"}

// secureEnv makes a CA and certificates in dir/certs and returns the env
// that starts every binary as `make run` does: each service (and the
// gateway) with its own certificate, reflection on, Redis and etcd with the
// platform's user and password file; disputectl with the client
// certificate and the same credentials.
func secureEnv(t *testing.T, dir string, rd *testenv.Redis, et *testenv.Etcd) (certs string, env []string) {
	t.Helper()
	certs = filepath.Join(dir, "certs")
	if _, err := mtls.InitDir(certs, nil); err != nil {
		t.Fatal(err)
	}
	client := mtls.DirFiles(certs, mtls.ClientName)
	env = []string{
		"DISPUTES_TLS_CA=" + client.CA,
		// disputectl's certificate; every service has its own below.
		"DISPUTES_TLS_CERT=" + client.Cert, "DISPUTES_TLS_KEY=" + client.Key,
		"DISPUTES_REDIS_USER=" + rd.User, "DISPUTES_REDIS_PASSWORD_FILE=" + rd.PasswordFile,
		"DISPUTES_ETCD_USER=" + et.User, "DISPUTES_ETCD_PASSWORD_FILE=" + et.PasswordFile,
	}
	for _, svc := range append([]string{"gateway"}, services...) {
		f := mtls.DirFiles(certs, svc)
		up := strings.ToUpper(svc)
		env = append(env, up+"_TLS_CERT="+f.Cert, up+"_TLS_KEY="+f.Key, up+"_REFLECTION=true")
	}
	return certs, env
}

// clientTLS returns the transport of a client holding the certificate name
// from certs, calling the service svc.
func clientTLS(t *testing.T, certs, name, svc string) grpc.DialOption {
	t.Helper()
	tc, err := mtls.ClientConfig(mtls.DirFiles(certs, name), svc)
	if err != nil {
		t.Fatal(err)
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(tc))
}
