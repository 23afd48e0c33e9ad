package signin

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"

	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
)

// rosterStub answers GetRoster with a fixed roster, after checking the
// gateway's own read token.
type rosterStub struct {
	rosterv1.RosterServiceClient
	t *testing.T
	v *authn.Verifier
}

func (r rosterStub) GetRoster(ctx context.Context, req *rosterv1.GetRosterRequest, _ ...grpc.CallOption) (*rosterv1.GetRosterResponse, error) {
	return &rosterv1.GetRosterResponse{Roster: &rosterv1.Roster{Name: req.GetName(), RegionName: "孝义市", Units: []*rosterv1.MemberUnit{
		{Id: "tax", Name: "市税务局", Staff: []*rosterv1.StaffMember{{Id: "wang", DisplayName: "王小明", Roles: []string{"clerk", "handler"}}}},
		{Id: "hrss", Name: "市人社局", Staff: []*rosterv1.StaffMember{{Id: "li", DisplayName: "李华", Roles: []string{"handler"}}, {Id: "norole", DisplayName: "赵六"}}},
	}}}, nil
}

type fixture struct {
	svc     *Service
	handler http.Handler
	seen    *http.Request
	now     time.Time
	verify  *authn.Verifier
}

func newFixture(t *testing.T, mod func(*Config)) *fixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{now: time.Now(), verify: authn.NewVerifier(pub)}
	cfg := Config{Region: "141181", Signer: authn.Signer{Key: priv}, Dev: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return f.now }}
	if mod != nil {
		mod(&cfg)
	}
	f.svc, err = New(cfg, rosterStub{t: t, v: f.verify})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	f.svc.Register(mux)
	mux.Handle("/v1/", f.svc.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.seen = r
		w.WriteHeader(http.StatusOK)
	})))
	f.handler = mux
	return f
}

func (f *fixture) do(method, path, body string, cookies []*http.Cookie, hdr map[string]string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	f.seen = nil
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

func reason(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Details []struct{ Reason string }
	}
	json.Unmarshal(rec.Body.Bytes(), &body)
	if len(body.Details) == 0 {
		return ""
	}
	return body.Details[0].Reason
}

func (f *fixture) devSignIn(t *testing.T, unit, staff string) (*http.Cookie, sessionView) {
	t.Helper()
	rec := f.do("POST", "/auth/dev/signin", `{"unit":"`+unit+`","staff":"`+staff+`"}`, nil, map[string]string{"Content-Type": "application/json"})
	if rec.Code != http.StatusOK {
		t.Fatalf("sign in: HTTP %d %s", rec.Code, rec.Body)
	}
	var v sessionView
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies %v", cs)
	}
	return cs[0], v
}

func TestDevSignInSessionCarriesTokenAndCSRF(t *testing.T) {
	f := newFixture(t, nil)
	c, v := f.devSignIn(t, "tax", "wang")
	if c.Name != cookiePlain || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, not Secure on plain HTTP", c)
	}
	if v.DisplayName != "王小明" || v.UnitName != "市税务局" || v.RegionName != "孝义市" || v.CSRFToken == "" {
		t.Errorf("session view %+v", v)
	}
	if strings.Contains(c.Value, v.CSRFToken) || c.Value == "" {
		t.Errorf("cookie value carries the CSRF token or nothing")
	}

	// A read with the cookie reaches the API with the person's token.
	if rec := f.do("GET", "/v1/regions/141181/disputes", "", []*http.Cookie{c}, nil); rec.Code != 200 || f.seen == nil {
		t.Fatalf("GET with session: HTTP %d %s", rec.Code, rec.Body)
	}
	tok, ok := strings.CutPrefix(f.seen.Header.Get("Authorization"), "Bearer ")
	if !ok {
		t.Fatal("no bearer token forwarded")
	}
	id, err := f.verify.Verify(tok)
	if err == nil {
		err = id.Validate()
	}
	if err != nil || id.Staff != "wang" || id.Department != "tax" || id.Region != "141181" || strings.Join(id.Roles, ",") != "clerk,handler" {
		t.Errorf("token identity %+v, %v", id, err)
	}

	// A change without the CSRF header is refused before the API; with it, passes.
	rec := f.do("POST", "/v1/regions/141181/disputes", "{}", []*http.Cookie{c}, nil)
	if rec.Code != http.StatusForbidden || reason(t, rec) != ReasonCSRF || f.seen != nil {
		t.Errorf("POST without CSRF: HTTP %d %s (reached API: %v)", rec.Code, rec.Body, f.seen != nil)
	}
	rec = f.do("POST", "/v1/regions/141181/disputes", "{}", []*http.Cookie{c}, map[string]string{CSRFHeader: "x" + v.CSRFToken[1:]})
	if rec.Code != http.StatusForbidden || f.seen != nil {
		t.Errorf("POST with wrong CSRF: HTTP %d", rec.Code)
	}
	if rec := f.do("POST", "/v1/regions/141181/disputes", "{}", []*http.Cookie{c}, map[string]string{CSRFHeader: v.CSRFToken}); rec.Code != 200 || f.seen == nil {
		t.Errorf("POST with CSRF: HTTP %d %s", rec.Code, rec.Body)
	}

	// A caller with its own bearer token is passed on as it came.
	if rec := f.do("POST", "/v1/x", "{}", nil, map[string]string{"Authorization": "Bearer theirs"}); rec.Code != 200 || f.seen.Header.Get("Authorization") != "Bearer theirs" {
		t.Errorf("bearer caller: HTTP %d, Authorization %q", rec.Code, f.seen.Header.Get("Authorization"))
	}

	// Signing out needs the CSRF token, then ends the session.
	if rec := f.do("POST", "/auth/signout", "", []*http.Cookie{c}, nil); rec.Code != http.StatusForbidden {
		t.Errorf("sign-out without CSRF: HTTP %d", rec.Code)
	}
	rec = f.do("POST", "/auth/signout", "", []*http.Cookie{c}, map[string]string{CSRFHeader: v.CSRFToken})
	if rec.Code != http.StatusNoContent {
		t.Fatalf("sign-out: HTTP %d", rec.Code)
	}
	if cs := rec.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("sign-out does not clear the cookie: %v", cs)
	}
	rec = f.do("GET", "/v1/regions/141181/disputes", "", []*http.Cookie{c}, nil)
	if rec.Code != http.StatusUnauthorized || reason(t, rec) != ReasonSessionExpired || f.seen != nil {
		t.Errorf("after sign-out: HTTP %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/auth/session", "", []*http.Cookie{c}, nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"signedIn":false`) {
		t.Errorf("session after sign-out: HTTP %d %s", rec.Code, rec.Body)
	}
}

func TestSessionEndsWhenIdleOrExpired(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.SessionTTL = time.Hour; c.IdleTimeout = 20 * time.Minute })
	c, _ := f.devSignIn(t, "hrss", "li")
	f.now = f.now.Add(15 * time.Minute)
	if rec := f.do("GET", "/auth/session", "", []*http.Cookie{c}, nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"signedIn":true`) {
		t.Fatalf("within idle time: HTTP %d %s", rec.Code, rec.Body)
	}
	f.now = f.now.Add(19 * time.Minute) // used 19 min ago: still alive
	if rec := f.do("GET", "/v1/x", "", []*http.Cookie{c}, nil); rec.Code != 200 {
		t.Fatalf("used again within idle time: HTTP %d", rec.Code)
	}
	f.now = f.now.Add(21 * time.Minute)
	if rec := f.do("GET", "/v1/x", "", []*http.Cookie{c}, nil); rec.Code != 401 || reason(t, rec) != ReasonSessionExpired {
		t.Errorf("idle session: HTTP %d %s", rec.Code, rec.Body)
	}

	c, _ = f.devSignIn(t, "hrss", "li")
	for range 4 { // used every 15 minutes, it still ends at its lifetime
		f.now = f.now.Add(15 * time.Minute)
		f.do("GET", "/v1/x", "", []*http.Cookie{c}, nil)
	}
	if rec := f.do("GET", "/v1/x", "", []*http.Cookie{c}, nil); rec.Code != 401 {
		t.Errorf("session past its lifetime: HTTP %d", rec.Code)
	}
}

func TestDevSignInRefusals(t *testing.T) {
	f := newFixture(t, nil)
	for _, tt := range []struct{ name, body, ctype string }{
		{"not in roster", `{"unit":"tax","staff":"li"}`, "application/json"},
		{"no roles", `{"unit":"hrss","staff":"norole"}`, "application/json"},
		{"form post", `unit=tax&staff=wang`, "application/x-www-form-urlencoded"},
	} {
		rec := f.do("POST", "/auth/dev/signin", tt.body, nil, map[string]string{"Content-Type": tt.ctype})
		if rec.Code == 200 || len(rec.Result().Cookies()) != 0 {
			t.Errorf("%s: HTTP %d with cookies %v", tt.name, rec.Code, rec.Result().Cookies())
		}
	}
	off := newFixture(t, func(c *Config) {
		c.Dev = false
		c.OIDC = &OIDCConfig{Issuer: "https://idp.example", ClientID: "c", RedirectURL: "https://gw/auth/oidc/callback"}
	})
	if rec := off.do("POST", "/auth/dev/signin", `{"unit":"tax","staff":"wang"}`, nil, map[string]string{"Content-Type": "application/json"}); rec.Code != http.StatusNotFound {
		t.Errorf("dev sign-in off: HTTP %d", rec.Code)
	}
	if rec := off.do("GET", "/auth/dev/staff", "", nil, nil); rec.Code != http.StatusNotFound {
		t.Errorf("dev staff list off: HTTP %d", rec.Code)
	}
}

func TestCookieIsSecureOverTLS(t *testing.T) {
	f := newFixture(t, nil)
	req := httptest.NewRequest("POST", "/auth/dev/signin", strings.NewReader(`{"unit":"tax","staff":"wang"}`))
	req.Header.Set("Content-Type", "application/json")
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	cs := rec.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != cookieTLS || !cs[0].Secure || !cs[0].HttpOnly {
		t.Errorf("cookie over TLS: %+v", cs)
	}
}

// idp is a small OpenID Connect provider: discovery, authorization (which
// signs in whoever the test says), token endpoint checking PKCE, JWKS.
type idp struct {
	srv       *httptest.Server
	key       *rsa.PrivateKey
	subject   string
	challenge map[string][2]string // code -> challenge, nonce
}

func newIDP(t *testing.T) *idp {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{key: key, challenge: map[string][2]string{}}
	mux := http.NewServeMux()
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize",
			"token_endpoint": p.srv.URL + "/token", "jwks_uri": p.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("client_id") != "console" {
			http.Error(w, "bad request", 400)
			return
		}
		code := "code-" + q.Get("state")[:8]
		p.challenge[code] = [2]string{q.Get("code_challenge"), q.Get("nonce")}
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, _ := r.BasicAuth()
		c, ok := p.challenge[r.Form.Get("code")]
		sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
		if !ok || id != "console" || secret != "s3cret" || base64.RawURLEncoding.EncodeToString(sum[:]) != c[0] {
			http.Error(w, `{"error":"invalid_grant"}`, 400)
			return
		}
		delete(p.challenge, r.Form.Get("code"))
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": p.srv.URL, "aud": "console", "sub": p.subject,
			"nonce": c[1], "iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix()})
		tok.Header["kid"] = "k1"
		s, _ := tok.SignedString(p.key)
		json.NewEncoder(w).Encode(map[string]string{"id_token": s, "token_type": "Bearer", "access_token": "a"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(p.key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(p.key.E)).Bytes())}}})
	})
	return p
}

func TestOIDCSignInWithPKCE(t *testing.T) {
	p := newIDP(t)
	f := newFixture(t, func(c *Config) {
		c.Dev = false
		c.OIDC = &OIDCConfig{Issuer: p.srv.URL, ClientID: "console", ClientSecret: "s3cret", RedirectURL: "http://gw/auth/oidc/callback"}
	})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(subject string, tamper func(*url.URL)) *httptest.ResponseRecorder {
		p.subject = subject
		start := f.do("GET", "/auth/oidc/start", "", nil, nil)
		if start.Code != http.StatusFound {
			t.Fatalf("start: HTTP %d %s", start.Code, start.Body)
		}
		res, err := client.Get(start.Header().Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		back, err := url.Parse(res.Header.Get("Location"))
		if err != nil || back.Path != "/auth/oidc/callback" {
			t.Fatalf("provider redirect %v %v (HTTP %d)", back, err, res.StatusCode)
		}
		if tamper != nil {
			tamper(back)
		}
		return f.do("GET", back.RequestURI(), "", start.Result().Cookies(), nil)
	}

	rec := login("li", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("callback: HTTP %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookiePlain {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly {
		t.Fatalf("no session cookie: %v", rec.Result().Cookies())
	}
	if rec := f.do("GET", "/v1/x", "", []*http.Cookie{sess}, nil); rec.Code != 200 {
		t.Fatalf("API with OIDC session: HTTP %d", rec.Code)
	}
	id, err := f.verify.Verify(strings.TrimPrefix(f.seen.Header.Get("Authorization"), "Bearer "))
	if err != nil || id.Staff != "li" || id.Department != "hrss" {
		t.Errorf("identity %+v %v", id, err)
	}

	// A subject the roster does not name, and a state from elsewhere, sign no one in.
	if rec := login("stranger", nil); rec.Header().Get("Location") != "/?signin=unknown" || len(sessionCookies(rec)) != 0 {
		t.Errorf("unknown subject: to %q, cookies %v", rec.Header().Get("Location"), rec.Result().Cookies())
	}
	rec = login("li", func(u *url.URL) {
		q := u.Query()
		q.Set("state", "forged")
		u.RawQuery = q.Encode()
	})
	if rec.Header().Get("Location") != "/?signin=failed" || len(sessionCookies(rec)) != 0 {
		t.Errorf("forged state: to %q", rec.Header().Get("Location"))
	}
}

func sessionCookies(rec *httptest.ResponseRecorder) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookiePlain && c.MaxAge >= 0 {
			out = append(out, c)
		}
	}
	return out
}
