package regionconfig

import (
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"

	"github.com/xiaoyi-disputes/disputes/platform/ratelimit"
)

// RateLimitsSpec is a region's per-caller rate limits at
// /disputes/<region>/config/rate-limits.
var RateLimitsSpec = Spec[*configv1.RateLimits]{
	Path:   "config/rate-limits",
	New:    func() *configv1.RateLimits { return &configv1.RateLimits{} },
	Metric: "rate_limits",
}

// EffectiveRateLimits returns the limits r sets (nil for a region without a
// rate-limits document), each limit it leaves unset at its default
// (ratelimit.DefaultLimits).
func EffectiveRateLimits(r *configv1.RateLimits) ratelimit.Limits {
	out := ratelimit.DefaultLimits()
	for _, l := range []struct {
		dst *ratelimit.Rate
		src *configv1.RateLimit
	}{
		{&out.Staff[ratelimit.Read], r.GetStaffReads()},
		{&out.Staff[ratelimit.Write], r.GetStaffWrites()},
		{&out.Department[ratelimit.Read], r.GetDepartmentReads()},
		{&out.Department[ratelimit.Write], r.GetDepartmentWrites()},
	} {
		if l.src != nil {
			*l.dst = ratelimit.Rate{PerSecond: l.src.GetPerSecond(), Burst: float64(l.src.GetBurst())}
		}
	}
	return out
}

// RateLimitSource returns the limits w holds as a ratelimit.Source: the
// last valid document of each region, live.
func RateLimitSource(w *Watcher[*configv1.RateLimits]) ratelimit.Source {
	return func(region string) ratelimit.Limits {
		r, _ := w.Get(region, "")
		return EffectiveRateLimits(r)
	}
}
