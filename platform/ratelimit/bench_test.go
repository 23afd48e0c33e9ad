package ratelimit

import "testing"

// BenchmarkAllow is the cost every call pays: one staff and one department
// bucket under the table's lock.
func BenchmarkAllow(b *testing.B) {
	l := New(nil, nil)
	c := caller("tax", "wang")
	b.ReportAllocs()
	for b.Loop() {
		l.Allow(c, Write)
	}
}
