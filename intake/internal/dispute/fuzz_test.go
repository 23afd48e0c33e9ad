package dispute

import (
	"strings"
	"testing"
	"time"
)

// refIDCheck is the MOD 11-2 check character of GB 11643 computed from its
// definition, (12 - sum(d_i * 2^(17-i)) mod 11) mod 11, independently of
// IDCheckChar's tables.
func refIDCheck(first17 string) byte {
	sum, w := 0, 1
	for i := 16; i >= 0; i-- {
		w = w * 2 % 11
		sum += int(first17[i]-'0') * w
	}
	v := (12 - sum%11) % 11
	if v == 10 {
		return 'X'
	}
	return byte('0' + v)
}

// refCreditCheck is the check character of GB 32100 from its definition:
// weights 3^i mod 31, check value 31 - sum mod 31 (31 written 0).
func refCreditCheck(first17 string) byte {
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(creditAlphabet, first17[i]) * w
		w = w * 3 % 31
	}
	return creditAlphabet[(31-sum%31)%31]
}

// FuzzCheckIDNumber: CheckIDNumber never panics, accepts a number only when
// its check character is the one the standard defines, and never echoes the
// number's birth date or the number itself in its reason.
func FuzzCheckIDNumber(f *testing.F) {
	for _, seed := range []string{validID, "110105194912310021", "11010519491231002", "1101051949123A002X",
		"14118119900231123X", "", "X", "141181202603011231", "00000000000000000X"} {
		f.Add(seed)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, Shanghai)
	f.Fuzz(func(t *testing.T, s string) {
		why := CheckIDNumber(s, now)
		if why == "" {
			if len(s) != 18 || refIDCheck(s[:17]) != s[17] {
				t.Fatalf("CheckIDNumber accepted %q", s)
			}
			return
		}
		if len(s) >= 8 && strings.Contains(why, s) {
			t.Fatalf("CheckIDNumber(%q) = %q echoes the number", s, why)
		}
		if len(s) == 18 && strings.Contains(why, s[6:14]) {
			t.Fatalf("CheckIDNumber(%q) = %q echoes the birth date", s, why)
		}
		if len(s) == 18 {
			if c, ok := IDCheckChar(s[:17]); ok && c != refIDCheck(s[:17]) {
				t.Fatalf("IDCheckChar(%q) = %c, the standard gives %c", s[:17], c, refIDCheck(s[:17]))
			}
		}
	})
}

// FuzzCheckCreditCode: CheckCreditCode never panics, agrees with the
// standard's definition of the check character, and never echoes the code.
func FuzzCheckCreditCode(f *testing.F) {
	for _, seed := range []string{validCredit, "91350100M000100Y44", "91350100I000100Y43", "00000000000000000",
		"000000000000000000", "", "YYYYYYYYYYYYYYYYYY"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		why := CheckCreditCode(s)
		ok := len(s) == 18 && strings.Trim(s, creditAlphabet) == "" && refCreditCheck(s[:17]) == s[17]
		if (why == "") != ok {
			t.Fatalf("CheckCreditCode(%q) = %q, the standard says valid=%v", s, why, ok)
		}
		if why != "" && len(s) >= 8 && strings.Contains(why, s) {
			t.Fatalf("CheckCreditCode(%q) = %q echoes the code", s, why)
		}
	})
}
