package regionconfig

import (
	"fmt"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
)

// LegalSpec is a region's legal data for the written reply at
// /disputes/<region>/config/legal: the office's and the platform's names as
// they sign, the reconsideration body of each member unit's acts, and the
// competent court.
var LegalSpec = Spec[*configv1.LegalInfo]{
	Path:   "config/legal",
	New:    func() *configv1.LegalInfo { return &configv1.LegalInfo{} },
	Check:  checkLegal,
	Metric: "legal_info",
}

func checkLegal(_, _ string, l *configv1.LegalInfo) []apierr.Violation {
	var vs []apierr.Violation
	seen := map[string]bool{}
	for i, b := range l.GetReconsiderationBodies() {
		if seen[b.GetUnit()] {
			vs = append(vs, apierr.Violation{Field: fmt.Sprintf("reconsideration_bodies[%d].unit", i),
				Reason: fmt.Sprintf("%q is listed twice", b.GetUnit())})
		}
		seen[b.GetUnit()] = true
	}
	return vs
}

// ReconsiderationBody returns the reconsideration body (复议机关) of unit's
// acts in l: the unit's own entry, else the default; "" when l names none.
func ReconsiderationBody(l *configv1.LegalInfo, unit string) string {
	for _, b := range l.GetReconsiderationBodies() {
		if b.GetUnit() == unit {
			return b.GetBody()
		}
	}
	return l.GetDefaultReconsiderationBody()
}
