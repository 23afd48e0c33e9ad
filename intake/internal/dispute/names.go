package dispute

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Shanghai is China Standard Time. The numbering year is the calendar year
// there; China has kept UTC+8 without daylight saving since 1991, so a fixed
// zone is exact and needs no tz database.
var Shanghai = time.FixedZone("CST", 8*60*60)

// Year returns the numbering year of a registration at t: the calendar year
// in China Standard Time, so 31 December 23:30 UTC+8 still counts for the
// old year.
func Year(t time.Time) int { return t.In(Shanghai).Year() }

var (
	parentRE = regexp.MustCompile(`^regions/([0-9]{6})$`)
	nameRE   = regexp.MustCompile(`^regions/([0-9]{6})/disputes/([0-9]{4})-([1-9][0-9]{0,8})$`)
)

// ParseParent returns the region of "regions/<region>".
func ParseParent(parent string) (region string, err error) {
	m := parentRE.FindStringSubmatch(parent)
	if m == nil {
		return "", &ValidationError{Violations: []Violation{{Field: "parent", Reason: "must be regions/<6-digit region>"}}}
	}
	return m[1], nil
}

// ParseName splits "regions/<region>/disputes/<year>-<n>" into the region
// and the dispute id "<year>-<n>".
func ParseName(name string) (region, id string, err error) {
	m := nameRE.FindStringSubmatch(name)
	if m == nil {
		return "", "", &ValidationError{Violations: []Violation{{Field: "name", Reason: "must be regions/<region>/disputes/<year>-<n>"}}}
	}
	return m[1], m[2] + "-" + m[3], nil
}

// Name returns the resource name of dispute id in region.
func Name(region, id string) string { return "regions/" + region + "/disputes/" + id }

// NumberOf returns the number (编号) "2026年第17号" of a dispute's resource
// name, for readers such as event consumers that only hold the name.
func NumberOf(name string) (string, error) {
	m := nameRE.FindStringSubmatch(name)
	if m == nil {
		return "", fmt.Errorf("dispute name %q: not regions/<region>/disputes/<year>-<n>", name)
	}
	n, _ := strconv.Atoi(m[3])
	return Number(m[2], n), nil
}

// Number formats the number of the n-th registration of year.
func Number(year string, n int) string { return fmt.Sprintf("%s年第%d号", year, n) }
