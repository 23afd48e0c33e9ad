package grpcapi

import (
	"testing"
)

// FuzzPageToken feeds arbitrary page tokens to the lists' parser: each is
// refused or understood, never a panic, and an understood one continues
// the query it was issued for and encodes back to the same position.
func FuzzPageToken(f *testing.F) {
	const query = "regions/141181||tax|0"
	f.Add(nextToken(query, "06H3CKAKHH4TSN6827XBSTTDXM"))
	f.Add(nextToken("regions/141181|x|y|1", "A"))
	f.Add("")
	f.Add("garbage")
	f.Add("eyJxIjoiIiwiYSI6IiJ9")
	f.Fuzz(func(t *testing.T, token string) {
		after, size, err := readPage(token, 0, query)
		if err != nil {
			return
		}
		if size != defaultPageSize {
			t.Fatalf("size %d for page_size 0", size)
		}
		if token == "" {
			if after != "" {
				t.Fatalf("no token, after %q", after)
			}
			return
		}
		again, _, err := readPage(nextToken(query, after), 0, query)
		if err != nil || again != after {
			t.Fatalf("token after %q encodes back to %q, %v", after, again, err)
		}
	})
}
