package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCalendarSetGetList(t *testing.T) {
	e := testenv.StartEtcd(t)
	auth := etcdAuth(e)
	good := writeFile(t, "2027.txt", `# a test year: 元旦 and one made-up stretch, not a State Council notice
holiday 2027-01-01
holiday 2027-02-08..2027-02-12
workday 2027-02-06
`)
	out, errOut, code := run(t, append([]string{"calendar", "set", "--year", "2027", "--file", good}, auth...)...)
	if code != 0 || !strings.Contains(out, "stored the 2027 calendar of region 141181") || !strings.Contains(out, "6 holidays, 1 make-up") {
		t.Fatalf("set: code %d, out %q, err %q", code, out, errOut)
	}
	out, errOut, code = run(t, append([]string{"calendar", "get", "--year", "2027"}, auth...)...)
	if code != 0 || !strings.Contains(out, `"2027-02-10"`) || !strings.Contains(out, `"2027-02-06"`) {
		t.Fatalf("get: code %d, out %q, err %q", code, out, errOut)
	}

	// Refused files change nothing and name what is wrong.
	for _, tt := range []struct{ name, text, want string }{
		{"make-up day on a weekday", "workday 2027-02-08\n", "make_up_workdays[0]: 2027-02-08 is a Monday"},
		{"day of another year", "holiday 2026-12-31\n", "holidays[0]: 2026-12-31 is not in 2027"},
		{"duplicate", "holiday 2027-01-01\nholiday 2027-01-01\n", "holidays[1]: 2027-01-01 is already listed"},
		{"both lists", "holiday 2027-02-06\nworkday 2027-02-06\n", "not both"},
		{"JSON of another year", `{"year": 2026}`, "the calendar of 2026, not 2027"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := writeFile(t, "bad.txt", tt.text)
			_, errOut, code := run(t, append([]string{"calendar", "set", "--year", "2027", "--file", bad}, auth...)...)
			if code == 0 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("code %d, err %q; want a refusal naming %q", code, errOut, tt.want)
			}
			out, _, _ := run(t, append([]string{"calendar", "get", "--year", "2027"}, auth...)...)
			if !strings.Contains(out, `"2027-02-10"`) {
				t.Fatalf("a refused file changed the stored calendar:\n%s", out)
			}
		})
	}

	// The shipped JSON file loads as well.
	out, errOut, code = run(t, append([]string{"calendar", "set", "--year", "2026", "--file", "../../../deploy/config/141181/calendar/2026.json"}, auth...)...)
	if code != 0 {
		t.Fatalf("set 2026 from JSON: code %d, out %q, err %q", code, out, errOut)
	}

	cmd, err := Parse(append([]string{"calendar", "list"}, auth...), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	// On 1 December 2027 both 2027 and the coming 2028 are in use.
	cmd.(*CalendarListCmd).Now = func() time.Time { return time.Date(2027, 12, 1, 9, 0, 0, 0, names.China) }
	if err := cmd.run(t.Context(), &sb); err != nil {
		t.Fatal(err)
	}
	list := sb.String()
	for _, want := range []string{"2026  33 holidays, 6 make-up working days", "2027  6 holidays, 1 make-up working days", "2028  missing"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	if key := regionconfig.CalendarSpec.Key("141181", "2027"); key != "/disputes/141181/calendar/2027" {
		t.Errorf("key %s", key)
	}
}

func TestCalendarParseErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"calendar"}, "want set, get or list"},
		{[]string{"calendar", "drop"}, "unknown subcommand"},
		{[]string{"calendar", "set", "--file", "x"}, "--year is required"},
		{[]string{"calendar", "set", "--year", "2027"}, "--file is required"},
		{[]string{"calendar", "get", "--year", "2027", "--region", "14"}, "6 digits"},
	} {
		if _, err := Parse(tt.args, env(nil)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want %q", tt.args, err, tt.want)
		}
	}
}
