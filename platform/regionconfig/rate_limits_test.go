package regionconfig_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"

	"github.com/xiaoyi-disputes/disputes/platform/ratelimit"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
)

func TestRateLimitsValidate(t *testing.T) {
	tests := []struct {
		name string
		rl   *configv1.RateLimits
		want string
	}{
		{"empty", &configv1.RateLimits{}, ""},
		{"ok", &configv1.RateLimits{StaffWrites: &configv1.RateLimit{PerSecond: 0.5, Burst: 10}}, ""},
		{"zero rate", &configv1.RateLimits{StaffReads: &configv1.RateLimit{Burst: 10}}, "staff_reads.per_second"},
		{"negative rate", &configv1.RateLimits{DepartmentReads: &configv1.RateLimit{PerSecond: -1, Burst: 10}}, "department_reads.per_second"},
		{"no burst", &configv1.RateLimits{DepartmentWrites: &configv1.RateLimit{PerSecond: 5}}, "department_writes.burst"},
		{"huge burst", &configv1.RateLimits{StaffWrites: &configv1.RateLimit{PerSecond: 5, Burst: 2_000_000}}, "staff_writes.burst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range regionconfig.RateLimitsSpec.Validate("141181", "", tt.rl) {
				got = append(got, v.Field+": "+v.Reason)
			}
			joined := strings.Join(got, "; ")
			if tt.want == "" && joined != "" || tt.want != "" && !strings.Contains(joined, tt.want) {
				t.Fatalf("violations %q, want %q", joined, tt.want)
			}
		})
	}
}

func TestEffectiveRateLimits(t *testing.T) {
	if diff := cmp.Diff(ratelimit.DefaultLimits(), regionconfig.EffectiveRateLimits(nil)); diff != "" {
		t.Errorf("no document (-want +got):\n%s", diff)
	}
	got := regionconfig.EffectiveRateLimits(&configv1.RateLimits{
		StaffWrites:     &configv1.RateLimit{PerSecond: 2, Burst: 10},
		DepartmentReads: &configv1.RateLimit{PerSecond: 100, Burst: 300},
	})
	want := ratelimit.DefaultLimits()
	want.Staff[ratelimit.Write] = ratelimit.Rate{PerSecond: 2, Burst: 10}
	want.Department[ratelimit.Read] = ratelimit.Rate{PerSecond: 100, Burst: 300}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("partly set (-want +got):\n%s", diff)
	}
}
