package dispute

import (
	"regexp"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// Shanghai is China Standard Time, where the numbering year is counted.
var Shanghai = names.China

// Year returns the numbering year of a registration at t.
func Year(t time.Time) int { return names.Year(t) }

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
func Name(region, id string) string { return names.Dispute(region, id) }
