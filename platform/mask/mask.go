// Package mask hides the middle of personal numbers (phones, resident ID
// numbers, credit codes) so they can be shown to staff or written to logs
// without exposing the full value.
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
// ("142301********123X").
func IDNumber(s string) string { return keepEnds(strings.TrimSpace(s), 6, 4) }

// CreditCode masks a unified social credit code, keeping its first 4 and
// last 4 characters.
func CreditCode(s string) string { return keepEnds(strings.TrimSpace(s), 4, 4) }

// String masks every mobile number and resident ID number found in free
// text. Numbers that are part of a longer run of digits are left alone: they
// are something else (an account or case number).
func String(s string) string {
	if !hasDigitRun(s, 11) {
		return s // fast path for the common case of log text without numbers
	}
	s = replaceBounded(s, inTextIDRE, func(m []int) string { return IDNumber(s[m[0]:m[1]]) })
	s = replaceBounded(s, inTextMobileRE, func(m []int) string {
		return s[m[0]:m[4]] + keepDigits(s[m[4]:m[5]], 3, 4)
	})
	return s
}

// replaceBounded replaces each match of re that is not glued to another
// digit on either side.
func replaceBounded(s string, re *regexp.Regexp, repl func(m []int) string) string {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		if (m[0] > 0 && isDigit(s[m[0]-1])) || (m[1] < len(s) && isDigit(s[m[1]])) {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(repl(m))
		last = m[1]
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
