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
	"time"

	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
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
	// Store keeps the sessions; several gateways serve the same sessions
	// from a shared one (RedisStore). Default: this gateway's memory.
	Store Store
	Log   *slog.Logger
	Now   func() time.Time
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

// session is what a session's record holds.
type session struct {
	Person   Person    `json:"person"`
	Token    string    `json:"token"`
	CSRF     string    `json:"csrf"`
	Expires  time.Time `json:"expires"`
	LastUsed time.Time `json:"lastUsed"`
}

// Service answers /auth/ and keeps the sessions in its Store.
type Service struct {
	cfg    Config
	roster rosterv1.RosterServiceClient
	oidc   *oidcClient
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
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	s := &Service{cfg: cfg, roster: roster}
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

// lookup returns the live session of the request's cookie and whether a
// cookie was sent at all. Using a session keeps it from ending idle; its
// record is written again at most every touchEvery.
func (s *Service) lookup(r *http.Request) (*session, bool, error) {
	c, err := r.Cookie(s.cookieName(r))
	if err != nil || c.Value == "" {
		return nil, false, nil
	}
	ctx, seal := r.Context(), sealFor(c.Value)
	var sess session
	ok, err := seal.open(ctx, s.cfg.Store, false, &sess)
	if err != nil || !ok {
		return nil, true, err
	}
	now := s.cfg.Now()
	if !now.Before(sess.Expires) || now.Sub(sess.LastUsed) > s.cfg.IdleTimeout {
		return nil, true, s.cfg.Store.Del(ctx, seal.id)
	}
	if now.Sub(sess.LastUsed) >= s.touchEvery() {
		sess.LastUsed = now
		if err := seal.put(ctx, s.cfg.Store, &sess, s.ttl(&sess, now)); err != nil {
			return nil, true, err
		}
	}
	return &sess, true, nil
}

// touchEvery is how often a session in use is written again: a
// thirtieth of the idle timeout, at most a minute.
func (s *Service) touchEvery() time.Duration { return min(s.cfg.IdleTimeout/30, time.Minute) }

// ttl is how long the store keeps sess from now: until it would end
// idle, or expire.
func (s *Service) ttl(sess *session, now time.Time) time.Duration {
	return max(min(sess.Expires.Sub(now), s.cfg.IdleTimeout), time.Millisecond)
}

// unavailable answers a request whose session could not be read.
func (s *Service) unavailable(w http.ResponseWriter, err error) {
	s.cfg.Log.Error("session store", "error", err)
	writeError(w, http.StatusServiceUnavailable, 14, apierr.ReasonBackendUnavailable, "sessions unavailable: try again")
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
		sess, sent, err := s.lookup(r)
		if err != nil {
			s.unavailable(w, err)
			return
		}
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
		r.Header.Set("Authorization", "Bearer "+sess.Token)
		next.ServeHTTP(w, r)
	})
}

func (s *Service) csrfOK(r *http.Request, sess *session) bool {
	got := r.Header.Get(CSRFHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) == 1
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
	sess, sent, err := s.lookup(r)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	if sess == nil {
		if sent {
			s.clearCookie(w, r)
		}
		writeJSON(w, map[string]any{"signedIn": false, "expired": sent})
		return
	}
	writeJSON(w, sessionView{SignedIn: true, Person: sess.Person, CSRFToken: sess.CSRF, ExpireTime: sess.Expires})
}

func (s *Service) signOut(w http.ResponseWriter, r *http.Request) {
	sess, _, err := s.lookup(r)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	if sess != nil {
		if !s.csrfOK(r, sess) {
			writeError(w, http.StatusForbidden, 7, ReasonCSRF, "missing or wrong "+CSRFHeader+" header")
			return
		}
		if err := s.end(r); err != nil {
			s.unavailable(w, err)
			return
		}
	}
	s.clearCookie(w, r)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Clear-Site-Data", `"cache", "storage"`)
	w.WriteHeader(http.StatusNoContent)
}

// end drops the request's session, if any.
func (s *Service) end(r *http.Request) error {
	c, err := r.Cookie(s.cookieName(r))
	if err != nil {
		return nil
	}
	return s.cfg.Store.Del(r.Context(), hashID(c.Value))
}

func (s *Service) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil || s.cfg.SecureCookie, SameSite: http.SameSiteStrictMode})
}

// start ends the request's old session, opens one for p and sets its cookie.
func (s *Service) start(w http.ResponseWriter, r *http.Request, p Person) (*session, error) {
	if err := s.end(r); err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	signer := s.cfg.Signer
	signer.Now = s.cfg.Now
	token, err := signer.Issue(authn.Identity{Region: p.Region, Department: p.Unit, Staff: p.Staff, Roles: p.Roles}, s.cfg.SessionTTL)
	if err != nil {
		return nil, err
	}
	id := randomToken()
	sess := &session{Person: p, Token: token, CSRF: randomToken(), Expires: now.Add(s.cfg.SessionTTL), LastUsed: now}
	if err := sealFor(id).put(r.Context(), s.cfg.Store, sess, s.ttl(sess, now)); err != nil {
		return nil, err
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil || s.cfg.SecureCookie, SameSite: http.SameSiteStrictMode,
		Expires: sess.Expires})
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
	writeJSON(w, sessionView{SignedIn: true, Person: sess.Person, CSRFToken: sess.CSRF, ExpireTime: sess.Expires})
}

func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
