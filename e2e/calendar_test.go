package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// standInCalendars loads, with disputectl calendar set, a stand-in calendar
// for the current and the next year wherever deploy/config ships none: only
// 1 January off (元旦, a holiday every year), plainly not a State Council
// notice. Deadlines near a year's end reach into the next year, which
// routing refuses to count without a calendar, so the suite loads one to run
// on any date. run is the suite's disputectl runner.
func standInCalendars(t *testing.T, dir, etcd string, run func(args ...string) string) {
	t.Helper()
	now := time.Now().In(names.China)
	for _, y := range []int{now.Year(), now.Year() + 1} {
		if _, err := os.Stat(fmt.Sprintf("../deploy/config/%s/calendar/%d.json", region, y)); err == nil {
			continue
		}
		file := filepath.Join(dir, fmt.Sprintf("stand-in-%d.txt", y))
		text := fmt.Sprintf("# stand-in for tests, not the State Council's notice\nholiday %d-01-01\n", y)
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		run("calendar", "set", "--region", region, "--year", strconv.Itoa(y), "--file", file, "--etcd", etcd)
	}
}

// TestCalendarMissingYear takes the current year's calendar out of etcd:
// every service's /readyz names the year while staying ready, a route whose
// deadline is counted in that year is refused with CALENDAR_MISSING, and
// once disputectl calendar set loads the year again the route goes through.
func TestCalendarMissingYear(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	p := startPlatform(t)
	clerk := p.token("tax", "wang", "clerk", "handler")
	year := strconv.Itoa(time.Now().In(names.China).Year())
	readyz := func(svc string) (int, string) {
		resp, err := http.Get("http://" + p.admin[svc] + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	services := []string{"intake", "routing", "meeting", "archive"}
	for _, svc := range services {
		eventually(t, svc+" reports every calendar in place", 10*time.Second, func() error {
			if code, body := readyz(svc); code != http.StatusOK || !strings.Contains(body, `"calendar_years":"ok"`) {
				return fmt.Errorf("HTTP %d %s", code, body)
			}
			return nil
		})
	}

	code, body := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", clerk, registration("cal-1", "13812340777"))
	if code != http.StatusOK {
		t.Fatalf("register: HTTP %d %v", code, body)
	}
	name := body["dispute"].(map[string]any)["name"].(string)
	eventually(t, "routing tracks "+name, 10*time.Second, func() error {
		if code, resp := p.httpJSON("GET", "/v1/"+name+"/tracking", clerk, nil); code != http.StatusOK {
			return fmt.Errorf("HTTP %d %v", code, resp)
		}
		return nil
	})

	// An administrator removes the year, as etcdctl del would.
	cli := p.etcd.Client(t)
	ctx := t.Context()
	if _, err := cli.Delete(ctx, "/disputes/"+region+"/calendar/"+year); err != nil {
		t.Fatal(err)
	}
	for _, svc := range services {
		eventually(t, svc+" reports the missing year", 10*time.Second, func() error {
			code, body := readyz(svc)
			if code != http.StatusOK {
				return fmt.Errorf("a missing calendar failed readiness: HTTP %d %s", code, body)
			}
			if !strings.Contains(body, "no business calendar for "+year) {
				return fmt.Errorf("readyz: %s", body)
			}
			return nil
		})
	}
	route := map[string]any{"kind": "ROUTE_KIND_SELF", "opinion": "属本部门职责", "reasonCode": "OWN_DUTY"}
	eventually(t, "routing refuses the route", 10*time.Second, func() error {
		code, resp := p.httpJSON("POST", "/v1/"+name+":route", clerk, route)
		if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(resp), "CALENDAR_MISSING") ||
			!strings.Contains(fmt.Sprint(resp["message"]), "no business calendar for "+year) {
			return fmt.Errorf("HTTP %d %v", code, resp)
		}
		return nil
	})

	// Loaded again, live: the route goes through.
	file := "../deploy/config/" + region + "/calendar/" + year + ".json"
	if _, err := os.Stat(file); err != nil {
		file = filepath.Join(t.TempDir(), year+".txt")
		if err := os.WriteFile(file, []byte("holiday "+year+"-01-01\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.run("calendar", "set", "--region", region, "--year", year, "--file", file, "--etcd", p.etcd.Endpoint)
	eventually(t, "the route after the calendar is back", 10*time.Second, func() error {
		code, resp := p.httpJSON("POST", "/v1/"+name+":route", clerk, route)
		if code != http.StatusOK {
			return fmt.Errorf("HTTP %d %v", code, resp)
		}
		return nil
	})
}
