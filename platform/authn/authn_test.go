package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
)

var clerk = Identity{Region: "110105", Department: "chaoyang-mc", Staff: "zhang_wei", Roles: []string{RoleClerk}}

func keys(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "key.pem"), filepath.Join(dir, "key.pub.pem")
	if err := GenerateKeyFiles(priv, pub); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(priv)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode = %v, want 0600", fi.Mode().Perm())
	}
	sk, err := LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	derived, err := LoadPublicKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if !pk.Equal(derived) || !pk.Equal(sk.Public()) {
		t.Fatal("public keys from the two files differ")
	}
	return pk, sk
}

func TestIssueVerify(t *testing.T) {
	pub, priv := keys(t)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	v := NewVerifier(pub)

	good, err := Issue(priv, clerk, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := Issue(otherPriv, clerk, time.Hour)
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": Issuer, "sub": "x", "region": "110105", "dept": "d", "roles": []string{"clerk"},
		"exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte("secret"))
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": Issuer, "sub": "x", "region": "110105", "dept": "d", "roles": []string{"clerk"},
	}).SignedString(priv)
	wrongIss, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": "other", "sub": "x", "region": "110105", "dept": "d", "roles": []string{"clerk"},
		"exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(priv)
	expired, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": Issuer, "sub": "x", "region": "110105", "dept": "d", "roles": []string{"clerk"},
		"exp": time.Now().Add(-time.Hour).Unix(),
	}).SignedString(priv)

	tests := []struct {
		name, token, wantErr string
	}{
		{"valid", good, ""},
		{"other key", foreign, "invalid token"},
		{"HS256 refused", hs, "invalid token"},
		{"no exp", noExp, "invalid token"},
		{"wrong issuer", wrongIss, "invalid token"},
		{"expired", expired, "token expired"},
		{"garbage", "not.a.jwt", "invalid token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(tt.token)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if id.Region != clerk.Region || id.Department != clerk.Department || id.Staff != clerk.Staff || !id.HasRole(RoleClerk) {
					t.Fatalf("identity = %+v, want %+v", id, clerk)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestIssueRejectsBadIdentity(t *testing.T) {
	_, priv := keys(t)
	tests := []struct {
		name string
		id   Identity
	}{
		{"short region", Identity{Region: "1101", Department: "d", Staff: "s", Roles: []string{RoleClerk}}},
		{"no dept", Identity{Region: "110105", Staff: "s", Roles: []string{RoleClerk}}},
		{"bad staff", Identity{Region: "110105", Department: "d", Staff: "Zhang Wei", Roles: []string{RoleClerk}}},
		{"no roles", Identity{Region: "110105", Department: "d", Staff: "s"}},
		{"unknown role", Identity{Region: "110105", Department: "d", Staff: "s", Roles: []string{"judge"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Issue(priv, tt.id, time.Hour); err == nil {
				t.Fatal("Issue succeeded, want error")
			}
		})
	}
}

func TestHasAnyRole(t *testing.T) {
	id := Identity{Roles: []string{RoleHandler, RoleOffice}}
	tests := []struct {
		roles []string
		want  bool
	}{
		{[]string{RoleClerk}, false},
		{[]string{RoleClerk, RoleOffice}, true},
		{nil, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.roles, ","), func(t *testing.T) {
			if got := id.HasAnyRole(tt.roles...); got != tt.want {
				t.Fatalf("HasAnyRole(%v) = %v, want %v", tt.roles, got, tt.want)
			}
		})
	}
}

func TestUnaryInterceptor(t *testing.T) {
	pub, priv := keys(t)
	v := NewVerifier(pub)
	p := Policy{
		"/x.v1.S/Register": {AnyRole: []string{RoleClerk, RoleHandler}},
		"/x.v1.S/Admin":    {AnyRole: []string{RoleAdmin}},
		"/x.v1.S/Open":     {Public: true},
	}
	good, _ := Issue(priv, clerk, time.Hour)
	_, otherPriv := keys(t)
	foreign, _ := Issue(otherPriv, clerk, time.Hour)
	expired, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": Issuer, "sub": "x", "region": "110105", "dept": "d", "roles": []string{"clerk"},
		"exp": time.Now().Add(-time.Hour).Unix(),
	}).SignedString(priv)
	icp := UnaryServerInterceptor(v, p)

	tests := []struct {
		name, method, token string
		want                codes.Code
		wantMsg, wantReason string
	}{
		{"allowed", "/x.v1.S/Register", good, codes.OK, "", ""},
		{"no token", "/x.v1.S/Register", "", codes.Unauthenticated, "missing bearer token", apierr.ReasonUnauthenticated},
		{"bad token", "/x.v1.S/Register", "abc", codes.Unauthenticated, "invalid token", apierr.ReasonTokenInvalid},
		{"other key", "/x.v1.S/Register", foreign, codes.Unauthenticated, "invalid token", apierr.ReasonTokenInvalid},
		{"expired", "/x.v1.S/Register", expired, codes.Unauthenticated, "token expired", apierr.ReasonTokenExpired},
		{"wrong role", "/x.v1.S/Admin", good, codes.PermissionDenied, "[admin]", apierr.ReasonPermissionDenied},
		{"no rule", "/x.v1.S/Other", good, codes.PermissionDenied, "no access rule for /x.v1.S/Other", apierr.ReasonPermissionDenied},
		{"public", "/x.v1.S/Open", "", codes.OK, "", ""},
		{"health", "/grpc.health.v1.Health/Check", "", codes.OK, "", ""},
		{"reflection", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "", codes.OK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.token != "" {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+tt.token))
			}
			var seen Identity
			_, err := icp(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tt.method}, func(ctx context.Context, _ any) (any, error) {
				seen, _ = FromContext(ctx)
				return nil, nil
			})
			st := status.Convert(err)
			if st.Code() != tt.want || !strings.Contains(st.Message(), tt.wantMsg) {
				t.Fatalf("got %v %q, want %v containing %q", st.Code(), st.Message(), tt.want, tt.wantMsg)
			}
			if got := apierr.Reason(err); got != tt.wantReason {
				t.Fatalf("reason = %q, want %q", got, tt.wantReason)
			}
			if tt.want == codes.OK && tt.token != "" && seen.Staff != clerk.Staff {
				t.Fatalf("identity in handler ctx = %+v", seen)
			}
		})
	}
}

func TestClientCredentials(t *testing.T) {
	md, err := TokenCredentials("tok").GetRequestMetadata(context.Background())
	if err != nil || md["authorization"] != "Bearer tok" {
		t.Fatalf("metadata = %v, %v", md, err)
	}
	if TokenCredentials("tok").RequireTransportSecurity() {
		t.Fatal("RequireTransportSecurity = true")
	}
	out, _ := metadata.FromOutgoingContext(WithToken(context.Background(), "tok"))
	if got := out.Get("authorization"); len(got) != 1 || got[0] != "Bearer tok" {
		t.Fatalf("outgoing = %v", got)
	}
}

func TestVerifierRemembersOnlyValidTokensUntilExpiry(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{Region: "141181", Department: "tax", Staff: "wang", Roles: []string{RoleClerk}}
	tok, err := Issue(priv, id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(pub)
	for i := 0; i < 2; i++ { // the second call is answered from the cache
		got, err := v.Verify(tok)
		if err != nil || got.Staff != "wang" {
			t.Fatalf("Verify #%d = %v, %v", i+1, got, err)
		}
		got.Roles[0] = RoleAdmin // a caller's change must not leak into the cache
	}
	if got, _ := v.Verify(tok); got.Roles[0] != RoleClerk {
		t.Fatalf("cached identity was modified through a returned value: %v", got.Roles)
	}
	// A token differing in one byte of its signature is checked, not served from the cache.
	forged := []byte(tok)
	i := len(forged) - 2
	if forged[i] == 'A' {
		forged[i] = 'B'
	} else {
		forged[i] = 'A'
	}
	if _, err := v.Verify(string(forged)); err == nil {
		t.Fatal("a token with an altered signature verified")
	}
	// Past its expiry the cached token is refused.
	v.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, err := v.Verify(tok); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("Verify after expiry = %v, want ErrTokenExpired", err)
	}
}
