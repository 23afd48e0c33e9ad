package regionconfig_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
)

func TestTimeLimitsCheck(t *testing.T) {
	tests := []struct {
		name string
		tl   *configv1.TimeLimits
		want string
	}{
		{"ok", &configv1.TimeLimits{Stages: []*configv1.StageLimit{{Stage: "STAGE_HANDLING", Days: 45}}}, ""},
		{"unknown stage", &configv1.TimeLimits{Stages: []*configv1.StageLimit{{Stage: "STAGE_LUNCH", Days: 1}}}, `stages[0].stage: "STAGE_LUNCH" is not a stage`},
		{"unspecified stage", &configv1.TimeLimits{Stages: []*configv1.StageLimit{{Stage: "STAGE_UNSPECIFIED", Days: 1}}}, "stages[0].stage"},
		{"duplicate", &configv1.TimeLimits{Stages: []*configv1.StageLimit{{Stage: "STAGE_ROUTING", Days: 10}, {Stage: "STAGE_ROUTING", Days: 12}}}, "stages[1].stage: STAGE_ROUTING is listed twice"},
		{"zero days", &configv1.TimeLimits{Stages: []*configv1.StageLimit{{Stage: "STAGE_ROUTING"}}}, "stages[0].days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range regionconfig.TimeLimitsSpec.Validate("141181", "", tt.tl) {
				got = append(got, v.Field+": "+v.Reason)
			}
			joined := strings.Join(got, "; ")
			if tt.want == "" && joined != "" || tt.want != "" && !strings.Contains(joined, tt.want) {
				t.Fatalf("violations %q, want %q", joined, tt.want)
			}
		})
	}
}

func TestEffectiveTimeLimits(t *testing.T) {
	defaults := &configv1.TimeLimits{
		Stages: []*configv1.StageLimit{
			{Stage: "STAGE_ROUTING", Days: 15},
			{Stage: "STAGE_TRANSFER_RECEIPT", Days: 5, WorkingDays: true},
			{Stage: "STAGE_HANDLING", Days: 60},
			{Stage: "STAGE_OPINION", Days: 5, WorkingDays: true},
			{Stage: "STAGE_APPROVAL", Days: 3, WorkingDays: true},
			{Stage: "STAGE_TRIAGE", Days: 5, WorkingDays: true},
			{Stage: "STAGE_PLATFORM", Days: 30},
			{Stage: "STAGE_REPLY", Days: 60},
		},
		MaxExtensionDays: 30, ObjectionWindowDays: 30, WarningWorkingDays: 1,
	}
	if diff := cmp.Diff(defaults, regionconfig.EffectiveTimeLimits(nil), protocmp.Transform()); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	given := &configv1.TimeLimits{Stages: []*configv1.StageLimit{{Stage: "STAGE_HANDLING", Days: 30, WorkingDays: true}}, MaxExtensionDays: 10}
	want := &configv1.TimeLimits{
		Stages: []*configv1.StageLimit{
			{Stage: "STAGE_ROUTING", Days: 15},
			{Stage: "STAGE_TRANSFER_RECEIPT", Days: 5, WorkingDays: true},
			{Stage: "STAGE_HANDLING", Days: 30, WorkingDays: true},
			{Stage: "STAGE_OPINION", Days: 5, WorkingDays: true},
			{Stage: "STAGE_APPROVAL", Days: 3, WorkingDays: true},
			{Stage: "STAGE_TRIAGE", Days: 5, WorkingDays: true},
			{Stage: "STAGE_PLATFORM", Days: 30},
			{Stage: "STAGE_REPLY", Days: 60},
		},
		MaxExtensionDays: 10, ObjectionWindowDays: 30, WarningWorkingDays: 1,
	}
	if diff := cmp.Diff(want, regionconfig.EffectiveTimeLimits(given), protocmp.Transform()); diff != "" {
		t.Errorf("overridden (-want +got):\n%s", diff)
	}
}
