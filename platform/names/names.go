// Package names builds and parses the platform's resource names and the
// numbers printed on its forms: a dispute is regions/<region>/disputes/<year>-<n>
// and carries the number 编号 "<year>年第<n>号"; transfer slips (流转单) have a
// series of their own, regions/<region>/transfer-slips/<year>-<n>.
package names

import (
	"fmt"
	"regexp"
	"strconv"
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

// Dispute returns the resource name of dispute id ("<year>-<n>") in region.
func Dispute(region, id string) string { return "regions/" + region + "/disputes/" + id }

// TransferSlip returns the resource name of the n-th transfer slip of year.
func TransferSlip(region, year string, n int64) string {
	return "regions/" + region + "/transfer-slips/" + year + "-" + strconv.FormatInt(n, 10)
}

var disputeRE = regexp.MustCompile(`^regions/([0-9]{6})/disputes/([0-9]{4})-0*([1-9][0-9]{0,8})$`)

// ParseDispute splits a dispute name into its region, year and sequence number.
func ParseDispute(name string) (region, year string, n int64, err error) {
	m := disputeRE.FindStringSubmatch(name)
	if m == nil {
		return "", "", 0, fmt.Errorf("dispute name %q: not regions/<region>/disputes/<year>-<n>", name)
	}
	n, _ = strconv.ParseInt(m[3], 10, 64)
	return m[1], m[2], n, nil
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
