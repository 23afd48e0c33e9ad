package signin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// OIDCConfig names the region's OpenID Connect identity provider and how
// its users map to roster staff.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// from Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are the gateway's registration at the
	// provider (the secret read from a file, never a flag value).
	ClientID, ClientSecret string
	// RedirectURL is the gateway's callback: https://<host>/auth/oidc/callback.
	RedirectURL string
	// StaffClaim is the ID token claim holding the roster staff id ("sub"
	// when empty).
	StaffClaim string
	// HTTPClient reaches the provider (http.DefaultClient when nil).
	HTTPClient *http.Client
}

type oidcClient struct {
	cfg OIDCConfig

	mu        sync.Mutex
	meta      *oidcMeta
	keys      map[string]any
	keysAt    time.Time
	keysFetch time.Time
}

type oidcMeta struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// pendingLogin is an authorization request on its way: its PKCE verifier
// and nonce, by its state.
type pendingLogin struct {
	Verifier string    `json:"verifier"`
	Nonce    string    `json:"nonce"`
	Expires  time.Time `json:"expires"`
}

func newOIDCClient(cfg OIDCConfig) (*oidcClient, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("oidc: the issuer is required")
	case cfg.ClientID == "":
		return nil, errors.New("oidc: the client id is required")
	case cfg.RedirectURL == "":
		return nil, errors.New("oidc: the redirect URL is required")
	}
	if cfg.StaffClaim == "" {
		cfg.StaffClaim = "sub"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &oidcClient{cfg: cfg}, nil
}

func (c *oidcClient) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", u, res.StatusCode)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// metadata reads the discovery document once.
func (c *oidcClient) metadata(ctx context.Context) (*oidcMeta, error) {
	c.mu.Lock()
	m := c.meta
	c.mu.Unlock()
	if m != nil {
		return m, nil
	}
	m = &oidcMeta{}
	if err := c.getJSON(ctx, strings.TrimRight(c.cfg.Issuer, "/")+"/.well-known/openid-configuration", m); err != nil {
		return nil, fmt.Errorf("oidc discovery: %w", err)
	}
	if m.Issuer != c.cfg.Issuer {
		return nil, fmt.Errorf("oidc discovery: issuer %q, want %q", m.Issuer, c.cfg.Issuer)
	}
	if m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" || m.JWKSURI == "" {
		return nil, errors.New("oidc discovery: an endpoint is missing")
	}
	c.mu.Lock()
	c.meta = m
	c.mu.Unlock()
	return m, nil
}

type jwk struct {
	Kty, Kid, Alg, Use, Crv string
	N, E, X, Y              string
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}

func (k jwk) public() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err := b64int(k.N)
		if err != nil {
			return nil, err
		}
		e, err := b64int(k.E)
		if err != nil {
			return nil, err
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		default:
			return nil, fmt.Errorf("curve %q", k.Crv)
		}
		x, err := b64int(k.X)
		if err != nil {
			return nil, err
		}
		y, err := b64int(k.Y)
		if err != nil {
			return nil, err
		}
		return &ecdsa.PublicKey{Curve: curve, X: x, Y: y}, nil
	}
	return nil, fmt.Errorf("key type %q", k.Kty)
}

// key returns the provider's signing key kid, reading the key set again
// (at most once a minute) when it does not know it.
func (c *oidcClient) key(ctx context.Context, kid string) (any, error) {
	c.mu.Lock()
	k, ok := c.keys[kid]
	stale := time.Since(c.keysFetch) > time.Minute
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	if !stale {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	m, err := c.metadata(ctx)
	if err != nil {
		return nil, err
	}
	var set struct{ Keys []jwk }
	if err := c.getJSON(ctx, m.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("oidc keys: %w", err)
	}
	keys := map[string]any{}
	for _, j := range set.Keys {
		if j.Use != "" && j.Use != "sig" {
			continue
		}
		if pub, err := j.public(); err == nil {
			keys[j.Kid] = pub
		}
	}
	c.mu.Lock()
	c.keys, c.keysFetch = keys, time.Now()
	c.mu.Unlock()
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("unknown key id %q", kid)
}

// authURL is where the browser goes to sign in: the authorization code
// flow with PKCE (S256), a state and a nonce.
func (c *oidcClient) authURL(ctx context.Context, state, verifier, nonce string) (string, error) {
	m, err := c.metadata(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.cfg.ClientID},
		"redirect_uri":          {c.cfg.RedirectURL},
		"scope":                 {"openid profile"},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	sep := "?"
	if strings.Contains(m.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	return m.AuthorizationEndpoint + sep + q.Encode(), nil
}

// exchange trades the code for tokens and returns the staff id the
// verified ID token names.
func (c *oidcClient) exchange(ctx context.Context, code, verifier, nonce string) (string, error) {
	m, err := c.metadata(ctx)
	if err != nil {
		return "", err
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {c.cfg.RedirectURL},
		"code_verifier": {verifier},
		"client_id":     {c.cfg.ClientID},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	}
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint: HTTP %d", res.StatusCode)
	}
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.IDToken == "" {
		return "", errors.New("token endpoint: no id_token")
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(tok.IDToken, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return c.key(ctx, kid)
	}, jwt.WithValidMethods([]string{"RS256", "ES256", "PS256"}), jwt.WithIssuer(c.cfg.Issuer),
		jwt.WithAudience(c.cfg.ClientID), jwt.WithExpirationRequired(), jwt.WithLeeway(30*time.Second))
	if err != nil {
		return "", fmt.Errorf("id token: %w", err)
	}
	if n, _ := claims["nonce"].(string); n == "" || n != nonce {
		return "", errors.New("id token: wrong nonce")
	}
	staff, _ := claims[c.cfg.StaffClaim].(string)
	if staff == "" {
		return "", fmt.Errorf("id token: no %q claim", c.cfg.StaffClaim)
	}
	return staff, nil
}

const pendingCookie = "disputes-oidc"

// pendingTTL is how long a sign-in at the provider may take.
const pendingTTL = 10 * time.Minute

func (s *Service) oidcStart(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		writeError(w, http.StatusNotFound, 5, ReasonSignInDisabled, "OpenID Connect sign-in is not configured")
		return
	}
	state, verifier, nonce := randomToken(), randomToken(), randomToken()
	u, err := s.oidc.authURL(r.Context(), state, verifier, nonce)
	if err != nil {
		s.cfg.Log.Warn("oidc start", "error", err)
		http.Redirect(w, r, "/?signin=unavailable", http.StatusSeeOther)
		return
	}
	p := pendingLogin{Verifier: verifier, Nonce: nonce, Expires: s.cfg.Now().Add(pendingTTL)}
	if err := sealFor(state).put(r.Context(), s.cfg.Store, &p, pendingTTL); err != nil {
		s.cfg.Log.Warn("oidc start", "error", err)
		http.Redirect(w, r, "/?signin=unavailable", http.StatusSeeOther)
		return
	}
	// The state also goes in a cookie of this browser (Lax: it must come
	// back on the provider's redirect), so a callback from another browser
	// is refused.
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: state, Path: "/auth/oidc/", HttpOnly: true,
		Secure: r.TLS != nil || s.cfg.SecureCookie, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

func (s *Service) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		writeError(w, http.StatusNotFound, 5, ReasonSignInDisabled, "OpenID Connect sign-in is not configured")
		return
	}
	fail := func(why string, err error) {
		s.cfg.Log.Warn("oidc sign-in refused", "why", why, "error", err)
		http.Redirect(w, r, "/?signin="+why, http.StatusSeeOther)
	}
	state := r.URL.Query().Get("state")
	c, cerr := r.Cookie(pendingCookie)
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: "", Path: "/auth/oidc/", MaxAge: -1, HttpOnly: true})
	if state == "" || cerr != nil || differ(c.Value, state) {
		fail("failed", errors.New("state does not match this browser"))
		return
	}
	var p pendingLogin
	ok, err := sealFor(state).open(r.Context(), s.cfg.Store, true, &p)
	if err != nil {
		fail("unavailable", err)
		return
	}
	if !ok || s.cfg.Now().After(p.Expires) {
		fail("failed", errors.New("unknown or expired state"))
		return
	}
	code := r.URL.Query().Get("code")
	if code == "" {
		fail("failed", fmt.Errorf("provider error %q", r.URL.Query().Get("error")))
		return
	}
	staff, err := s.oidc.exchange(r.Context(), code, p.Verifier, p.Nonce)
	if err != nil {
		fail("failed", err)
		return
	}
	person, err := s.person(r.Context(), "", staff)
	if err != nil {
		fail("unknown", err)
		return
	}
	if _, err := s.start(w, r, person); err != nil {
		fail("failed", err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// differ reports whether a and b differ, in constant time.
func differ(a, b string) bool {
	return len(a) != len(b) || !constantEqual(a, b)
}
