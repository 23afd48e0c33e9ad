package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMeetingReadsOverGateway drives the office's reads across the real
// processes over HTTP: the meetings each invited unit lists, the convenor's
// pending approvals, minutes recorded and printed, and a mass-dispute
// warning on five claimants against one employer, listed for the petition
// bureau (信访局) and acknowledged.
func TestMeetingReadsOverGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	p := startPlatform(t)
	taxClerk := p.token("tax", "wang", "clerk", "handler")
	office := p.token("tax", "zhou", "office")
	convenor := p.token("gov_office", "ren", "convenor")
	plc := p.token("plc", "hao", "platform")
	units := map[string]string{
		"tax":     p.token("tax", "qian", "handler"),
		"hrss":    p.token("hrss", "liu", "handler"),
		"finance": p.token("finance", "zhao", "handler"),
	}
	justice := p.token("justice", "sun", "handler")
	petition := p.token("petition", "li", "handler")
	regionPath := "regions/" + region

	post := func(token, path string, body map[string]any) (int, map[string]any) {
		t.Helper()
		return p.httpJSON("POST", "/v1/"+path, token, body)
	}
	get := func(token, path string, query url.Values) (int, map[string]any) {
		t.Helper()
		if len(query) > 0 {
			path += "?" + query.Encode()
		}
		return p.httpJSON("GET", "/v1/"+path, token, nil)
	}
	// names lists the "name" of every item of list in resp.
	names := func(resp map[string]any, list string) []string {
		var out []string
		items, _ := resp[list].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		return out
	}
	toOffice := func(requestID, phone, class string) string {
		t.Helper()
		code, resp := post(taxClerk, regionPath+"/disputes", registration(requestID, phone))
		if code != http.StatusOK {
			t.Fatalf("register: HTTP %d %v", code, resp)
		}
		name := resp["dispute"].(map[string]any)["name"].(string)
		eventually(t, "routing routes "+name+" to the office", 10*time.Second, func() error {
			if code, resp := post(taxClerk, name+":route", map[string]any{"kind": "ROUTE_KIND_OFFICE", "opinion": "需多部门共同办理"}); code != http.StatusOK {
				return fmt.Errorf("route: HTTP %d %v", code, resp)
			}
			return nil
		})
		if code, resp := post(office, name+":receive", map[string]any{}); code != http.StatusOK {
			t.Fatalf("the office signs: HTTP %d %v", code, resp)
		}
		eventually(t, "the office triages "+name, 10*time.Second, func() error {
			if code, resp := post(office, name+":triage", map[string]any{"class": class}); code != http.StatusOK {
				return fmt.Errorf("triage: HTTP %d %v", code, resp)
			}
			return nil
		})
		return name
	}

	var meeting string
	t.Run("a meeting with three invited units, listed by each", func(t *testing.T) {
		name := toOffice("reads-1", "13812340201", "MATTER_CLASS_GENERAL")
		code, resp := post(office, regionPath+"/meetings", map[string]any{
			"requestId": "reads-meeting-1",
			"meeting": map[string]any{"disputes": []string{name}, "invitedUnits": []string{"tax", "hrss", "finance"},
				"place": "市税务局三楼会议室", "agenda": "缴费基数争议联办", "startTime": "2026-03-05T01:30:00Z"},
		})
		if code != http.StatusOK {
			t.Fatalf("convene: HTTP %d %v", code, resp)
		}
		meeting = resp["meeting"].(map[string]any)["name"].(string)
		for unit, token := range units {
			code, resp := get(token, regionPath+"/meetings", nil)
			if code != http.StatusOK || !slices.Contains(names(resp, "meetings"), meeting) {
				t.Errorf("%s lists its meetings: HTTP %d %v, want %s", unit, code, resp, meeting)
			}
			if code, resp := get(token, meeting, nil); code != http.StatusOK {
				t.Errorf("%s reads the meeting: HTTP %d %v", unit, code, resp)
			}
		}
		code, resp = get(units["hrss"], regionPath+"/meetings", url.Values{"dispute": {name}})
		if code != http.StatusOK || !slices.Equal(names(resp, "meetings"), []string{meeting}) {
			t.Errorf("hrss lists the meetings on %s: HTTP %d %v", name, code, resp)
		}
		if code, resp := get(justice, regionPath+"/meetings", nil); code != http.StatusOK || len(names(resp, "meetings")) != 0 {
			t.Errorf("a unit not invited lists: HTTP %d %v, want none", code, resp)
		}
		if code, resp := get(justice, meeting, nil); code != http.StatusNotFound {
			t.Errorf("a unit not invited reads the meeting: HTTP %d %v, want 404", code, resp)
		}
	})

	t.Run("the convenor finds the pending approval", func(t *testing.T) {
		name := toOffice("reads-2", "13812340202", "MATTER_CLASS_MAJOR")
		code, resp := post(office, regionPath+"/approvals", map[string]any{"dispute": name, "summary": "拟纳入一站式矛盾纠纷调处平台"})
		if code != http.StatusOK {
			t.Fatalf("request approval: HTTP %d %v", code, resp)
		}
		approval := resp["approval"].(map[string]any)["name"].(string)
		pending := url.Values{"state": {"APPROVAL_STATE_PENDING"}}
		code, resp = get(convenor, regionPath+"/approvals", pending)
		if code != http.StatusOK || !slices.Contains(names(resp, "approvals"), approval) {
			t.Fatalf("the convenor's pending approvals: HTTP %d %v, want %s", code, resp, approval)
		}
		if code, resp := get(plc, approval, nil); code != http.StatusNotFound {
			t.Errorf("the platform reads a pending approval: HTTP %d %v, want 404", code, resp)
		}
		if code, resp := post(convenor, approval+":decide", map[string]any{"approve": true, "comment": "同意"}); code != http.StatusOK {
			t.Fatalf("approve: HTTP %d %v", code, resp)
		}
		if code, resp := get(convenor, regionPath+"/approvals", pending); code != http.StatusOK || slices.Contains(names(resp, "approvals"), approval) {
			t.Errorf("pending after the decision: HTTP %d %v", code, resp)
		}
		if code, resp := get(plc, regionPath+"/approvals", nil); code != http.StatusOK || !slices.Contains(names(resp, "approvals"), approval) {
			t.Errorf("the platform lists the approved matter: HTTP %d %v", code, resp)
		}
	})

	t.Run("minutes recorded and printed", func(t *testing.T) {
		if meeting == "" {
			t.Skip("no meeting")
		}
		code, resp := post(office, meeting+":recordMinutes", map[string]any{"minutes": map[string]any{
			"text": "会议听取了联席会议办公室的汇报，各成员单位逐一发表意见。",
			"attendees": []map[string]any{{"name": "任小俊", "title": "市政府副市长"},
				{"unit": "hrss", "name": "刘洋", "title": "副局长"}},
			"decisions": []string{"按上年度社平工资核定缴费基数"},
		}})
		if code != http.StatusOK {
			t.Fatalf("record minutes: HTTP %d %v", code, resp)
		}
		code, resp = get(units["finance"], meeting, nil)
		if code != http.StatusOK || !strings.Contains(fmt.Sprint(resp["meeting"]), "按上年度社平工资核定缴费基数") {
			t.Errorf("finance reads the minutes: HTTP %d %v", code, resp)
		}
		code, html := p.page("/print/"+meeting+"/minutes", units["hrss"])
		if code != http.StatusOK {
			t.Fatalf("print minutes: HTTP %d\n%s", code, html)
		}
		for _, want := range []string{"社会保险费征缴争议联席会议纪要", "缴费基数争议联办", "市人社局（医保局）",
			"刘洋（市人社局（医保局），副局长）", "按上年度社平工资核定缴费基数", "联席会议办公室"} {
			if !strings.Contains(html, want) {
				t.Errorf("printed minutes lack %q", want)
			}
		}
		if code, html := p.page("/print/"+meeting+"/minutes", justice); code != http.StatusNotFound {
			t.Errorf("minutes printed by a unit not invited: HTTP %d\n%s", code, html)
		}
	})

	t.Run("five claimants against one employer: one warning naming the five, acknowledged by the petition bureau", func(t *testing.T) {
		var five []string
		for i := range 5 {
			reg := registration(fmt.Sprintf("reads-mass-%d", i), fmt.Sprintf("1381234030%d", i))
			d := reg["dispute"].(map[string]any)
			d["claimant"].(map[string]any)["name"] = fmt.Sprintf("职工%d", i+1)
			d["employerName"] = "孝义市示例煤业有限公司"
			code, resp := post(taxClerk, regionPath+"/disputes", reg)
			if code != http.StatusOK {
				t.Fatalf("register %d: HTTP %d %v", i, code, resp)
			}
			five = append(five, resp["dispute"].(map[string]any)["name"].(string))
		}
		// One warning for the employer: raised by the third registration
		// (the default threshold), naming the five once the fourth and
		// fifth have joined it.
		var warning map[string]any
		eventually(t, "the petition bureau lists one warning naming the five", 15*time.Second, func() error {
			code, resp := get(petition, regionPath+"/massWarnings", url.Values{"state": {"MASS_WARNING_STATE_PENDING"}})
			if code != http.StatusOK {
				return fmt.Errorf("HTTP %d %v", code, resp)
			}
			items, _ := resp["massWarnings"].([]any)
			if len(items) != 1 {
				return fmt.Errorf("%d warnings pending, want one: %v", len(items), resp)
			}
			w := items[0].(map[string]any)
			if fmt.Sprint(w["disputes"]) != fmt.Sprint(five) || w["disputeCount"] != float64(5) {
				return fmt.Errorf("warning names %v (count %v), want %v", w["disputes"], w["disputeCount"], five)
			}
			warning = w
			return nil
		})
		if warning["trigger"] != "same_employer" || warning["employerName"] != "孝义市示例煤业有限公司" ||
			warning["dispute"] != five[2] || warning["raiseTime"] == nil || warning["lastRaiseTime"] == nil {
			t.Errorf("warning %v: want same_employer on 孝义市示例煤业有限公司, raised by %s", warning, five[2])
		}
		if !strings.Contains(fmt.Sprint(warning["acknowledgingUnits"]), "petition") {
			t.Errorf("warning %v: acknowledging units lack petition", warning)
		}
		if code, resp := get(units["hrss"], regionPath+"/massWarnings", nil); code != http.StatusOK || len(names(resp, "massWarnings")) != 0 {
			t.Errorf("a unit not addressed lists: HTTP %d %v, want none", code, resp)
		}
		// Until it acknowledges, the petition bureau reads each dispute the
		// warning names, as a guest: its tracking, and the form with the
		// claimant's numbers masked and no lookup code.
		for i, d := range five {
			phone := fmt.Sprintf("1381234030%d", i)
			eventually(t, "the petition bureau reads "+d, 15*time.Second, func() error {
				if code, resp := get(petition, d+"/tracking", nil); code != http.StatusOK {
					return fmt.Errorf("tracking: HTTP %d %v", code, resp)
				}
				code, resp := get(petition, d, nil)
				if code != http.StatusOK {
					return fmt.Errorf("dispute: HTTP %d %v", code, resp)
				}
				got, _ := resp["dispute"].(map[string]any)
				claimant, _ := got["claimant"].(map[string]any)
				if p, _ := claimant["phone"].(string); p == "" || p == phone || strings.Contains(fmt.Sprint(resp), phone) {
					return fmt.Errorf("dispute: phone %q, want %s masked: %v", p, phone, resp)
				}
				if got["lookupCode"] != nil {
					return fmt.Errorf("dispute: a guest reads the lookup code: %v", resp)
				}
				return nil
			})
		}
		name := warning["name"].(string)
		ack := map[string]any{"requestId": "ack-1", "note": "已安排专人提前介入，联系职工代表"}
		code, first := post(petition, name+":acknowledge", ack)
		if code != http.StatusOK {
			t.Fatalf("acknowledge: HTTP %d %v", code, first)
		}
		w := first["massWarning"].(map[string]any)
		a, _ := w["acknowledgement"].(map[string]any)
		if w["state"] != "MASS_WARNING_STATE_ACKNOWLEDGED" || a["unit"] != "petition" || a["note"] != ack["note"] ||
			fmt.Sprint(a["disputes"]) != fmt.Sprint(five) {
			t.Errorf("acknowledged: %v, want the five covered", w)
		}
		if code, again := post(petition, name+":acknowledge", ack); code != http.StatusOK || fmt.Sprint(again) != fmt.Sprint(first) {
			t.Errorf("retried acknowledgement: HTTP %d %v, want %v", code, again, first)
		}
		code, resp := get(petition, regionPath+"/massWarnings", url.Values{"state": {"MASS_WARNING_STATE_ACKNOWLEDGED"}})
		if code != http.StatusOK || !slices.Equal(names(resp, "massWarnings"), []string{name}) {
			t.Errorf("acknowledged warnings: HTTP %d %v, want %s alone", code, resp, name)
		}
		if code, resp := get(petition, regionPath+"/massWarnings", url.Values{"state": {"MASS_WARNING_STATE_PENDING"}}); code != http.StatusOK ||
			len(names(resp, "massWarnings")) != 0 {
			t.Errorf("pending after the acknowledgement: HTTP %d %v, want none", code, resp)
		}
		// The acknowledgement ends its reading of every dispute it covers:
		// the answer is the one for a dispute that does not exist.
		missing := fmt.Sprintf("%s/disputes/%d-987654321", regionPath, time.Now().In(time.FixedZone("CST", 8*3600)).Year())
		for _, d := range five {
			for _, suffix := range []string{"/tracking", ""} {
				eventually(t, "the petition bureau reads "+d+suffix+" no more", 15*time.Second, func() error {
					code, resp := get(petition, d+suffix, nil)
					noneCode, none := get(petition, missing+suffix, nil)
					got := strings.ReplaceAll(fmt.Sprint(resp), d, "<name>")
					want := strings.ReplaceAll(fmt.Sprint(none), missing, "<name>")
					if code != http.StatusNotFound || code != noneCode || got != want {
						return fmt.Errorf("HTTP %d %s, but for a dispute that does not exist HTTP %d %s", code, got, noneCode, want)
					}
					return nil
				})
			}
		}
		dispute := warning["dispute"].(string)
		// The office invites the petition bureau to the meeting on it.
		eventually(t, "routing routes "+dispute+" to the office", 10*time.Second, func() error {
			if code, resp := post(taxClerk, dispute+":route", map[string]any{"kind": "ROUTE_KIND_OFFICE", "opinion": "集中反映，需多部门共同办理"}); code != http.StatusOK {
				return fmt.Errorf("route: HTTP %d %v", code, resp)
			}
			return nil
		})
		if code, resp := post(office, dispute+":receive", map[string]any{}); code != http.StatusOK {
			t.Fatalf("the office signs: HTTP %d %v", code, resp)
		}
		eventually(t, "the office triages "+dispute, 10*time.Second, func() error {
			if code, resp := post(office, dispute+":triage", map[string]any{"class": "MATTER_CLASS_GENERAL"}); code != http.StatusOK {
				return fmt.Errorf("triage: HTTP %d %v", code, resp)
			}
			return nil
		})
		code, resp = post(office, regionPath+"/meetings", map[string]any{"requestId": "reads-mass-meeting",
			"meeting": map[string]any{"disputes": []string{dispute}, "invitedUnits": []string{"tax", "hrss", "petition"}, "agenda": "集中反映事项提前介入"}})
		if code != http.StatusOK {
			t.Fatalf("convene with the petition bureau: HTTP %d %v", code, resp)
		}
		massMeeting := resp["meeting"].(map[string]any)["name"].(string)
		if code, resp := get(petition, regionPath+"/meetings", url.Values{"dispute": {dispute}}); code != http.StatusOK ||
			!slices.Equal(names(resp, "meetings"), []string{massMeeting}) {
			t.Errorf("the petition bureau lists its meeting on %s: HTTP %d %v", dispute, code, resp)
		}
		for _, d := range five {
			eventually(t, "the dossier of "+d+" records the warning and its acknowledgement", 15*time.Second, func() error {
				code, resp := get(office, d+"/dossier", nil)
				if code != http.StatusOK {
					return fmt.Errorf("HTTP %d %v", code, resp)
				}
				for _, want := range []string{"MassDisputeWarning", "MassWarningAcknowledged"} {
					if !strings.Contains(fmt.Sprint(resp), want) {
						return fmt.Errorf("dossier lacks %s", want)
					}
				}
				return nil
			})
		}
	})
}
