package dispute

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"time"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// MaxLinks is the most earlier open disputes a registration is linked to
// (the newest ones). A claimant with more open disputes of one category is
// already well known to the office; the cap keeps one registration's work
// bounded.
const MaxLinks = 50

// Identifiers returns the claimant's identifiers a registration is linked
// by (重复件关联): the phone with separators removed, the resident ID number
// and the credit code, each prefixed with its kind ("phone:", "id:",
// "credit:") so numbers of different kinds never match. Numbers are
// expected normalized (NormalizeNumber).
func Identifiers(c Claimant) []string {
	var out []string
	if p := digitsOf(c.Phone); p != "" {
		out = append(out, "phone:"+p)
	}
	if c.IDNumber != "" {
		out = append(out, "id:"+c.IDNumber)
	}
	if c.CreditCode != "" {
		out = append(out, "credit:"+c.CreditCode)
	}
	return out
}

// digitsOf keeps the digits of a phone number, so "0358-7654321" and
// "03587654321" are one number.
func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// Employer returns the employer a dispute is against, for counting disputes
// against one employer: its credit code (employer_credit_code, or the
// claimant's own when the claimant is an employer), else its exact name
// (employer_name, or the employer claimant's name), or "" when the form
// names none.
func Employer(f Form) string {
	switch {
	case f.EmployerCreditCode != "":
		return "credit:" + f.EmployerCreditCode
	case f.Claimant.Kind == typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER && f.Claimant.CreditCode != "":
		return "credit:" + f.Claimant.CreditCode
	case strings.TrimSpace(f.EmployerName) != "":
		return "name:" + strings.TrimSpace(f.EmployerName)
	case f.Claimant.Kind == typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER && strings.TrimSpace(f.Claimant.Name) != "":
		return "name:" + strings.TrimSpace(f.Claimant.Name)
	}
	return ""
}

// EmployerOf returns the employer's name and credit code as the form gives
// them (the employer fields, or the employer claimant's own), for the
// warning raised against it; either may be "".
func EmployerOf(f Form) (name, creditCode string) {
	name, creditCode = strings.TrimSpace(f.EmployerName), f.EmployerCreditCode
	if f.Claimant.Kind == typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER {
		if name == "" {
			name = strings.TrimSpace(f.Claimant.Name)
		}
		if creditCode == "" {
			creditCode = f.Claimant.CreditCode
		}
	}
	return name, creditCode
}

// MaxWarningListed is the most open disputes a same-employer warning lists
// when it is raised (the newest): with thresholds in the single digits it
// is never reached, and it keeps the event (filed in each dossier it names)
// small when a lowered threshold finds many disputes at once.
const MaxWarningListed = 100

// Mass-dispute warning triggers, as carried by MassDisputeWarning.trigger.
const (
	TriggerPeople   = "people_involved"
	TriggerEmployer = "same_employer"
)

// MassRule is when a registration raises a mass-dispute warning
// (群体性争议预警) and to whom it is addressed.
type MassRule struct {
	// People: a dispute of at least this many people involved (0: never).
	People int
	// EmployerDisputes: at least this many open disputes against one
	// employer registered within Window, the new one included (0: never).
	EmployerDisputes int
	Window           time.Duration
	// AddressedTo are the departments the warning goes to.
	AddressedTo []string
}

// NewMassRule returns the rule of a region's thresholds: the warning goes
// to the warning departments and the office host unit, each once.
func NewMassRule(people, employerDisputes, windowDays int, warningDepartments []string, officeHost string) MassRule {
	to := slices.Clone(warningDepartments)
	if officeHost != "" {
		to = append(to, officeHost)
	}
	var addressed []string
	for _, d := range to {
		if d != "" && !slices.Contains(addressed, d) {
			addressed = append(addressed, d)
		}
	}
	return MassRule{
		People: people, EmployerDisputes: employerDisputes,
		Window: time.Duration(windowDays) * 24 * time.Hour, AddressedTo: addressed,
	}
}

// LookupAlphabet is what receipt lookup codes are written in: digits and
// capitals without 0, O, 1, I and L, which are misread on paper and over the
// phone.
const LookupAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// LookupCodeLen is the length of a lookup code: 31^8 ≈ 8.5e11 codes.
const LookupCodeLen = 8

// NewLookupCode returns a random receipt lookup code (回执查询码) from the
// system's cryptographic random source.
func NewLookupCode() (string, error) {
	// Bytes at or above the largest multiple of the alphabet's size are
	// dropped, so every character is equally likely.
	limit := byte(256 - 256%len(LookupAlphabet))
	out := make([]byte, 0, LookupCodeLen)
	buf := make([]byte, 2*LookupCodeLen)
	for len(out) < LookupCodeLen {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("lookup code: read random: %w", err)
		}
		for _, b := range buf {
			if b < limit && len(out) < LookupCodeLen {
				out = append(out, LookupAlphabet[int(b)%len(LookupAlphabet)])
			}
		}
	}
	return string(out), nil
}

// NormalizeLookupCode returns a code as the claimant typed it in the form it
// is issued in: upper case, without spaces or hyphens.
func NormalizeLookupCode(s string) string {
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// LookupCodeMatches compares a code given by a claimant with the issued one
// in constant time: both are hashed first, so neither their contents nor
// their lengths show in the time taken. An empty issued code matches nothing.
func LookupCodeMatches(issued, given string) bool {
	a := sha256.Sum256([]byte(issued))
	b := sha256.Sum256([]byte(NormalizeLookupCode(given)))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && issued != ""
}
