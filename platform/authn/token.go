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

type claims struct {
	Region string   `json:"region"`
	Dept   string   `json:"dept"`
	Roles  []string `json:"roles"`
	jwt.RegisteredClaims
}

// Issue signs a token for id valid for ttl. It refuses an invalid identity
// so a bad token can never be minted.
func Issue(priv ed25519.PrivateKey, id Identity, ttl time.Duration) (string, error) {
	if err := id.Validate(); err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("issue token: ttl %v must be positive", ttl)
	}
	now := time.Now()
	c := claims{
		Region: id.Region,
		Dept:   id.Department,
		Roles:  id.Roles,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   id.Staff,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(priv)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verifier checks tokens against one public key. It is safe for concurrent use.
//
// A token that verified once is remembered until its expiry, keyed by its
// exact text: a client sends the same token with every call, and checking
// the Ed25519 signature each time would be most of the cost of a cheap RPC.
// A token that differs in any byte is verified afresh.
type Verifier struct {
	pub    ed25519.PublicKey
	parser *jwt.Parser
	now    func() time.Time

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

// NewVerifier returns a Verifier that accepts only EdDSA tokens signed by
// pub's private key, issued by Issuer, with an expiry.
func NewVerifier(pub ed25519.PublicKey) *Verifier {
	v := &Verifier{now: time.Now, verified: map[string]verified{}}
	v.pub = pub
	v.parser = jwt.NewParser(
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(Issuer),
		jwt.WithLeeway(5*time.Second),
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
	_, err := v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.pub, nil })
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Identity{}, time.Time{}, fmt.Errorf("token expired: %w", err)
		}
		return Identity{}, time.Time{}, fmt.Errorf("invalid token: %w", err)
	}
	id := Identity{Region: c.Region, Department: c.Dept, Staff: c.Subject, Roles: c.Roles}
	if err := id.Validate(); err != nil {
		return Identity{}, time.Time{}, fmt.Errorf("invalid token claims: %w", err)
	}
	return id, c.ExpiresAt.Time, nil
}
