package dispute

import (
	"strings"
	"testing"
	"time"
)

// validID and validCredit are published sample numbers whose check
// characters are right.
const (
	validID     = "11010519491231002X"
	validCredit = "91350100M000100Y43"
)

func TestCheckPhone(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"13812345678", true},
		{"19912345678", true},
		{"0358-7654321", true},
		{"03587654321", true},
		{"010-12345678", true},
		{"12812345678", false},  // 12x is no mobile prefix
		{"1381234567", false},   // 10 digits
		{"138123456789", false}, // 12 digits
		{"+8613812345678", false},
		{"0358-76543", false},
		{"358-7654321", false},
		{"１３８１２３４５６７８", false}, // full-width digits
		{"", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := CheckPhone(tc.in) == ""; got != tc.ok {
				t.Errorf("CheckPhone(%q) ok = %v, want %v", tc.in, got, tc.ok)
			}
		})
	}
}

func TestCheckIDNumber(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, Shanghai)
	// withCheck completes 17 digits with their check character.
	withCheck := func(first17 string) string {
		c, ok := IDCheckChar(first17)
		if !ok {
			t.Fatalf("IDCheckChar(%q) refused", first17)
		}
		return first17 + string(c)
	}
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"sample", validID, true},
		{"computed", withCheck("14118119900307123"), true},
		{"born today", withCheck("14118120260301123"), true},
		{"wrong check", "110105194912310021", false},
		{"lower-case x not normalized", "11010519491231002x", false},
		{"17 chars", "11010519491231002", false},
		{"letter inside", "1101051949123A002X", false},
		{"31 February", withCheck("14118119900231123"), false},
		{"month 13", withCheck("14118119901301123"), false},
		{"born tomorrow", withCheck("14118120260302123"), false},
		{"born 1899", withCheck("14118118991231123"), false},
		{"born 1900", withCheck("14118119000101123"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why := CheckIDNumber(tc.in, now)
			if (why == "") != tc.ok {
				t.Errorf("CheckIDNumber(%q) = %q, want ok=%v", tc.in, why, tc.ok)
			}
			if len(tc.in) == 18 && strings.Contains(why, tc.in[6:14]) {
				t.Errorf("CheckIDNumber(%q) = %q echoes the birth date", tc.in, why)
			}
		})
	}
}

func TestCheckCreditCode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"sample", validCredit, true},
		{"hand-made, wrong check", "91141181MA0K2XXX0F", false},
		{"wrong check", "91350100M000100Y44", false},
		{"letter I not in alphabet", "91350100I000100Y43", false},
		{"lower case", "91350100m000100y43", false},
		{"short", "91350100M000100Y4", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why := CheckCreditCode(tc.in)
			if (why == "") != tc.ok {
				t.Errorf("CheckCreditCode(%q) = %q, want ok=%v", tc.in, why, tc.ok)
			}
		})
	}
	// A check value of 31 - 0 = 31 is written 0.
	if c, ok := CreditCheckChar("00000000000000000"); !ok || c != '0' {
		t.Errorf("CreditCheckChar(all zero) = %c, %v; want 0", c, ok)
	}
}

func TestYear(t *testing.T) {
	// 2025-12-31 16:30 UTC is 2026-01-01 00:30 in Shanghai.
	if got := Year(time.Date(2025, 12, 31, 16, 30, 0, 0, time.UTC)); got != 2026 {
		t.Errorf("Year = %d, want 2026", got)
	}
	if got := Year(time.Date(2025, 12, 31, 15, 59, 0, 0, time.UTC)); got != 2025 {
		t.Errorf("Year = %d, want 2025", got)
	}
}

func TestNames(t *testing.T) {
	if got := Name("141181", "2026-17"); got != "regions/141181/disputes/2026-17" {
		t.Errorf("Name = %q", got)
	}
}
