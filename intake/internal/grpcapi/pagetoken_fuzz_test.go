package grpcapi

import (
	"testing"

	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
)

// FuzzPageToken: any page token a client sends is refused or understood,
// never a panic; one that is understood encodes back to itself.
func FuzzPageToken(f *testing.F) {
	for _, c := range []*store.Cursor{{Score: 1764547200000, ID: "2026-17"}, {Score: -5, ID: "2025-1"}} {
		f.Add(encodePageToken(c))
	}
	f.Add("")
	f.Add("not a token")
	f.Add("MTIzLzIwMjYtMDE3") // "123/2026-017": a leading zero
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := decodePageToken(tok)
		if err != nil || c == nil {
			return
		}
		if again := encodePageToken(c); again != tok {
			if c2, err := decodePageToken(again); err != nil || *c2 != *c {
				t.Fatalf("token %q decodes to %+v, which encodes to %q decoding to %+v (%v)", tok, c, again, c2, err)
			}
		}
	})
}
