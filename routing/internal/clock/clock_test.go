package clock_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
)

// shipped builds the calendar from the years shipped in deploy/config.
func shipped(t *testing.T, missing func(int)) *clock.Calendar {
	t.Helper()
	var years []clock.Year
	for _, y := range []string{"2025", "2026"} {
		raw, err := os.ReadFile("../../../deploy/config/141181/calendar/" + y + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Year           int      `json:"year"`
			Holidays       []string `json:"holidays"`
			MakeUpWorkdays []string `json:"makeUpWorkdays"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		years = append(years, clock.Year{Year: doc.Year, Holidays: doc.Holidays, MakeUp: doc.MakeUpWorkdays})
	}
	c, err := clock.New(years, missing)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// at is a China time "2006-01-02 15:04".
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, clock.China)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func endOf(t *testing.T, day string) time.Time {
	t.Helper()
	return at(t, day+" 23:59").Add(59 * time.Second)
}

func TestIsWorkingDay(t *testing.T) {
	cal := shipped(t, nil)
	tests := []struct {
		day  string
		want bool
	}{
		{"2026-02-13", true},  // Friday
		{"2026-02-14", true},  // Saturday, 调休上班
		{"2026-02-15", false}, // Sunday, Spring Festival
		{"2026-02-16", false}, // Monday, Spring Festival
		{"2026-02-23", false}, // Monday, last day of Spring Festival
		{"2026-02-24", true},
		{"2026-02-28", true},  // Saturday, 调休上班
		{"2026-03-07", false}, // ordinary Saturday
		{"2026-10-08", true},  // Thursday after National Day
		{"2025-10-08", false}, // 2025: National Day and Mid-Autumn run to the 8th
		{"2025-10-11", true},  // Saturday, 调休上班
		{"2025-01-26", true},  // Sunday, 调休上班
	}
	for _, tt := range tests {
		t.Run(tt.day, func(t *testing.T) {
			if got := cal.IsWorkingDay(at(t, tt.day+" 12:00")); got != tt.want {
				t.Fatalf("IsWorkingDay(%s) = %v, want %v", tt.day, got, tt.want)
			}
		})
	}
}

func TestDue(t *testing.T) {
	cal := shipped(t, nil)
	handling := clock.Limit{Days: 60}
	tests := []struct {
		name   string
		start  string
		limit  clock.Limit
		extra  int
		pauses [][2]string
		want   string // due day; the clock falls due at its end
	}{
		// Thu 12 Feb 2026: Fri 13 (1), make-up Sat 14 (2), holiday 15-23,
		// Tue 24 (3), Wed 25 (4), Thu 26 (5).
		{"5 working days across Spring Festival 2026 and its make-up Saturday", "2026-02-12 10:00", clock.Limit{Days: 5, Working: true}, 0, nil, "2026-02-26"},
		// Started on the make-up Saturday itself (not counted): Tue 24 - Fri 27
		// (1-4), and the second make-up Saturday, 28 Feb (5).
		{"5 working days from one make-up Saturday to the next", "2026-02-14 09:00", clock.Limit{Days: 5, Working: true}, 0, nil, "2026-02-28"},
		// Fri 27 Feb: make-up Sat 28 (1), Mon 2 - Thu 5 Mar (2-5).
		{"5 working days counting the second make-up Saturday", "2026-02-27 16:00", clock.Limit{Days: 5, Working: true}, 0, nil, "2026-03-05"},
		{"3 working days over an ordinary weekend", "2026-03-05 08:00", clock.Limit{Days: 3, Working: true}, 0, nil, "2026-03-10"},
		// 10 Sep + 15 = Fri 25 Sep, Mid-Autumn (25-27): rolls to Mon 28.
		{"15 days ending on Mid-Autumn 2026 roll forward", "2026-09-10 15:00", clock.Limit{Days: 15}, 0, nil, "2026-09-28"},
		// 13 Jan 2025 + 15 = Tue 28 Jan, Spring Festival eve (28 Jan - 4 Feb): rolls to Wed 5 Feb.
		{"15 days ending in Spring Festival 2025 roll forward", "2025-01-13 09:30", clock.Limit{Days: 15}, 0, nil, "2025-02-05"},
		// 20 Sep 2026 + 15 = Mon 5 Oct, National Day: rolls to Thu 8 Oct.
		{"15 days ending in National Day 2026 roll forward", "2026-09-20 11:00", clock.Limit{Days: 15}, 0, nil, "2026-10-08"},
		{"15 days ending on a working day", "2026-03-02 10:00", clock.Limit{Days: 15}, 0, nil, "2026-03-17"},
		// 2 Mar + 60 = Fri 1 May, Labour Day (1-5 May): rolls to Wed 6 May.
		{"60-day handling", "2026-03-02 10:00", handling, 0, nil, "2026-05-06"},
		// 2 Mar + 90 = Sun 31 May: rolls to Mon 1 Jun.
		{"60-day handling with a 30-day extension", "2026-03-02 10:00", handling, 30, nil, "2026-06-01"},
		// Paused Tue 3 Mar to Fri 6 Mar gives back 4, 5, 6 Mar: 2 Mar + 63 = Mon 4 May, Labour Day: Wed 6 May.
		{"60-day handling paused three days", "2026-03-02 10:00", handling, 0, [][2]string{{"2026-03-03 09:00", "2026-03-06 17:00"}}, "2026-05-06"},
		// Paused and resumed the same day gives back nothing.
		{"pause within one day", "2026-03-02 10:00", clock.Limit{Days: 5, Working: true}, 0, [][2]string{{"2026-03-03 09:00", "2026-03-03 17:00"}}, "2026-03-09"},
		// Paused Thu 5 Mar to Mon 9 Mar gives back the working days 6 and 9 Mar: 7 working days from Mon 2 Mar.
		{"5 working days paused over a weekend", "2026-03-02 10:00", clock.Limit{Days: 5, Working: true}, 0, [][2]string{{"2026-03-05 09:00", "2026-03-09 10:00"}}, "2026-03-11"},
		// Two pauses: 3->4 Mar (1 working day) and 9->11 Mar (2).
		{"two pauses", "2026-03-02 10:00", clock.Limit{Days: 5, Working: true}, 0, [][2]string{{"2026-03-03 09:00", "2026-03-04 09:00"}, {"2026-03-09 09:00", "2026-03-11 09:00"}}, "2026-03-12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pauses []clock.Span
			for _, p := range tt.pauses {
				pauses = append(pauses, clock.Span{From: at(t, p[0]), To: at(t, p[1])})
			}
			start := at(t, tt.start)
			got := cal.Due(start, tt.limit, tt.extra, pauses, time.Time{})
			if want := endOf(t, tt.want); !got.Equal(want) {
				t.Fatalf("due %s, want %s", got.In(clock.China), want)
			}
		})
	}
}

func TestOpenPauseCountsToAsOf(t *testing.T) {
	cal := shipped(t, nil)
	l := clock.Limit{Days: 5, Working: true}
	start := at(t, "2026-03-02 10:00")
	open := []clock.Span{{From: at(t, "2026-03-03 09:00")}}
	if got, want := cal.Due(start, l, 0, open, at(t, "2026-03-03 18:00")), endOf(t, "2026-03-09"); !got.Equal(want) {
		t.Fatalf("paused today: due %s, want %s", got, want)
	}
	if got, want := cal.Due(start, l, 0, open, at(t, "2026-03-05 08:00")), endOf(t, "2026-03-11"); !got.Equal(want) {
		t.Fatalf("paused two working days: due %s, want %s", got, want)
	}
}

func TestRemaining(t *testing.T) {
	cal := shipped(t, nil)
	due := endOf(t, "2026-02-26") // the 5-working-day clock across Spring Festival
	tests := []struct {
		now  string
		want int32
	}{
		{"2026-02-12 10:00", 5},
		{"2026-02-13 10:00", 4},
		{"2026-02-14 10:00", 3}, // make-up Saturday
		{"2026-02-18 10:00", 3}, // in the holiday
		{"2026-02-24 10:00", 2},
		{"2026-02-25 10:00", 1},
		{"2026-02-26 10:00", 0}, // last day
		{"2026-02-26 23:59", 0},
		{"2026-02-27 00:00", -1},
		{"2026-02-28 12:00", -2}, // make-up Saturday counts
		{"2026-03-01 12:00", -2}, // Sunday does not
		{"2026-03-02 12:00", -3},
	}
	for _, tt := range tests {
		t.Run(tt.now, func(t *testing.T) {
			if got := cal.Remaining(at(t, tt.now), due); got != tt.want {
				t.Fatalf("Remaining(%s) = %d, want %d", tt.now, got, tt.want)
			}
		})
	}
}

func TestWarnAt(t *testing.T) {
	cal := shipped(t, nil)
	tests := []struct {
		due  string
		n    int
		want string
	}{
		{"2026-02-26", 1, "2026-02-25 00:00"},
		{"2026-02-24", 1, "2026-02-14 00:00"}, // back over the holiday to the make-up Saturday
		{"2026-03-09", 1, "2026-03-06 00:00"}, // Monday: the Friday before
		{"2026-03-09", 2, "2026-03-05 00:00"},
		{"2026-03-09", 0, "2026-03-09 00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.due, func(t *testing.T) {
			due := endOf(t, tt.due)
			got := cal.WarnAt(due, tt.n)
			if want := at(t, tt.want); !got.Equal(want) {
				t.Fatalf("WarnAt(%s, %d) = %s, want %s", tt.due, tt.n, got, want)
			}
			if r := cal.Remaining(got, due); tt.n > 0 && r != int32(tt.n) {
				t.Fatalf("Remaining at the warning = %d, want %d", r, tt.n)
			}
		})
	}
}

func TestMissingYearIsWeekendsOnly(t *testing.T) {
	var missing []int
	cal := shipped(t, func(y int) { missing = append(missing, y) })
	// 1 Jan 2027 is a Friday: with no 2027 calendar it is a working day.
	if !cal.IsWorkingDay(at(t, "2027-01-01 10:00")) {
		t.Fatal("1 Jan 2027 off without a 2027 calendar")
	}
	if cal.IsWorkingDay(at(t, "2027-01-02 10:00")) {
		t.Fatal("Saturday 2 Jan 2027 is a working day")
	}
	if len(missing) == 0 || missing[0] != 2027 {
		t.Fatalf("missing years reported %v, want 2027", missing)
	}
	if got, want := cal.AddWorkingDays(at(t, "2026-12-30 10:00"), 3), endOf(t, "2027-01-04"); !got.Equal(want) {
		t.Fatalf("3 working days from 30 Dec 2026: %s, want %s", got, want)
	}
}

func TestNewRefusesBadDates(t *testing.T) {
	if _, err := clock.New([]clock.Year{{Year: 2026, Holidays: []string{"2026-13-01"}}}, nil); err == nil {
		t.Fatal("New accepted month 13")
	}
}

func TestMissingYear(t *testing.T) {
	y2026 := clock.Year{Year: 2026, Holidays: []string{"2026-10-01"}}
	strict, err := clock.NewStrict([]clock.Year{y2026}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lenient, _ := clock.New([]clock.Year{y2026}, nil)
	at := func(s string) time.Time {
		d, err := time.ParseInLocation(time.DateOnly, s, clock.China)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name     string
		cal      *clock.Calendar
		from, to string
		want     int
		missing  bool
	}{
		{"within the year", strict, "2026-03-01", "2026-12-31", 0, false},
		{"into the next year", strict, "2026-12-20", "2027-01-08", 2027, true},
		{"from a missing year", strict, "2025-12-30", "2026-01-05", 2025, true},
		{"over two missing years names the first", strict, "2026-12-01", "2028-01-02", 2027, true},
		{"a lenient calendar reports none", lenient, "2026-12-20", "2027-01-08", 0, false},
		{"weekends only reports none", clock.Weekends(), "2026-12-20", "2027-01-08", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y, ok := tt.cal.MissingYear(at(tt.from), at(tt.to))
			if y != tt.want || ok != tt.missing {
				t.Errorf("MissingYear = %d, %v; want %d, %v", y, ok, tt.want, tt.missing)
			}
		})
	}
	// 23:30 on 31 December UTC is already 1 January in China.
	if y, ok := strict.MissingYear(time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC), time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC)); !ok || y != 2027 {
		t.Errorf("MissingYear in China time = %d, %v; want 2027", y, ok)
	}
}
