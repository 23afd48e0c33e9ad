package grpcapi

import "testing"

// FuzzWorklistToken: any page token a client sends is refused or
// understood, never a panic; one that is understood continues the same
// request after an encode and decode.
func FuzzWorklistToken(f *testing.F) {
	const parent = "regions/141181/departments/tax"
	f.Add(pageToken{Parent: parent, Bucket: 1, DueWithin: 3, Now: 1764547200, After: "x"}.encode())
	f.Add("")
	f.Add("e30") // {}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := decodeToken(tok, parent, 1, 3, 0)
		if err != nil {
			return
		}
		q, err := decodeToken(p.encode(), parent, 1, 3, 0)
		if err != nil || q != p {
			t.Fatalf("token %q: %+v re-encoded decodes to %+v, %v", tok, p, q, err)
		}
	})
}
