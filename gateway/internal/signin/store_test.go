package signin

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// TestSessionsSharedThroughRedis runs two gateways' sign-ins on one real
// Redis: a session opened on one serves on the other, signing out on the
// other ends it on both, and what Redis holds names neither the person
// nor the token.
func TestSessionsSharedThroughRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis")
	}
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	store := NewRedisStore(rdb)
	a := newFixture(t, func(c *Config) { c.Store = store })
	b := newFixture(t, func(c *Config) { c.Store = store; c.Signer = a.svc.cfg.Signer })
	c, v := a.devSignIn(t, "tax", "wang")

	if rec := b.do("GET", "/v1/regions/141181/disputes", "", []*http.Cookie{c}, nil); rec.Code != 200 || b.seen == nil {
		t.Fatalf("the other gateway with the session: HTTP %d %s", rec.Code, rec.Body)
	}
	tok, _ := strings.CutPrefix(b.seen.Header.Get("Authorization"), "Bearer ")
	if id, err := a.verify.Verify(tok); err != nil || id.Staff != "wang" {
		t.Fatalf("token forwarded by the other gateway: %+v, %v", id, err)
	}

	ctx := context.Background()
	keys, err := r.AdminClient(t).Keys(ctx, "gateway:session:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("session records in Redis: %v, %v", keys, err)
	}
	raw, err := rdb.Get(ctx, keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{tok, v.CSRFToken, "wang", "王小明", c.Value} {
		if strings.Contains(raw, secret) || strings.Contains(keys[0], secret) {
			t.Fatalf("Redis holds %q in the clear", secret)
		}
	}
	if ttl := rdb.TTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > a.svc.cfg.IdleTimeout {
		t.Fatalf("session record TTL %v, want (0, %v]", ttl, a.svc.cfg.IdleTimeout)
	}

	if rec := b.do("POST", "/auth/signout", "", []*http.Cookie{c}, map[string]string{CSRFHeader: v.CSRFToken}); rec.Code != http.StatusNoContent {
		t.Fatalf("sign-out on the other gateway: HTTP %d", rec.Code)
	}
	if rec := a.do("GET", "/v1/x", "", []*http.Cookie{c}, nil); rec.Code != http.StatusUnauthorized || reason(t, rec) != ReasonSessionExpired {
		t.Fatalf("first gateway after sign-out on the other: HTTP %d %s", rec.Code, rec.Body)
	}

	// With Redis gone a session cannot be read: 503, not a signed-out 401.
	c, _ = a.devSignIn(t, "tax", "wang")
	r.Kill()
	if rec := b.do("GET", "/v1/x", "", []*http.Cookie{c}, nil); rec.Code != http.StatusServiceUnavailable || b.seen != nil {
		t.Fatalf("with the session store down: HTTP %d %s", rec.Code, rec.Body)
	}
}

// TestSealedRecordOpensOnlyWithItsSecret: a record read with another
// secret's key, or changed in the store, does not open.
func TestSealedRecordOpensOnlyWithItsSecret(t *testing.T) {
	st := NewMemoryStore()
	ctx := context.Background()
	if err := sealFor("secret-1").put(ctx, st, map[string]string{"a": "b"}, 60e9); err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if ok, err := sealFor("secret-1").open(ctx, st, false, &v); !ok || err != nil || v["a"] != "b" {
		t.Fatalf("open with its secret: %v %v %v", ok, err, v)
	}
	other := sealFor("secret-2")
	other.id = sealFor("secret-1").id
	if _, err := other.open(ctx, st, false, &v); err == nil {
		t.Fatal("a record opened with another secret's key")
	}
	raw, _, _ := st.Get(ctx, sealFor("secret-1").id)
	raw[len(raw)-1] ^= 1
	if _, err := sealFor("secret-1").open(ctx, st, false, &v); err == nil {
		t.Fatal("a changed record opened")
	}
	if ok, err := sealFor("secret-1").open(ctx, st, true, &v); ok || err == nil {
		t.Fatalf("take of a changed record: %v %v", ok, err)
	}
	if _, ok, _ := st.Get(ctx, sealFor("secret-1").id); ok {
		t.Fatal("take left the record")
	}
}
