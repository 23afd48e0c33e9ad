package regionconfig

import (
	"fmt"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
)

// Defaults of the time limits (DESIGN section 3), used for every stage or
// number a region's TimeLimits leaves out (zero counts as left out).
const (
	DefaultMaxExtensionDays    = 30
	DefaultObjectionWindowDays = 30
	DefaultWarningWorkingDays  = 1
)

// DefaultStageLimits are the stage limits of the legal anchors: routing 15
// days (信访工作条例 art. 22), transfer receipt or return 5 working days
// (art. 23), handling 60 days (plus one extension), a co-handling unit's
// opinion 5 working days and the convenor's approval 3 working days; on the
// office path the office's triage 5 working days from its receipt, the
// mediation platform 30 days and the whole matter's written reply 60 days
// from the office's receipt (the handling period of 信访工作条例 art. 32).
func DefaultStageLimits() []*configv1.StageLimit {
	return []*configv1.StageLimit{
		{Stage: routingv1.Stage_STAGE_ROUTING.String(), Days: 15},
		{Stage: routingv1.Stage_STAGE_TRANSFER_RECEIPT.String(), Days: 5, WorkingDays: true},
		{Stage: routingv1.Stage_STAGE_HANDLING.String(), Days: 60},
		{Stage: routingv1.Stage_STAGE_OPINION.String(), Days: 5, WorkingDays: true},
		{Stage: routingv1.Stage_STAGE_APPROVAL.String(), Days: 3, WorkingDays: true},
		{Stage: routingv1.Stage_STAGE_TRIAGE.String(), Days: 5, WorkingDays: true},
		{Stage: routingv1.Stage_STAGE_PLATFORM.String(), Days: 30},
		{Stage: routingv1.Stage_STAGE_REPLY.String(), Days: 60},
	}
}

// TimeLimitsSpec is a region's stage time limits at
// /disputes/<region>/config/time-limits.
var TimeLimitsSpec = Spec[*configv1.TimeLimits]{
	Path:   "config/time-limits",
	New:    func() *configv1.TimeLimits { return &configv1.TimeLimits{} },
	Metric: "time_limits",
	Check:  checkTimeLimits,
}

func checkTimeLimits(_, _ string, tl *configv1.TimeLimits) []apierr.Violation {
	var vs []apierr.Violation
	seen := map[string]bool{}
	for i, s := range tl.GetStages() {
		field := fmt.Sprintf("stages[%d].stage", i)
		v, ok := routingv1.Stage_value[s.GetStage()]
		switch {
		case !ok || v == int32(routingv1.Stage_STAGE_UNSPECIFIED):
			vs = append(vs, apierr.Violation{Field: field, Reason: fmt.Sprintf("%q is not a stage with a time limit", s.GetStage())})
		case seen[s.GetStage()]:
			vs = append(vs, apierr.Violation{Field: field, Reason: fmt.Sprintf("%s is listed twice", s.GetStage())})
		}
		seen[s.GetStage()] = true
	}
	return vs
}

// EffectiveTimeLimits returns the limits in force for a region whose
// document is tl (nil when the region has none): every stage present, every
// number set, the defaults filling what tl leaves out. tl is not modified.
func EffectiveTimeLimits(tl *configv1.TimeLimits) *configv1.TimeLimits {
	out := &configv1.TimeLimits{
		MaxExtensionDays:    orDefault(tl.GetMaxExtensionDays(), DefaultMaxExtensionDays),
		ObjectionWindowDays: orDefault(tl.GetObjectionWindowDays(), DefaultObjectionWindowDays),
		WarningWorkingDays:  orDefault(tl.GetWarningWorkingDays(), DefaultWarningWorkingDays),
		PlatformUnit:        tl.GetPlatformUnit(),
	}
	given := map[string]*configv1.StageLimit{}
	for _, s := range tl.GetStages() {
		given[s.GetStage()] = s
	}
	for _, d := range DefaultStageLimits() {
		if s, ok := given[d.GetStage()]; ok && s.GetDays() > 0 {
			d = &configv1.StageLimit{Stage: s.GetStage(), Days: s.GetDays(), WorkingDays: s.GetWorkingDays()}
		}
		out.Stages = append(out.Stages, d)
	}
	return out
}

func orDefault(v, d int32) int32 {
	if v > 0 {
		return v
	}
	return d
}
