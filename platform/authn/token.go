package authn

import (
	"crypto/ed25519"
	"errors"
	"fmt"
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
type Verifier struct {
	pub    ed25519.PublicKey
	parser *jwt.Parser
}

// NewVerifier returns a Verifier that accepts only EdDSA tokens signed by
// pub's private key, issued by Issuer, with an expiry.
func NewVerifier(pub ed25519.PublicKey) *Verifier {
	return &Verifier{
		pub: pub,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuer(Issuer),
			jwt.WithLeeway(5*time.Second),
		),
	}
}

// ErrTokenExpired is wrapped by Verify when the token's exp has passed.
var ErrTokenExpired = jwt.ErrTokenExpired

// Verify checks token's signature and claims and returns the identity it carries.
func (v *Verifier) Verify(token string) (Identity, error) {
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.pub, nil })
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Identity{}, fmt.Errorf("token expired: %w", err)
		}
		return Identity{}, fmt.Errorf("invalid token: %w", err)
	}
	id := Identity{Region: c.Region, Department: c.Dept, Staff: c.Subject, Roles: c.Roles}
	if err := id.Validate(); err != nil {
		return Identity{}, fmt.Errorf("invalid token claims: %w", err)
	}
	return id, nil
}
