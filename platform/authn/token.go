package authn

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is the iss claim of every token this platform issues and accepts.
const Issuer = "disputes"

// Token defaults. A token names the platform as its audience (aud), so a
// token minted for another system by the same key holder is not accepted
// here; it lives at most a working day; and its issue time may be at most a
// minute ahead of the verifier's clock.
const (
	DefaultAudience    = "disputes"
	DefaultMaxLifetime = 12 * time.Hour
	MaxClockSkew       = time.Minute
)

// leeway is the clock skew allowed on exp and nbf.
const leeway = 5 * time.Second

type claims struct {
	Region string   `json:"region"`
	Dept   string   `json:"dept"`
	Roles  []string `json:"roles"`
	jwt.RegisteredClaims
}

// Signer mints tokens with one private key. Zero fields take the defaults:
// KeyID the key's id (KeyID), Audience DefaultAudience, MaxLifetime
// DefaultMaxLifetime, Now time.Now.
type Signer struct {
	Key         ed25519.PrivateKey
	KeyID       string
	Audience    string
	MaxLifetime time.Duration
	Now         func() time.Time
}

// Issue signs a token for id valid for ttl, with iss, aud, sub, iat, exp
// and the key id (kid) in its header. It refuses an invalid identity and a
// ttl beyond the maximum lifetime, so such a token is never minted.
func (s Signer) Issue(id Identity, ttl time.Duration) (string, error) {
	if err := id.Validate(); err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	if len(s.Key) != ed25519.PrivateKeySize {
		return "", errors.New("issue token: no Ed25519 private key")
	}
	maxLife := cmp(s.MaxLifetime, DefaultMaxLifetime)
	if ttl <= 0 || ttl > maxLife {
		return "", fmt.Errorf("issue token: ttl %v must be positive and at most %v", ttl, maxLife)
	}
	kid := s.KeyID
	if kid == "" {
		kid = KeyID(s.Key.Public().(ed25519.PublicKey))
	}
	aud := s.Audience
	if aud == "" {
		aud = DefaultAudience
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	c := claims{
		Region: id.Region,
		Dept:   id.Department,
		Roles:  id.Roles,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   id.Staff,
			Audience:  jwt.ClaimStrings{aud},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = kid
	str, err := t.SignedString(s.Key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return str, nil
}

// Issue signs a token for id valid for ttl with priv and the defaults of
// Signer.
func Issue(priv ed25519.PrivateKey, id Identity, ttl time.Duration) (string, error) {
	return Signer{Key: priv}.Issue(id, ttl)
}

func cmp(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// VerifyOptions are the claims a Verifier insists on; zero fields take
// DefaultAudience and DefaultMaxLifetime.
type VerifyOptions struct {
	// Audience must be among the token's aud.
	Audience string
	// MaxLifetime bounds exp - iat.
	MaxLifetime time.Duration
}

// Verifier checks tokens against a key set. It is safe for concurrent use.
//
// A token that verified once is remembered until its expiry, keyed by its
// exact text: a client sends the same token with every call, and checking
// the Ed25519 signature each time would be most of the cost of a cheap RPC.
// A token that differs in any byte is verified afresh.
type Verifier struct {
	keys        *KeySet
	audience    string
	maxLifetime time.Duration
	parser      *jwt.Parser
	now         func() time.Time

	mu       sync.RWMutex
	verified map[string]verified
}

// verifiedCacheSize bounds the remembered tokens; the cache is emptied when
// full (tokens live for hours, so it refills with the ones in use).
const verifiedCacheSize = 8192

type verified struct {
	id  Identity
	exp time.Time
}

// NewVerifier returns a Verifier with the default options that accepts
// tokens signed by the private key of any of pubs.
func NewVerifier(pubs ...ed25519.PublicKey) *Verifier {
	return NewKeySetVerifier(NewKeySet(pubs...), VerifyOptions{})
}

// NewKeySetVerifier returns a Verifier that accepts only EdDSA tokens with
// a kid of keys, signed by that key, issued by Issuer for opts.Audience,
// with an iat at most MaxClockSkew ahead and an exp at most
// opts.MaxLifetime after it.
func NewKeySetVerifier(keys *KeySet, opts VerifyOptions) *Verifier {
	v := &Verifier{
		keys: keys, audience: opts.Audience, maxLifetime: cmp(opts.MaxLifetime, DefaultMaxLifetime),
		now: time.Now, verified: map[string]verified{},
	}
	if v.audience == "" {
		v.audience = DefaultAudience
	}
	v.parser = jwt.NewParser(
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(v.audience),
		jwt.WithLeeway(leeway),
	)
	return v
}

// ErrTokenExpired is wrapped by Verify when the token's exp has passed.
var ErrTokenExpired = jwt.ErrTokenExpired

// Verify checks token's signature and claims and returns the identity it carries.
func (v *Verifier) Verify(token string) (Identity, error) {
	now := v.now()
	v.mu.RLock()
	hit, ok := v.verified[token]
	v.mu.RUnlock()
	if ok && now.Before(hit.exp) {
		id := hit.id
		id.Roles = slices.Clone(id.Roles)
		return id, nil
	}
	id, exp, err := v.verify(token)
	if err != nil {
		return Identity{}, err
	}
	v.mu.Lock()
	if len(v.verified) >= verifiedCacheSize {
		clear(v.verified)
	}
	v.verified[token] = verified{id: id, exp: exp}
	v.mu.Unlock()
	id.Roles = slices.Clone(id.Roles)
	return id, nil
}

// verify checks the signature and claims, returning the identity and expiry.
func (v *Verifier) verify(token string) (Identity, time.Time, error) {
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, v.key)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Identity{}, time.Time{}, fmt.Errorf("token expired: %w", err)
		}
		return Identity{}, time.Time{}, fmt.Errorf("invalid token: %w", err)
	}
	if c.IssuedAt == nil {
		return Identity{}, time.Time{}, errors.New("invalid token: no iat (issue time)")
	}
	iat, exp := c.IssuedAt.Time, c.ExpiresAt.Time
	if iat.After(v.now().Add(MaxClockSkew)) {
		return Identity{}, time.Time{}, fmt.Errorf("invalid token: issued in the future (iat %s)", iat.UTC().Format(time.RFC3339))
	}
	if life := exp.Sub(iat); life > v.maxLifetime {
		return Identity{}, time.Time{}, fmt.Errorf("invalid token: lifetime %v exceeds the maximum %v", life, v.maxLifetime)
	}
	id := Identity{Region: c.Region, Department: c.Dept, Staff: c.Subject, Roles: c.Roles}
	if err := id.Validate(); err != nil {
		return Identity{}, time.Time{}, fmt.Errorf("invalid token claims: %w", err)
	}
	return id, exp, nil
}

// key finds the public key named by the token's kid header.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("no kid (key id) in the header")
	}
	pub, ok := v.keys.Get(kid)
	if !ok {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	return pub, nil
}
