package dispute

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

var (
	mobileRE   = regexp.MustCompile(`^1[3-9]\d{9}$`)
	landlineRE = regexp.MustCompile(`^0\d{2,3}-?\d{7,8}$`)
)

// CheckPhone returns why s is not a mainland mobile number (11 digits,
// 13x-19x) or a landline with its area code ("0358-7654321"), or "" when it
// is one.
func CheckPhone(s string) string {
	if mobileRE.MatchString(s) || landlineRE.MatchString(s) {
		return ""
	}
	return "must be an 11-digit mobile number (1[3-9]xxxxxxxxx) or a landline with area code (0xxx-xxxxxxx)"
}

// idWeights are the ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 of the first
// 17 characters of a resident ID number (GB 11643-1999).
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// IDCheckChar returns the check character of the first 17 digits of a
// resident ID number, and false when they are not 17 digits.
func IDCheckChar(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sum += int(c-'0') * idWeights[i]
	}
	return idCheckChars[sum%11], true
}

// earliestBirth is the earliest birth date accepted in a resident ID number.
var earliestBirth = time.Date(1900, 1, 1, 0, 0, 0, 0, Shanghai)

// CheckIDNumber returns why s is not a valid 18-character resident ID number
// (17 digits, the birth date a real day between 1900 and now, and the
// MOD 11-2 check character), or "" when it is valid. s is expected in upper
// case (see Normalize). The reason echoes no part of s (it reaches the
// caller and the call's log line): not the birth date, nor the check
// character the number should have, which would let anyone complete a
// made-up number.
func CheckIDNumber(s string, now time.Time) string {
	if len(s) != 18 {
		return fmt.Sprintf("must be 18 characters, got %d", len([]rune(s)))
	}
	want, ok := IDCheckChar(s[:17])
	if !ok {
		return "the first 17 characters must be digits"
	}
	birth, err := time.ParseInLocation("20060102", s[6:14], Shanghai)
	if err != nil || birth.Format("20060102") != s[6:14] {
		return "the birth date (characters 7 to 14) is not a real date"
	}
	if birth.Before(earliestBirth) {
		return "the birth date (characters 7 to 14) is before 1900"
	}
	if birth.After(now) {
		return "the birth date (characters 7 to 14) is in the future"
	}
	if s[17] != want {
		return "the check character (the 18th) does not match the first 17 digits"
	}
	return ""
}

// creditAlphabet is the 31 characters a unified social credit code is
// written in (GB 32100-2015: digits and capitals without I, O, Z, S, V).
const creditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var creditWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CreditCheckChar returns the check character of the first 17 characters of
// a unified social credit code, and false when one of them is outside the
// code's alphabet or there are not 17.
func CreditCheckChar(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(creditAlphabet, first17[i])
		if v < 0 {
			return 0, false
		}
		sum += v * creditWeights[i]
	}
	c := 31 - sum%31
	if c == 31 {
		c = 0
	}
	return creditAlphabet[c], true
}

// CheckCreditCode returns why s is not a valid unified social credit code
// (18 characters of the GB 32100-2015 alphabet ending in the right check
// character), or "" when it is valid. s is expected in upper case. Like
// CheckIDNumber, the reason echoes no part of s.
func CheckCreditCode(s string) string {
	if len(s) != 18 {
		return fmt.Sprintf("must be 18 characters, got %d", len([]rune(s)))
	}
	want, ok := CreditCheckChar(s[:17])
	if !ok {
		return "may only contain digits and the capitals ABCDEFGHJKLMNPQRTUWXY"
	}
	if s[17] != want {
		return "the check character (the 18th) does not match the first 17 characters"
	}
	return ""
}
