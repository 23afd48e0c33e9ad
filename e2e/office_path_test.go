package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOfficeSlipOverGateway: a dispute registered by hrss is routed to the
// joint-meeting office → its transfer slip prints → the office's worklist
// shows it awaiting receipt and triage waits → the office signs → triage →
// a meeting whose invited units read the dispute and owe their opinions
// on their worklists, while hrss still sees what it passed on (我登记的).
func TestOfficeSlipOverGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	p := startPlatform(t)
	hrssClerk := p.token("hrss", "liu", "clerk", "handler")
	office := p.token("tax", "zhou", "office")
	finance := p.token("finance", "zhao", "handler")
	post := func(token, path string, body map[string]any) (int, map[string]any) {
		t.Helper()
		return p.httpJSON("POST", "/v1/"+path, token, body)
	}
	worklist := func(token, dept, view string) string {
		t.Helper()
		code, resp := p.httpJSON("GET", "/v1/regions/"+region+"/departments/"+dept+"/worklist?view="+view, token, nil)
		if code != http.StatusOK {
			t.Fatalf("worklist %s %s: HTTP %d %v", dept, view, code, resp)
		}
		return fmt.Sprint(resp["items"])
	}

	reg := registration("office-path-1", "13812340201")
	reg["dispute"].(map[string]any)["registeringDepartment"] = "hrss"
	code, resp := post(hrssClerk, "regions/"+region+"/disputes", reg)
	if code != http.StatusOK {
		t.Fatalf("register: HTTP %d %v", code, resp)
	}
	name := resp["dispute"].(map[string]any)["name"].(string)
	var slipNumber string
	eventually(t, "routing tracks "+name, 10*time.Second, func() error {
		code, resp := post(hrssClerk, name+":route", map[string]any{
			"kind": "ROUTE_KIND_OFFICE", "opinion": "职责不清，请联席会议办公室梳理", "reasonCode": "DUTY_UNCLEAR"})
		if code != http.StatusOK {
			return fmt.Errorf("route: HTTP %d %v", code, resp)
		}
		slip := resp["slip"].(map[string]any)
		if slip["receivingDepartment"] != "tax" {
			return fmt.Errorf("slip %v", slip)
		}
		slipNumber = slip["number"].(string)
		return nil
	})

	code, html := p.page("/print/"+name+"/transfer-slip", hrssClerk)
	if code != http.StatusOK {
		t.Fatalf("print the slip: HTTP %d:\n%s", code, html)
	}
	for _, want := range []string{"社会保险费征缴争议事项流转单", "编号：" + slipNumber, "联席会议办公室（", "职责不清，请联席会议办公室梳理", "登记部门存根", "接收部门联"} {
		if !strings.Contains(html, want) {
			t.Errorf("slip lacks %q", want)
		}
	}
	if !strings.Contains(worklist(office, "tax", "WORKLIST_VIEW_OFFICE_AWAITING_RECEIPT"), name) {
		t.Error("the office's worklist does not show the slip awaiting receipt")
	}
	// Triage waits for the receipt (once the office knows the dispute).
	eventually(t, "triage refused before the receipt", 10*time.Second, func() error {
		code, resp := post(office, name+":triage", map[string]any{"class": "MATTER_CLASS_GENERAL"})
		if code == http.StatusOK || !strings.Contains(fmt.Sprint(resp), "OFFICE_RECEIPT_PENDING") {
			return fmt.Errorf("HTTP %d %v", code, resp)
		}
		return nil
	})

	code, resp = post(office, name+":receive", map[string]any{})
	if code != http.StatusOK {
		t.Fatalf("the office signs: HTTP %d %v", code, resp)
	}
	tr := resp["tracking"].(map[string]any)
	if s := fmt.Sprint(tr["transferSlips"]); !strings.Contains(s, "receiver:zhou") || tr["state"] != "DISPUTE_STATE_AT_OFFICE" {
		t.Fatalf("after receipt: %v", tr)
	}
	if got := worklist(office, "tax", "WORKLIST_VIEW_OFFICE_AWAITING_TRIAGE"); !strings.Contains(got, name) || !strings.Contains(got, "STAGE_TRIAGE") {
		t.Errorf("awaiting triage: %s", got)
	}
	eventually(t, "the office triages "+name, 10*time.Second, func() error {
		code, resp := post(office, name+":triage", map[string]any{"class": "MATTER_CLASS_GENERAL", "note": "一般事项"})
		if code != http.StatusOK {
			return fmt.Errorf("triage: HTTP %d %v", code, resp)
		}
		return nil
	})

	if code, _ := p.httpJSON("GET", "/v1/"+name+"/tracking", finance, nil); code != http.StatusNotFound {
		t.Errorf("finance reads before it is invited: HTTP %d", code)
	}
	code, resp = post(office, "regions/"+region+"/meetings", map[string]any{
		"requestId": "office-path-meeting-1",
		"meeting":   map[string]any{"disputes": []string{name}, "invitedUnits": []string{"finance", "justice"}, "agenda": "职责不清事项联办"},
	})
	if code != http.StatusOK {
		t.Fatalf("convene: HTTP %d %v", code, resp)
	}
	eventually(t, "finance owes its opinion on "+name, 10*time.Second, func() error {
		if got := worklist(finance, "finance", "WORKLIST_VIEW_OPINIONS_OWED"); !strings.Contains(got, name) || !strings.Contains(got, "STAGE_OPINION") {
			return fmt.Errorf("opinions owed: %s", got)
		}
		if code, resp := p.httpJSON("GET", "/v1/"+name+"/tracking", finance, nil); code != http.StatusOK {
			return fmt.Errorf("finance reads: HTTP %d %v", code, resp)
		}
		return nil
	})
	if got := worklist(hrssClerk, "hrss", "WORKLIST_VIEW_REGISTERED"); !strings.Contains(got, name) || !strings.Contains(got, "DISPUTE_STATE_JOINT_HANDLING") {
		t.Errorf("我登记的: %s", got)
	}
}
