package names

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestParseDispute(t *testing.T) {
	for _, tc := range []struct {
		name         string
		region, year string
		n            int64
		ok           bool
	}{
		{name: "regions/141181/disputes/2026-1", region: "141181", year: "2026", n: 1, ok: true},
		{name: "regions/141181/disputes/2026-17", region: "141181", year: "2026", n: 17, ok: true},
		{name: "regions/141181/disputes/2026-999999999", region: "141181", year: "2026", n: 999999999, ok: true},
		{name: "regions/141181/disputes/2026-017"},
		{name: "regions/141181/disputes/2026-0"},
		{name: "regions/141181/disputes/2026-00"},
		{name: "regions/141181/disputes/2026-1000000000"},
		{name: "regions/141181/disputes/2026-+7"},
		{name: "regions/141181/disputes/2026--7"},
		{name: "regions/141181/disputes/2026-"},
		{name: "regions/141181/disputes/2026"},
		{name: "regions/141181/disputes/2026-1/"},
		{name: "regions/141181/disputes/2026-1x"},
		{name: "regions/141181/disputes/26-1"},
		{name: "regions/141181/disputes/20266-1"},
		{name: "regions/1411812/disputes/2026-1"},
		{name: "regions/14118/disputes/2026-1"},
		{name: "regions/14118a/disputes/2026-1"},
		{name: "regions/141181/transfer-slips/2026-1"},
		{name: "/regions/141181/disputes/2026-1"},
		{name: "regions/141181/disputes/２026-1"},
		{name: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			region, year, n, err := ParseDispute(tc.name)
			if !tc.ok {
				var ne *Error
				if !errors.As(err, &ne) || !errors.Is(err, ErrBadName) || ne.Name != tc.name || ne.FieldName() != "name" {
					t.Fatalf("ParseDispute(%q) error = %v, want a *names.Error", tc.name, err)
				}
				if _, _, err := DisputeID(tc.name); err == nil {
					t.Errorf("DisputeID(%q) accepted it", tc.name)
				}
				return
			}
			if err != nil || region != tc.region || year != tc.year || n != tc.n {
				t.Fatalf("ParseDispute(%q) = %q, %q, %d, %v; want %q, %q, %d", tc.name, region, year, n, err, tc.region, tc.year, tc.n)
			}
			r, id, err := DisputeID(tc.name)
			if err != nil || r != tc.region || id != tc.year+"-"+strconv.FormatInt(tc.n, 10) {
				t.Errorf("DisputeID(%q) = %q, %q, %v", tc.name, r, id, err)
			}
		})
	}
}

func TestParseRegion(t *testing.T) {
	for name, want := range map[string]string{
		"regions/141181":  "141181",
		"regions/1411812": "",
		"regions/14118":   "",
		"regions/141181/": "",
		"regions/":        "",
		"region/141181":   "",
		"regions/14118１":  "",
		"":                "",
	} {
		got, err := ParseRegion(name)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ParseRegion(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestInField(t *testing.T) {
	_, _, _, err := ParseDispute("regions/141181/disputes/2026-017")
	var ne *Error
	if !errors.As(InField("dispute", err), &ne) || ne.FieldName() != "dispute" {
		t.Fatalf("InField: %#v", ne)
	}
	other := errors.New("other")
	if InField("dispute", other) != other {
		t.Error("InField changed an error that is not a *names.Error")
	}
}

func FuzzParseDispute(f *testing.F) {
	for _, s := range []string{
		"regions/141181/disputes/2026-1", "regions/141181/disputes/2026-017",
		"regions/141181/disputes/2026-0", "regions/1411812/disputes/2026-1",
		"regions/141181/disputes/2026-1/", "regions/141181/disputes/2026-999999999", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		region, year, n, err := ParseDispute(name)
		if err != nil {
			return
		}
		if n < 1 || n > MaxSeq {
			t.Fatalf("ParseDispute(%q): n = %d out of range", name, n)
		}
		if got := Dispute(region, year+"-"+strconv.FormatInt(n, 10)); got != name {
			t.Fatalf("ParseDispute(%q) re-formats to %q", name, got)
		}
		r, id, err := DisputeID(name)
		if err != nil || Dispute(r, id) != name {
			t.Fatalf("DisputeID(%q) = %q, %q, %v", name, r, id, err)
		}
	})
}

func TestNumberOf(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"regions/141181/disputes/2026-17", "2026年第17号", true},
		{"regions/141181/disputes/2026-000000017", "", false},
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
