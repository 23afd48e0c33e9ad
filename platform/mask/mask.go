// Package mask hides the middle of personal numbers (phones, resident ID
// numbers, credit codes) so they can be shown to staff or written to logs
// without exposing the full value. docs/SECURITY.md ("What is masked")
// lists what is masked where.
package mask

import (
	"regexp"
	"strings"
)

var (
	mobileRE = regexp.MustCompile(`^(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}$`)
	// inTextMobileRE finds mobiles inside free text, with an optional +86 /
	// 86 prefix and space or dash grouping ("138 1234 1234").
	inTextMobileRE = regexp.MustCompile(`(\+?86[ -]?)?(1[3-9]\d(?:[ -]?\d{4}){2})`)
	// inTextIDRE finds 18-character resident ID numbers: 6-digit area,
	// birth date 18xx-20xx, 3-digit sequence, check digit or X.
	inTextIDRE = regexp.MustCompile(`[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]`)
	// inTextOldIDRE finds 15-digit resident ID numbers of the first
	// generation: 6-digit area, birth date YYMMDD, 3-digit sequence.
	inTextOldIDRE = regexp.MustCompile(`[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}`)
	// inTextCreditCodeRE finds 18-character unified social credit codes
	// (GB 32100): registration authority and kind, 6-digit area code, then
	// the organisation code and check character, all from the code's
	// alphabet (digits and capitals without I, O, S, V, Z).
	inTextCreditCodeRE = regexp.MustCompile(`[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}`)
	// inTextLandlineRE finds landlines written with their area code, with
	// or without a dash: 0358-1234567, 03581234567, 010-12345678.
	inTextLandlineRE = regexp.MustCompile(`0[1-9]\d{1,2}-?\d{7,8}`)
)

// Phone masks a phone number. Mobiles keep the first 3 and last 4 digits
// ("138****1234"); landlines keep the area code and the last 2 digits
// ("010-******78"). Separators are kept as written.
func Phone(s string) string {
	s = strings.TrimSpace(s)
	if m := inTextMobileRE.FindStringSubmatchIndex(s); m != nil && mobileRE.MatchString(s) {
		return s[:m[4]] + keepDigits(s[m[4]:], 3, 4)
	}
	area := 0
	if d := digitsOnly(s); strings.HasPrefix(d, "0") && len(d) > 2 {
		// Beijing (010) and the 02x cities have 3-digit area codes, the rest 4.
		area = 4
		if d[1] == '1' || d[1] == '2' {
			area = 3
		}
	}
	return keepDigits(s, area, 2)
}

// IDNumber masks a resident ID number, keeping the 6-digit area code and the
// last 4 characters and hiding the birth date and sequence
// ("142301********123X"); of a 15-digit number of the first generation it
// keeps the area code and the last 3 digits ("142301******123").
func IDNumber(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 15 {
		return keepEnds(s, 6, 3)
	}
	return keepEnds(s, 6, 4)
}

// CreditCode masks a unified social credit code, keeping its first 4 and
// last 4 characters.
func CreditCode(s string) string { return keepEnds(strings.TrimSpace(s), 4, 4) }

// String masks the personal and organisation numbers found in free text:
// mobiles, landlines written with their area code, resident ID numbers (18
// characters, and the 15 digits of the first generation) and unified social
// credit codes. Numbers that are part of a longer run of digits (or, for
// credit codes, of letters and digits) are left alone: they are something
// else (an account or case number, a digest).
func String(s string) string {
	if !hasDigitRun(s, 6) {
		return s // fast path for the common case of log text without numbers
	}
	// An ID number ending in its check letter X ends there, whatever follows.
	s = replaceBounded(s, inTextIDRE, digitOrAfterX, func(m []int) string { return IDNumber(s[m[0]:m[1]]) })
	s = replaceBounded(s, inTextCreditCodeRE, alnumGlued, func(m []int) string { return CreditCode(s[m[0]:m[1]]) })
	s = replaceBounded(s, inTextOldIDRE, digitGlued, func(m []int) string { return IDNumber(s[m[0]:m[1]]) })
	s = replaceBounded(s, inTextMobileRE, digitGlued, func(m []int) string {
		return s[m[0]:m[4]] + keepDigits(s[m[4]:m[5]], 3, 4)
	})
	s = replaceBounded(s, inTextLandlineRE, digitGlued, func(m []int) string { return Phone(s[m[0]:m[1]]) })
	return s
}

// replaceBounded replaces each match of re that is not glued on either side
// to a character glued says belongs to the same token: glued(0, c) for the
// character before the match, glued(last, c) for the one after it. A glued match is
// skipped by one byte only, so a number right after a longer one that
// merely looked like a match ("170 17012345678") is still found.
func replaceBounded(s string, re *regexp.Regexp, glued func(last, c byte) bool, repl func(m []int) string) string {
	var b strings.Builder
	last := 0
	for pos := 0; pos < len(s); {
		m := re.FindStringSubmatchIndex(s[pos:])
		if m == nil {
			break
		}
		for i := range m {
			if m[i] >= 0 {
				m[i] += pos
			}
		}
		if (m[0] > 0 && glued(0, s[m[0]-1])) || (m[1] < len(s) && glued(s[m[1]-1], s[m[1]])) {
			pos = m[0] + 1
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(repl(m))
		last, pos = m[1], m[1]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// keepDigits replaces every digit of s with '*' except the first head and
// last tail digits, leaving other characters in place.
func keepDigits(s string, head, tail int) string {
	n := len(digitsOnly(s))
	b := []byte(s)
	i := 0
	for j, c := range b {
		if !isDigit(c) {
			continue
		}
		if i >= head && i < n-tail {
			b[j] = '*'
		}
		i++
	}
	return string(b)
}

// keepEnds keeps the first head and last tail runes of s and replaces the
// rest with '*'; values too short to keep anything hidden become all stars.
func keepEnds(s string, head, tail int) string {
	r := []rune(s)
	if len(r) <= head+tail {
		return strings.Repeat("*", len(r))
	}
	return string(r[:head]) + strings.Repeat("*", len(r)-head-tail) + string(r[len(r)-tail:])
}

func digitsOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func hasDigitRun(s string, n int) bool {
	count := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			count++
			if count >= n {
				return true
			}
		} else if s[i] != ' ' && s[i] != '-' {
			count = 0
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// digitGlued: a digit continues a number.
func digitGlued(_, c byte) bool { return isDigit(c) }

// alnumGlued: a letter or digit continues a code.
func alnumGlued(_, c byte) bool { return isAlnum(c) }

// digitOrAfterX: a digit continues an ID number, unless it ended in its
// check letter X.
func digitOrAfterX(last, c byte) bool { return isDigit(c) && last != 'X' && last != 'x' }
