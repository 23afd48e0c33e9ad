package signin

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store keeps the sign-in's records (sessions, and OpenID Connect logins
// on their way) by the SHA-256 of their secret, sealed with a key derived
// from that secret: what the store holds opens only with the cookie or
// state the browser has (docs/SECURITY.md, "Console sign-in and
// sessions"). A record is gone after its time to live.
type Store interface {
	Put(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Get returns the record, or ok false when there is none.
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	// Take returns the record and deletes it, at most once.
	Take(ctx context.Context, key string) (val []byte, ok bool, err error)
	Del(ctx context.Context, key string) error
}

// MemoryStore is a Store in the gateway's memory: its sessions end with
// the process and serve that gateway alone.
type MemoryStore struct {
	mu   sync.Mutex
	recs map[string]memRecord
	now  func() time.Time
}

type memRecord struct {
	val     []byte
	expires time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{recs: map[string]memRecord{}, now: time.Now}
}

// Put keeps val for ttl and drops the records that have expired.
func (m *MemoryStore) Put(_ context.Context, key string, val []byte, ttl time.Duration) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, r := range m.recs {
		if !now.Before(r.expires) {
			delete(m.recs, k)
		}
	}
	m.recs[key] = memRecord{val: val, expires: now.Add(ttl)}
	return nil
}

// Get returns the record of key while it lives.
func (m *MemoryStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[key]
	if !ok || !m.now().Before(r.expires) {
		return nil, false, nil
	}
	return r.val, true, nil
}

// Take returns the record of key and deletes it.
func (m *MemoryStore) Take(ctx context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[key]
	delete(m.recs, key)
	if !ok || !m.now().Before(r.expires) {
		return nil, false, nil
	}
	return r.val, true, nil
}

// Del deletes the record of key.
func (m *MemoryStore) Del(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.recs, key)
	m.mu.Unlock()
	return nil
}

// RedisStore is a Store in Redis (a single server or a cluster), so every
// replica of the gateway serves every session: a browser may reach any of
// them, and a gateway that stops takes no session with it.
type RedisStore struct{ rdb redis.UniversalClient }

// NewRedisStore returns a Store keeping records under gateway:session:.
func NewRedisStore(rdb redis.UniversalClient) *RedisStore { return &RedisStore{rdb: rdb} }

func redisKey(key string) string { return "gateway:session:" + key }

// Put writes val with ttl.
func (s *RedisStore) Put(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return s.rdb.Set(ctx, redisKey(key), val, ttl).Err()
}

// Get reads the record of key.
func (s *RedisStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return found(s.rdb.Get(ctx, redisKey(key)).Bytes())
}

// Take reads and deletes the record of key (GETDEL).
func (s *RedisStore) Take(ctx context.Context, key string) ([]byte, bool, error) {
	return found(s.rdb.GetDel(ctx, redisKey(key)).Bytes())
}

// Ping checks that Redis answers, for the gateway's readiness.
func (s *RedisStore) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

// Del deletes the record of key.
func (s *RedisStore) Del(ctx context.Context, key string) error {
	return s.rdb.Del(ctx, redisKey(key)).Err()
}

func found(b []byte, err error) ([]byte, bool, error) {
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// sealed is how a record is kept: its id in the store, and the AEAD that
// seals it, both derived from the secret.
type sealed struct {
	id   string
	aead cipher.AEAD
}

func sealFor(secret string) sealed {
	key := sha256.Sum256([]byte("disputes-signin-seal\x00" + secret))
	block, _ := aes.NewCipher(key[:]) // a 32-byte key is always accepted
	aead, _ := cipher.NewGCM(block)
	return sealed{id: hashID(secret), aead: aead}
}

// put seals v as JSON and keeps it for ttl.
func (s sealed) put(ctx context.Context, st Store, v any, ttl time.Duration) error {
	plain, err := json.Marshal(v)
	if err != nil {
		return err
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return st.Put(ctx, s.id, s.aead.Seal(nonce, nonce, plain, []byte(s.id)), ttl)
}

// open reads the record (taking it when take) into v; ok false when there
// is none.
func (s sealed) open(ctx context.Context, st Store, take bool, v any) (ok bool, err error) {
	get := st.Get
	if take {
		get = st.Take
	}
	b, ok, err := get(ctx, s.id)
	if err != nil || !ok {
		return false, err
	}
	n := s.aead.NonceSize()
	if len(b) < n {
		return false, fmt.Errorf("sign-in record %s is too short", s.id[:8])
	}
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(s.id))
	if err != nil {
		return false, fmt.Errorf("sign-in record %s does not open: %w", s.id[:8], err)
	}
	return true, json.Unmarshal(plain, v)
}
