package authn

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// GenerateKeyFiles creates a new Ed25519 key pair and writes it as PEM: the
// private key as PKCS#8 (mode 0600) to privPath, the public key as PKIX to pubPath.
func GenerateKeyFiles(privPath, pubPath string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("marshal private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("marshal public key: %w", err)
	}
	if err := os.WriteFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return fmt.Errorf("write public key: %w", err)
	}
	return nil
}

func readPEM(path string) (*pem.Block, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return block, nil
}

// LoadPrivateKey reads a PKCS#8 PEM Ed25519 private key.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: parse private key: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 private key (%T)", path, key)
	}
	return priv, nil
}

// LoadPublicKey reads a PKIX PEM Ed25519 public key. A private key file is
// refused: a verifier given the signing key could mint tokens itself, and
// the mistake usually means the private key was copied where it should not be.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	pubs, err := readPublicKeys(path)
	if err != nil {
		return nil, err
	}
	if len(pubs) != 1 {
		return nil, fmt.Errorf("%s: holds %d public keys, want one", path, len(pubs))
	}
	return pubs[0], nil
}

// readPublicKeys reads every PEM block of a file, each of which must be a
// PKIX Ed25519 public key.
func readPublicKeys(path string) ([]ed25519.PublicKey, error) {
	rest, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	var pubs []ed25519.PublicKey
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, fmt.Errorf("%s: is a private key (%s), where a public key is expected: give the verifier the .pub.pem file, and keep the private key only where tokens are signed", path, block.Type)
		}
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: parse public key: %w", path, err)
		}
		pub, ok := key.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s: not an Ed25519 public key (%T)", path, key)
		}
		pubs = append(pubs, pub)
	}
	if len(pubs) == 0 {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return pubs, nil
}

// KeyID returns the key id (kid) of pub: its RFC 7638 JWK thumbprint
// (SHA-256, base64url). It is derived from the key itself, so a kid can
// never be paired with the wrong key, and issuer and verifiers agree on it
// without exchanging anything but the public key.
func KeyID(pub ed25519.PublicKey) string {
	jwk := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(jwk))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// PublicKeySuffix ends the name of every public key file of a key
// directory; other files there (the private signing key) are not read.
const PublicKeySuffix = ".pub.pem"

// KeySet is the public keys tokens may be signed with, by key id. Several
// keys are valid at once so keys rotate without downtime: tokens signed by
// the previous key keep verifying until they expire. It is safe for
// concurrent use.
//
// A set loaded from a path is read again when a token names a kid it does
// not know (at most every reloadInterval), so a key added to the directory
// is accepted without a restart.
type KeySet struct {
	path string

	mu       sync.RWMutex
	keys     map[string]ed25519.PublicKey
	loadedAt time.Time
	now      func() time.Time
}

// reloadInterval bounds how often an unknown kid makes a KeySet re-read its
// path, so a stream of forged kids cannot keep the disk busy.
const reloadInterval = 10 * time.Second

// NewKeySet returns a fixed set of pubs.
func NewKeySet(pubs ...ed25519.PublicKey) *KeySet {
	s := &KeySet{keys: map[string]ed25519.PublicKey{}, now: time.Now}
	for _, p := range pubs {
		s.keys[KeyID(p)] = p
	}
	return s
}

// LoadKeySet reads the public keys at path: a file of one or several PEM
// public keys, or a directory whose *.pub.pem files each hold one or
// several. A private key where a public key is expected, a file that is not
// an Ed25519 public key, or no key at all is an error.
func LoadKeySet(path string) (*KeySet, error) {
	keys, err := readKeySet(path)
	if err != nil {
		return nil, err
	}
	return &KeySet{path: path, keys: keys, loadedAt: time.Now(), now: time.Now}, nil
}

func readKeySet(path string) (map[string]ed25519.PublicKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("token keys: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("token keys: %w", err)
		}
		files = files[:0]
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), PublicKeySuffix) {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("token keys: no *%s file in %s", PublicKeySuffix, path)
		}
	}
	keys := map[string]ed25519.PublicKey{}
	for _, f := range files {
		pubs, err := readPublicKeys(f)
		if err != nil {
			return nil, fmt.Errorf("token keys: %w", err)
		}
		for _, p := range pubs {
			keys[KeyID(p)] = p
		}
	}
	return keys, nil
}

// Get returns the key with id kid. An unknown kid makes a set loaded from a
// path read it again first, unless it did so within reloadInterval; a
// failed reload keeps the keys it had.
func (s *KeySet) Get(kid string) (ed25519.PublicKey, bool) {
	s.mu.RLock()
	pub, ok := s.keys[kid]
	s.mu.RUnlock()
	if ok || s.path == "" {
		return pub, ok
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if pub, ok := s.keys[kid]; ok {
		return pub, true
	}
	if now := s.now(); now.Sub(s.loadedAt) >= reloadInterval {
		s.loadedAt = now
		if keys, err := readKeySet(s.path); err == nil {
			s.keys = keys
		}
	}
	pub, ok = s.keys[kid]
	return pub, ok
}

// IDs returns the key ids of the set, sorted.
func (s *KeySet) IDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, len(s.keys))
	for id := range s.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
