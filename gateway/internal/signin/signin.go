// Package signin signs staff in to the console and keeps their session in
// a cookie (docs/SECURITY.md, "Console sign-in and sessions"). A session
// holds a platform token minted with the gateway's signing key for the
// person the roster names; the gateway puts it on the calls the console
// makes, so the services verify it as any other token. Callers that send
// their own Authorization header (other agencies' systems) are passed on
// untouched.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
)

// CSRFHeader carries the session's CSRF token on every state-changing
// request made with the session cookie.
const CSRFHeader = "X-CSRF-Token"

// Cookie names: the __Host- prefix (Secure, Path=/, no Domain) where the
// gateway is reached over TLS; browsers refuse that prefix on plain HTTP.
const (
	cookieTLS   = "__Host-disputes-session"
	cookiePlain = "disputes-session"
)

// Reasons of the refusals the sign-in answers itself, in the ErrorInfo of
// its JSON bodies like the services' refusals.
const (
	ReasonSessionExpired = "SESSION_EXPIRED"
	ReasonCSRF           = "CSRF_TOKEN_INVALID"
	ReasonUnknownStaff   = "STAFF_NOT_IN_ROSTER"
	ReasonSignInDisabled = "SIGN_IN_DISABLED"
	ReasonSignInFailed   = "SIGN_IN_FAILED"
)

// Config says how staff sign in.
type Config struct {
	// Region is the region the console signs staff in to.
	Region string
	// Signer mints the session's platform token.
	Signer authn.Signer
	// SessionTTL is how long a session (and its token) lives at most;
	// IdleTimeout ends a session not used for that long.
	SessionTTL, IdleTimeout time.Duration
	// Dev enables the development sign-in: pick a unit and a person from
	// the roster, no password. Never in a deployment.
	Dev bool
	// OIDC, when set, signs staff in with the region's identity provider.
	OIDC *OIDCConfig
	// SecureCookie marks the cookie Secure even on plain HTTP, for a
	// gateway behind a TLS-terminating proxy.
	SecureCookie bool
	Log          *slog.Logger
	Now          func() time.Time
}

// Person is who a session belongs to, as the console shows them.
type Person struct {
	Region      string   `json:"region"`
	RegionName  string   `json:"regionName"`
	Unit        string   `json:"unit"`
	UnitName    string   `json:"unitName"`
	Staff       string   `json:"staff"`
	DisplayName string   `json:"displayName"`
	Roles       []string `json:"roles"`
}

type session struct {
	person   Person
	token    string
	csrf     string
	expires  time.Time
	lastUsed time.Time
}

// Service holds the sessions and answers /auth/.
type Service struct {
	cfg    Config
	roster rosterv1.RosterServiceClient
	oidc   *oidcClient

	mu       sync.Mutex
	sessions map[string]*session // by SHA-256 of the cookie value
	pending  map[string]pendingLogin
}

// New returns the sign-in service; roster reads the region's roster.
func New(cfg Config, roster rosterv1.RosterServiceClient) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.SessionTTL > authn.DefaultMaxLifetime {
		return nil, fmt.Errorf("session lifetime %v is longer than a token may live (%v)", cfg.SessionTTL, authn.DefaultMaxLifetime)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.Signer.Key == nil {
		return nil, errors.New("sign-in needs the signing key")
	}
	s := &Service{cfg: cfg, roster: roster, sessions: map[string]*session{}, pending: map[string]pendingLogin{}}
	if cfg.OIDC != nil {
		c, err := newOIDCClient(*cfg.OIDC)
		if err != nil {
			return nil, err
		}
		s.oidc = c
	}
	return s, nil
}

// Register mounts the sign-in routes under /auth/.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /auth/config", s.config)
	mux.HandleFunc("GET /auth/session", s.current)
	mux.HandleFunc("POST /auth/signout", s.signOut)
	mux.HandleFunc("GET /auth/dev/staff", s.devStaff)
	mux.HandleFunc("POST /auth/dev/signin", s.devSignIn)
	mux.HandleFunc("GET /auth/oidc/start", s.oidcStart)
	mux.HandleFunc("GET /auth/oidc/callback", s.oidcCallback)
}

func (s *Service) cookieName(r *http.Request) string {
	if r.TLS != nil || s.cfg.SecureCookie {
		return cookieTLS
	}
	return cookiePlain
}

func hashID(v string) string {
	h := sha256.Sum256([]byte(v))
	return string(h[:])
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// lookup returns the live session of the request's cookie, touching it,
// and whether a cookie was sent at all.
func (s *Service) lookup(r *http.Request) (*session, bool) {
	c, err := r.Cookie(s.cookieName(r))
	if err != nil || c.Value == "" {
		return nil, false
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	key := hashID(c.Value)
	sess, ok := s.sessions[key]
	if !ok {
		return nil, true
	}
	if !now.Before(sess.expires) || now.Sub(sess.lastUsed) > s.cfg.IdleTimeout {
		delete(s.sessions, key)
		return nil, true
	}
	sess.lastUsed = now
	return sess, true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Wrap puts the session's token on requests that come with the session
// cookie and no Authorization header of their own, after checking the CSRF
// token on every state-changing one. A cookie whose session has ended is
// answered 401 SESSION_EXPIRED.
func (s *Service) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			next.ServeHTTP(w, r)
			return
		}
		sess, sent := s.lookup(r)
		if !sent {
			next.ServeHTTP(w, r)
			return
		}
		if sess == nil {
			s.clearCookie(w, r)
			writeError(w, http.StatusUnauthorized, 16, ReasonSessionExpired, "session expired: sign in again")
			return
		}
		if !safeMethod(r.Method) && !s.csrfOK(r, sess) {
			writeError(w, http.StatusForbidden, 7, ReasonCSRF, "missing or wrong "+CSRFHeader+" header")
			return
		}
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+sess.token)
		next.ServeHTTP(w, r)
	})
}

func (s *Service) csrfOK(r *http.Request, sess *session) bool {
	got := r.Header.Get(CSRFHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) == 1
}

// writeError answers like the gateway's API refusals: a google.rpc.Status
// in JSON with an ErrorInfo.
func writeError(w http.ResponseWriter, httpCode, grpcCode int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(httpCode)
	json.NewEncoder(w).Encode(map[string]any{
		"code": grpcCode, "message": msg,
		"details": []any{map[string]any{
			"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "disputes.gov",
		}},
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

func (s *Service) config(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"dev": s.cfg.Dev, "oidc": s.oidc != nil, "region": s.cfg.Region})
}

type sessionView struct {
	SignedIn bool `json:"signedIn"`
	Person
	CSRFToken  string    `json:"csrfToken"`
	ExpireTime time.Time `json:"expireTime"`
}

func (s *Service) current(w http.ResponseWriter, r *http.Request) {
	// Not being signed in is an answer, not a refusal: the console asks
	// this on every start. Expired says a cookie came whose session ended.
	sess, sent := s.lookup(r)
	if sess == nil {
		if sent {
			s.clearCookie(w, r)
		}
		writeJSON(w, map[string]any{"signedIn": false, "expired": sent})
		return
	}
	writeJSON(w, sessionView{SignedIn: true, Person: sess.person, CSRFToken: sess.csrf, ExpireTime: sess.expires})
}

func (s *Service) signOut(w http.ResponseWriter, r *http.Request) {
	sess, _ := s.lookup(r)
	if sess != nil {
		if !s.csrfOK(r, sess) {
			writeError(w, http.StatusForbidden, 7, ReasonCSRF, "missing or wrong "+CSRFHeader+" header")
			return
		}
		s.end(r)
	}
	s.clearCookie(w, r)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Clear-Site-Data", `"cache", "storage"`)
	w.WriteHeader(http.StatusNoContent)
}

// end drops the request's session, if any.
func (s *Service) end(r *http.Request) {
	c, err := r.Cookie(s.cookieName(r))
	if err != nil {
		return
	}
	s.mu.Lock()
	delete(s.sessions, hashID(c.Value))
	s.mu.Unlock()
}

func (s *Service) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil || s.cfg.SecureCookie, SameSite: http.SameSiteStrictMode})
}

// start ends the request's old session, opens one for p and sets its cookie.
func (s *Service) start(w http.ResponseWriter, r *http.Request, p Person) (*session, error) {
	s.end(r)
	now := s.cfg.Now()
	signer := s.cfg.Signer
	signer.Now = s.cfg.Now
	token, err := signer.Issue(authn.Identity{Region: p.Region, Department: p.Unit, Staff: p.Staff, Roles: p.Roles}, s.cfg.SessionTTL)
	if err != nil {
		return nil, err
	}
	id := randomToken()
	sess := &session{person: p, token: token, csrf: randomToken(), expires: now.Add(s.cfg.SessionTTL), lastUsed: now}
	s.mu.Lock()
	s.sessions[hashID(id)] = sess
	for k, o := range s.sessions { // drop ended sessions as new ones start
		if !now.Before(o.expires) || now.Sub(o.lastUsed) > s.cfg.IdleTimeout {
			delete(s.sessions, k)
		}
	}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil || s.cfg.SecureCookie, SameSite: http.SameSiteStrictMode,
		Expires: sess.expires})
	s.cfg.Log.Info("signed in", "region", p.Region, "department", p.Unit, "staff", p.Staff)
	return sess, nil
}

// readRoster reads the region's roster with a token of the gateway's own
// that lives a minute and is used for this read only.
func (s *Service) readRoster(ctx context.Context) (*rosterv1.Roster, error) {
	signer := s.cfg.Signer
	signer.Now = s.cfg.Now
	token, err := signer.Issue(authn.Identity{Region: s.cfg.Region, Department: "gateway", Staff: "gateway-signin",
		Roles: []string{authn.RoleClerk}}, time.Minute)
	if err != nil {
		return nil, err
	}
	res, err := s.roster.GetRoster(authn.WithToken(ctx, token), &rosterv1.GetRosterRequest{Name: "regions/" + s.cfg.Region + "/roster"})
	if err != nil {
		return nil, err
	}
	return res.GetRoster(), nil
}

// person finds staff in the roster: their unit, name and roles. unit may
// be empty to search every unit.
func (s *Service) person(ctx context.Context, unit, staff string) (Person, error) {
	r, err := s.readRoster(ctx)
	if err != nil {
		return Person{}, err
	}
	for _, u := range r.GetUnits() {
		if unit != "" && u.GetId() != unit {
			continue
		}
		for _, m := range u.GetStaff() {
			if m.GetId() == staff && len(m.GetRoles()) > 0 {
				return Person{Region: s.cfg.Region, RegionName: r.GetRegionName(), Unit: u.GetId(), UnitName: u.GetName(),
					Staff: m.GetId(), DisplayName: m.GetDisplayName(), Roles: slices.Clone(m.GetRoles())}, nil
			}
		}
	}
	return Person{}, errNotInRoster
}

var errNotInRoster = errors.New("not a staff member with a role in the roster")

type devUnit struct {
	ID    string     `json:"id"`
	Name  string     `json:"name"`
	Staff []devStaff `json:"staff"`
}
type devStaff struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Roles       []string `json:"roles"`
}

func (s *Service) devStaff(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Dev {
		writeError(w, http.StatusNotFound, 5, ReasonSignInDisabled, "development sign-in is off")
		return
	}
	ro, err := s.readRoster(r.Context())
	if err != nil {
		s.cfg.Log.Warn("dev sign-in: roster", "error", err)
		writeError(w, http.StatusServiceUnavailable, 14, "BACKEND_UNAVAILABLE", "roster unavailable")
		return
	}
	units := []devUnit{}
	for _, u := range ro.GetUnits() {
		du := devUnit{ID: u.GetId(), Name: u.GetName(), Staff: []devStaff{}}
		for _, m := range u.GetStaff() {
			if len(m.GetRoles()) > 0 {
				du.Staff = append(du.Staff, devStaff{ID: m.GetId(), DisplayName: m.GetDisplayName(), Roles: m.GetRoles()})
			}
		}
		if len(du.Staff) > 0 {
			units = append(units, du)
		}
	}
	writeJSON(w, map[string]any{"regionName": ro.GetRegionName(), "units": units})
}

func (s *Service) devSignIn(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Dev {
		writeError(w, http.StatusNotFound, 5, ReasonSignInDisabled, "development sign-in is off")
		return
	}
	// A JSON body only: a cross-site form cannot send it without a CORS
	// preflight, which the gateway never grants (no login CSRF).
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, 3, ReasonSignInFailed, "send JSON")
		return
	}
	var req struct{ Unit, Staff string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.Unit == "" || req.Staff == "" {
		writeError(w, http.StatusBadRequest, 3, ReasonSignInFailed, "unit and staff are required")
		return
	}
	p, err := s.person(r.Context(), req.Unit, req.Staff)
	if err != nil {
		if errors.Is(err, errNotInRoster) {
			writeError(w, http.StatusForbidden, 7, ReasonUnknownStaff, "staff not in the roster")
			return
		}
		s.cfg.Log.Warn("dev sign-in: roster", "error", err)
		writeError(w, http.StatusServiceUnavailable, 14, "BACKEND_UNAVAILABLE", "roster unavailable")
		return
	}
	sess, err := s.start(w, r, p)
	if err != nil {
		s.cfg.Log.Error("dev sign-in: token", "error", err)
		writeError(w, http.StatusInternalServerError, 13, ReasonSignInFailed, "could not sign in")
		return
	}
	writeJSON(w, sessionView{SignedIn: true, Person: sess.person, CSRFToken: sess.csrf, ExpireTime: sess.expires})
}

func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
