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
	if !pk.Equal(sk.Public()) {
		t.Fatal("public keys from the two files differ")
	}
	return pk, sk
}

// mint signs claims with priv as an EdDSA token whose header names kid
// (none when ""), for tokens Issue would refuse to make.
func mint(t *testing.T, priv ed25519.PrivateKey, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claimsWith returns valid claims of a clerk, changed by edits (a nil value
// removes the claim).
func claimsWith(edits jwt.MapClaims) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": Issuer, "aud": DefaultAudience, "sub": "x", "region": "110105", "dept": "d", "roles": []string{"clerk"},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	for k, v := range edits {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func TestIssueVerify(t *testing.T) {
	pub, priv := keys(t)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	v := NewVerifier(pub)
	kid := KeyID(pub)
	now := time.Now()

	good, err := Issue(priv, clerk, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := Issue(otherPriv, clerk, time.Hour)
	foreignWithOurKid := mint(t, otherPriv, kid, claimsWith(nil))
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsWith(nil)).SignedString([]byte("secret"))

	tests := []struct {
		name, token, wantErr string
	}{
		{"valid", good, ""},
		{"valid, minted by hand", mint(t, priv, kid, claimsWith(nil)), ""},
		{"aud among several", mint(t, priv, kid, claimsWith(jwt.MapClaims{"aud": []string{"other", DefaultAudience}})), ""},
		{"iat within the clock skew", mint(t, priv, kid, claimsWith(jwt.MapClaims{"iat": now.Add(30 * time.Second).Unix()})), ""},
		{"other key (unknown kid)", foreign, "unknown key id"},
		{"other key under our kid", foreignWithOurKid, "invalid token"},
		{"no kid", mint(t, priv, "", claimsWith(nil)), "no kid"},
		{"unknown kid", mint(t, priv, "rotated-away", claimsWith(nil)), "unknown key id"},
		{"HS256 refused", hs, "invalid token"},
		{"no exp", mint(t, priv, kid, claimsWith(jwt.MapClaims{"exp": nil})), "invalid token"},
		{"no iat", mint(t, priv, kid, claimsWith(jwt.MapClaims{"iat": nil})), "no iat"},
		{"iat in the future", mint(t, priv, kid, claimsWith(jwt.MapClaims{
			"iat": now.Add(5 * time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()})), "issued in the future"},
		{"one-year lifetime", mint(t, priv, kid, claimsWith(jwt.MapClaims{
			"iat": now.Unix(), "exp": now.Add(365 * 24 * time.Hour).Unix()})), "exceeds the maximum"},
		{"wrong issuer", mint(t, priv, kid, claimsWith(jwt.MapClaims{"iss": "other"})), "invalid token"},
		{"wrong audience", mint(t, priv, kid, claimsWith(jwt.MapClaims{"aud": "payroll"})), "invalid token"},
		{"no audience", mint(t, priv, kid, claimsWith(jwt.MapClaims{"aud": nil})), "invalid token"},
		{"expired", mint(t, priv, kid, claimsWith(jwt.MapClaims{
			"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})), "token expired"},
		{"garbage", "not.a.jwt", "invalid token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(tt.token)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.name == "valid" && (id.Region != clerk.Region || id.Department != clerk.Department || id.Staff != clerk.Staff || !id.HasRole(RoleClerk)) {
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

func TestVerifyOptions(t *testing.T) {
	pub, priv := keys(t)
	v := NewKeySetVerifier(NewKeySet(pub), VerifyOptions{Audience: "disputes-test", MaxLifetime: 24 * time.Hour})
	day, err := Signer{Key: priv, Audience: "disputes-test", MaxLifetime: 24 * time.Hour}.Issue(clerk, 20*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(day); err != nil {
		t.Fatalf("a 20 h token for the configured audience: %v", err)
	}
	def, _ := Issue(priv, clerk, time.Hour)
	if _, err := v.Verify(def); err == nil {
		t.Fatal("a token for the default audience verified against another audience")
	}
}

func TestIssueRefusesLongLifetime(t *testing.T) {
	_, priv := keys(t)
	for _, ttl := range []time.Duration{0, -time.Minute, DefaultMaxLifetime + time.Second, 365 * 24 * time.Hour} {
		if _, err := Issue(priv, clerk, ttl); err == nil {
			t.Errorf("Issue with ttl %v succeeded", ttl)
		}
	}
	tok, err := Issue(priv, clerk, DefaultMaxLifetime)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	c := parsed.Claims.(jwt.MapClaims)
	iat, _ := c.GetIssuedAt()
	exp, _ := c.GetExpirationTime()
	aud, _ := c.GetAudience()
	if parsed.Header["kid"] != KeyID(priv.Public().(ed25519.PublicKey)) || iat == nil || exp == nil ||
		exp.Sub(iat.Time) != DefaultMaxLifetime || len(aud) != 1 || aud[0] != DefaultAudience {
		t.Fatalf("header %v claims %v: want kid, iat, exp = iat+12h, aud %q", parsed.Header, c, DefaultAudience)
	}
}

func TestKeySetRotation(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateKeyFiles(filepath.Join(dir, "old.pem"), filepath.Join(dir, "old.pub.pem")); err != nil {
		t.Fatal(err)
	}
	oldPriv, err := LoadPrivateKey(filepath.Join(dir, "old.pem"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	set.now = func() time.Time { return now }
	v := NewKeySetVerifier(set, VerifyOptions{})
	oldTok, _ := Issue(oldPriv, clerk, time.Hour)
	if _, err := v.Verify(oldTok); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}

	// Rotation: a new pair beside the old public key, in the directory the
	// verifier reads.
	if err := GenerateKeyFiles(filepath.Join(dir, "new.pem"), filepath.Join(dir, "new.pub.pem")); err != nil {
		t.Fatal(err)
	}
	newPriv, _ := LoadPrivateKey(filepath.Join(dir, "new.pem"))
	newTok, _ := Issue(newPriv, clerk, time.Hour)
	if _, err := v.Verify(newTok); err == nil || !strings.Contains(err.Error(), "unknown key id") {
		t.Fatalf("new kid within the reload interval: %v, want unknown key id", err)
	}
	now = now.Add(reloadInterval)
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := v.Verify(tok); err != nil {
			t.Errorf("%s key after rotation: %v", name, err)
		}
	}
	if got := len(set.IDs()); got != 2 {
		t.Fatalf("key set has %d keys, want 2", got)
	}

	// A file of both public keys is a key set too.
	both := filepath.Join(t.TempDir(), "keys.pub.pem")
	a, _ := os.ReadFile(filepath.Join(dir, "old.pub.pem"))
	b, _ := os.ReadFile(filepath.Join(dir, "new.pub.pem"))
	if err := os.WriteFile(both, append(a, b...), 0o644); err != nil {
		t.Fatal(err)
	}
	fileSet, err := LoadKeySet(both)
	if err != nil {
		t.Fatal(err)
	}
	fv := NewKeySetVerifier(fileSet, VerifyOptions{})
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := fv.Verify(tok); err != nil {
			t.Errorf("%s key from a file of two keys: %v", name, err)
		}
	}
}

func TestPrivateKeyWherePublicExpectedIsRefused(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "key.pem"), filepath.Join(dir, "key.pub.pem")
	if err := GenerateKeyFiles(priv, pub); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPublicKey(priv); err == nil || !strings.Contains(err.Error(), "is a private key") {
		t.Errorf("LoadPublicKey(private) = %v, want refused as a private key", err)
	}
	if _, err := LoadKeySet(priv); err == nil || !strings.Contains(err.Error(), "is a private key") {
		t.Errorf("LoadKeySet(private file) = %v, want refused as a private key", err)
	}
	// A private key disguised as a public key file in a key directory.
	b, _ := os.ReadFile(priv)
	if err := os.WriteFile(filepath.Join(dir, "leaked.pub.pem"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeySet(dir); err == nil || !strings.Contains(err.Error(), "is a private key") {
		t.Errorf("LoadKeySet(dir with a private key) = %v, want refused", err)
	}
	if _, err := LoadKeySet(t.TempDir()); err == nil {
		t.Error("LoadKeySet(empty dir) succeeded")
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
	expired := mint(t, priv, KeyID(pub), claimsWith(jwt.MapClaims{
		"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()}))
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
