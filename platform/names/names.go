// Package names builds and parses the platform's resource names and the
// numbers printed on its forms: a dispute is regions/<region>/disputes/<year>-<n>
// and carries the number 编号 "<year>年第<n>号"; transfer slips (流转单) have a
// series of their own, regions/<region>/transfer-slips/<year>-<n>.
//
// It is the only parser of these names. Names are canonical: one dispute
// has one name, so "2026-017" is refused rather than read as "2026-17";
// every service then keys, compares and logs the same string.
package names

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// China is China Standard Time. Numbering years, due dates and remedy dates
// are counted there; China has kept UTC+8 without daylight saving since
// 1991, so a fixed zone is exact and needs no tz database.
var China = time.FixedZone("CST", 8*60*60)

// Year returns the numbering year of t: its calendar year in China, so 31
// December 23:30 UTC+8 still counts for the old year.
func Year(t time.Time) int { return t.In(China).Year() }

// Number formats the number of the n-th form of year: "2026年第17号".
func Number(year string, n int64) string { return year + "年第" + strconv.FormatInt(n, 10) + "号" }

// Region returns the resource name of region: "regions/141181".
func Region(region string) string { return "regions/" + region }

// Dispute returns the resource name of dispute id ("<year>-<n>") in region.
func Dispute(region, id string) string { return "regions/" + region + "/disputes/" + id }

// TransferSlip returns the resource name of the n-th transfer slip of year.
func TransferSlip(region, year string, n int64) string {
	return "regions/" + region + "/transfer-slips/" + year + "-" + strconv.FormatInt(n, 10)
}

// MaxSeq is the largest sequence number of a dispute in a year.
const MaxSeq = 999999999

// The forms a refused name should have had, as Error.Want.
const (
	WantRegion  = "regions/<6-digit region>"
	WantDispute = "regions/<6-digit region>/disputes/<4-digit year>-<n>, n from 1 to 999999999 without leading zeros"
)

// ErrBadName is wrapped by every *Error, for callers that only need to know
// a name was refused.
var ErrBadName = errors.New("bad resource name")

// Error is a refused resource name. Services map it to INVALID_ARGUMENT
// with a field violation on Field.
type Error struct {
	// Field is the request field that held the name; parsers leave it
	// empty, which means "name". Set it with InField.
	Field string
	// Name is the refused name and Want the form it should have.
	Name, Want string
}

func (e *Error) Error() string { return strconv.Quote(e.Name) + " is not " + e.Want }

// Unwrap makes errors.Is(err, ErrBadName) hold.
func (e *Error) Unwrap() error { return ErrBadName }

// FieldName returns the request field of the name: Field, or "name".
func (e *Error) FieldName() string {
	if e.Field == "" {
		return "name"
	}
	return e.Field
}

// InField returns err with the request field set to field when err is an
// *Error, for requests that name a resource in a field other than "name"
// ("dispute", "parent"). Other errors are returned as they are.
func InField(field string, err error) error {
	var ne *Error
	if !errors.As(err, &ne) {
		return err
	}
	cp := *ne
	cp.Field = field
	return &cp
}

// IsRegion reports whether s is a region code: exactly six ASCII digits.
func IsRegion(s string) bool { return len(s) == 6 && digits(s) }

// ParseRegion returns the region of "regions/<region>".
func ParseRegion(name string) (string, error) {
	region, ok := strings.CutPrefix(name, "regions/")
	if !ok || !IsRegion(region) {
		return "", &Error{Name: name, Want: WantRegion}
	}
	return region, nil
}

// ParseDispute splits a dispute name into its region, year and sequence
// number. The name must be canonical: Dispute(region, year+"-"+n) gives it
// back unchanged.
func ParseDispute(name string) (region, year string, n int64, err error) {
	bad := func() (string, string, int64, error) { return "", "", 0, &Error{Name: name, Want: WantDispute} }
	rest, ok := strings.CutPrefix(name, "regions/")
	if !ok || len(rest) < 6 {
		return bad()
	}
	region, rest = rest[:6], rest[6:]
	rest, ok = strings.CutPrefix(rest, "/disputes/")
	if !ok || !IsRegion(region) {
		return bad()
	}
	year, seq, ok := strings.Cut(rest, "-")
	if !ok || len(year) != 4 || !digits(year) {
		return bad()
	}
	// 1 to 9 digits, no leading zero: ParseInt alone would accept "+7" and "007".
	if len(seq) == 0 || len(seq) > 9 || seq[0] == '0' || !digits(seq) {
		return bad()
	}
	n, _ = strconv.ParseInt(seq, 10, 64)
	return region, year, n, nil
}

// DisputeID splits a dispute name into its region and its id "<year>-<n>",
// the part after "disputes/" that services key their records by.
func DisputeID(name string) (region, id string, err error) {
	region, _, _, err = ParseDispute(name)
	if err != nil {
		return "", "", err
	}
	return region, name[len("regions/")+6+len("/disputes/"):], nil
}

// CheckDispute returns name unchanged when it is a dispute name, so a
// caller can check and bind it in one statement.
func CheckDispute(name string) (string, error) {
	if _, _, _, err := ParseDispute(name); err != nil {
		return "", err
	}
	return name, nil
}

// NumberOf returns the number of a dispute from its resource name, for
// readers such as event consumers that hold only the name.
func NumberOf(name string) (string, error) {
	_, year, n, err := ParseDispute(name)
	if err != nil {
		return "", err
	}
	return Number(year, n), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
