package names

import (
	"testing"
	"time"
)

func TestNumberOf(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"regions/141181/disputes/2026-17", "2026年第17号", true},
		{"regions/141181/disputes/2026-000000017", "2026年第17号", true},
		{"regions/141181/disputes/2026-0", "", false},
		{"regions/14118/disputes/2026-1", "", false},
		{"regions/141181/disputes/26-1", "", false},
		{"regions/141181/transfer-slips/2026-1", "", false},
	} {
		got, err := NumberOf(tc.name)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("NumberOf(%q) = %q, %v; want %q, ok=%v", tc.name, got, err, tc.want, tc.ok)
		}
	}
}

func TestYearIsChinaTime(t *testing.T) {
	// 2026-12-31 16:30 UTC is already 2027-01-01 00:30 in China.
	if got := Year(time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC)); got != 2027 {
		t.Errorf("Year = %d, want 2027", got)
	}
	if got := Year(time.Date(2026, 12, 31, 15, 59, 0, 0, time.UTC)); got != 2026 {
		t.Errorf("Year = %d, want 2026", got)
	}
}

func TestNames(t *testing.T) {
	if got := Dispute("141181", "2026-3"); got != "regions/141181/disputes/2026-3" {
		t.Errorf("Dispute = %q", got)
	}
	if got := TransferSlip("141181", "2026", 4); got != "regions/141181/transfer-slips/2026-4" {
		t.Errorf("TransferSlip = %q", got)
	}
	if got := Number("2026", 4); got != "2026年第4号" {
		t.Errorf("Number = %q", got)
	}
}
