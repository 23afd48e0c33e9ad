package printing

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestDates(t *testing.T) {
	ts := timestamppb.New(time.Date(2026, 3, 1, 2, 20, 0, 0, time.UTC)) // 10:20 in China
	tests := []struct {
		name, got, want string
	}{
		{"date and time in China", dateTime(ts), "2026年3月1日 10:20"},
		{"day only", date(ts), "2026年3月1日"},
		{"no time", dateTime(nil), ""},
		{"day rolls over at midnight China time", date(timestamppb.New(time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC))), "2027年1月1日"},
		{"ISO date", isoDate("2026-05-01"), "2026年5月1日"},
		{"not a date is kept", isoDate("无固定期限"), "无固定期限"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestParagraphs(t *testing.T) {
	got := paragraphs("第一段\r\n\n  第二段 \n")
	if diff := cmp.Diff([]string{"第一段", "第二段"}, got); diff != "" {
		t.Errorf("paragraphs (-want +got):\n%s", diff)
	}
}
