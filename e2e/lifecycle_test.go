package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDisputeLifecycleOverGateway drives disputes through routing, receipt,
// return, reply and the worklists over HTTP, as the console and other
// agencies' systems do, across the real processes.
func TestDisputeLifecycleOverGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	p := startPlatform(t)
	taxClerk := p.token("tax", "wang", "clerk", "handler")
	hrss := p.token("hrss", "liu", "handler")
	finance := p.token("finance", "zhao", "handler")
	justice := p.token("justice", "sun", "handler")

	register := func(requestID, phone string) string {
		t.Helper()
		body := registration(requestID, phone)
		body["dispute"].(map[string]any)["category"] = "CATEGORY_BENEFITS"
		code, resp := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", taxClerk, body)
		if code != http.StatusOK {
			t.Fatalf("register: HTTP %d %v", code, resp)
		}
		name := resp["dispute"].(map[string]any)["name"].(string)
		eventually(t, "routing tracks "+name, 10*time.Second, func() error {
			code, resp := p.httpJSON("GET", "/v1/"+name+"/tracking", taxClerk, nil)
			if code != http.StatusOK {
				return fmt.Errorf("HTTP %d %v", code, resp)
			}
			return nil
		})
		return name
	}
	call := func(token, name, verb string, body map[string]any) (int, map[string]any) {
		t.Helper()
		return p.httpJSON("POST", "/v1/"+name+":"+verb, token, body)
	}
	state := func(resp map[string]any) string {
		tr, _ := resp["tracking"].(map[string]any)
		s, _ := tr["state"].(string)
		return s
	}

	t.Run("a search on a phone number goes in a body, never in a URL", func(t *testing.T) {
		name := register("life-search", "13812340099")
		code, resp := p.httpJSON("POST", "/v1/regions/"+region+"/disputes:search", taxClerk, map[string]any{"claimantPhone": "13812340099"})
		ds, _ := resp["disputes"].([]any)
		if code != http.StatusOK || len(ds) != 1 || ds[0].(map[string]any)["name"] != name {
			t.Fatalf("search by phone: HTTP %d %v", code, resp)
		}
		if code, resp := p.httpJSON("GET", "/v1/regions/"+region+"/disputes?claimantPhone=13812340099", taxClerk, nil); code != http.StatusBadRequest {
			t.Fatalf("phone in the URL: HTTP %d %v, want 400", code, resp)
		}
	})

	t.Run("transfer, receipt and written reply with remedy dates", func(t *testing.T) {
		name := register("life-1", "13812340001")
		code, resp := call(taxClerk, name, "route", map[string]any{
			"kind": "ROUTE_KIND_TRANSFER", "targetDepartment": "hrss", "opinion": "属人社部门待遇核定职责", "reasonCode": "OTHER_DUTY"})
		if code != http.StatusOK || state(resp) != "DISPUTE_STATE_TRANSFERRED" {
			t.Fatalf("route: HTTP %d %v", code, resp)
		}
		slip := resp["slip"].(map[string]any)
		if !strings.Contains(slip["number"].(string), "年第") || slip["receivingDepartment"] != "hrss" {
			t.Errorf("transfer slip %v", slip)
		}

		code, wl := p.httpJSON("GET", "/v1/regions/"+region+"/departments/hrss/worklist?bucket=BUCKET_AWAITING_RECEIPT", hrss, nil)
		if code != http.StatusOK || !strings.Contains(fmt.Sprint(wl["items"]), name) {
			t.Errorf("hrss worklist awaiting receipt: HTTP %d %v", code, wl)
		}
		// A department with no part is told the dispute is not found, as
		// for one that does not exist.
		if code, _ := call(finance, name, "receive", map[string]any{}); code != http.StatusNotFound {
			t.Errorf("finance receiving hrss's transfer: HTTP %d, want 404", code)
		}
		code, resp = call(hrss, name, "receive", map[string]any{})
		if code != http.StatusOK || state(resp) != "DISPUTE_STATE_HANDLING" {
			t.Fatalf("receive: HTTP %d %v", code, resp)
		}
		if code, resp := call(hrss, name, "receive", map[string]any{}); code != http.StatusBadRequest ||
			!strings.Contains(fmt.Sprint(resp["message"]), "DISPUTE_STATE_HANDLING") {
			t.Errorf("second receipt: HTTP %d %v, want 400 naming DISPUTE_STATE_HANDLING", code, resp)
		}
		if code, _ := call(finance, name, "reply", map[string]any{"outcome": "x", "text": "x"}); code != http.StatusNotFound {
			t.Errorf("finance replying: HTTP %d, want 404", code)
		}
		code, resp = call(hrss, name, "reply", map[string]any{
			"outcome": "已重新核定待遇", "text": "经核查，已按规定重新核定并补发。",
			"remedies": []string{"REMEDY_ADMINISTRATIVE_RECONSIDERATION", "REMEDY_ADMINISTRATIVE_LITIGATION", "REMEDY_REVIEW_REQUEST"}})
		if code != http.StatusOK || state(resp) != "DISPUTE_STATE_REPLIED" {
			t.Fatalf("reply: HTTP %d %v", code, resp)
		}
		today := time.Now().In(time.FixedZone("CST", 8*3600))
		dates := map[string]time.Time{}
		for _, r := range resp["tracking"].(map[string]any)["reply"].(map[string]any)["remedies"].([]any) {
			rd := r.(map[string]any)
			d, err := time.ParseInLocation("2006-01-02", fmt.Sprint(rd["lastDate"]), today.Location())
			if err != nil {
				t.Fatalf("remedy %v: %v", rd, err)
			}
			dates[rd["remedy"].(string)] = d
		}
		for remedy, min := range map[string]int{
			"REMEDY_REVIEW_REQUEST": 30, "REMEDY_ADMINISTRATIVE_RECONSIDERATION": 60, "REMEDY_ADMINISTRATIVE_LITIGATION": 181,
		} {
			d, ok := dates[remedy]
			if !ok {
				t.Errorf("reply lacks %s", remedy)
				continue
			}
			// The statutory period, possibly rolled forward past days off (at most ten).
			if days := int(d.Sub(today.Truncate(24*time.Hour)).Hours() / 24); days < min-1 || days > min+12 {
				t.Errorf("%s last date %s is %d days after the reply, want about %d", remedy, d.Format("2006-01-02"), days, min)
			}
		}

		// Intake learns the holder from routing's events: hrss may now read the dispute.
		eventually(t, "hrss reads the dispute it holds", 10*time.Second, func() error {
			code, resp := p.httpJSON("GET", "/v1/"+name, hrss, nil)
			if code != http.StatusOK {
				return fmt.Errorf("HTTP %d %v", code, resp)
			}
			return nil
		})
		eventually(t, "the dossier records the whole path", 10*time.Second, func() error {
			code, resp := p.httpJSON("GET", "/v1/"+name+"/dossier", hrss, nil)
			if code != http.StatusOK {
				return fmt.Errorf("HTTP %d %v", code, resp)
			}
			s := fmt.Sprint(resp)
			for _, want := range []string{"DisputeRegistered", "DisputeRouted", "TransferReceived", "ReplyRecorded"} {
				if !strings.Contains(s, want) {
					return fmt.Errorf("dossier lacks %s", want)
				}
			}
			if resp["dossier"].(map[string]any)["state"] != "DISPUTE_STATE_REPLIED" {
				return fmt.Errorf("dossier state %v", resp["dossier"].(map[string]any)["state"])
			}
			return nil
		})
		if code, _ := p.httpJSON("GET", "/v1/"+name+"/tracking", justice, nil); code != http.StatusNotFound {
			t.Errorf("an uninvolved department reading the tracking: HTTP %d, want 404", code)
		}

		// The claimant objects: the dispute closes and its dossier is sealed
		// into the archive's log, with an inclusion proof.
		code, resp = call(hrss, name, "object", map[string]any{"remedy": "REMEDY_ADMINISTRATIVE_RECONSIDERATION", "note": "申请行政复议"})
		if code != http.StatusOK || state(resp) != "DISPUTE_STATE_CLOSED" {
			t.Fatalf("objection: HTTP %d %v", code, resp)
		}
		eventually(t, "the closed dossier is sealed", 15*time.Second, func() error {
			code, resp := p.httpJSON("GET", "/v1/"+name+"/dossier", hrss, nil)
			if code != http.StatusOK {
				return fmt.Errorf("HTTP %d %v", code, resp)
			}
			if resp["dossier"].(map[string]any)["sealed"] != true {
				return fmt.Errorf("not sealed yet: state %v", resp["dossier"].(map[string]any)["state"])
			}
			return nil
		})
		code, proof := p.httpJSON("GET", "/v1/"+name+"/dossier/proof", hrss, nil)
		if code != http.StatusOK || proof["leafHash"] == nil || proof["treeSize"] == nil {
			t.Errorf("inclusion proof: HTTP %d %v", code, proof)
		}
		code, cp := p.httpJSON("GET", "/v1/regions/"+region+"/checkpoint", hrss, nil)
		if code != http.StatusOK || !strings.Contains(fmt.Sprint(cp["note"]), "regions/"+region) || cp["signature"] == nil {
			t.Errorf("checkpoint: HTTP %d %v", code, cp)
		}
		p.checkSealedFromOutside(t, name, hrss)
	})

	t.Run("a dispute returned twice goes to the office", func(t *testing.T) {
		name := register("life-2", "13812340002")
		for _, hop := range []struct {
			to    string
			token string
		}{{"finance", finance}, {"justice", justice}} {
			if code, resp := call(taxClerk, name, "route", map[string]any{
				"kind": "ROUTE_KIND_TRANSFER", "targetDepartment": hop.to, "opinion": "请协助办理"}); code != http.StatusOK {
				t.Fatalf("route to %s: HTTP %d %v", hop.to, code, resp)
			}
			if code, resp := call(hop.token, name, "return", map[string]any{}); code != http.StatusBadRequest ||
				!strings.Contains(fmt.Sprint(resp), "reason") {
				t.Errorf("return without a reason: HTTP %d %v, want 400 naming reason", code, resp)
			}
			code, resp := call(hop.token, name, "return", map[string]any{"reason": "不属于本部门职责"})
			if code != http.StatusOK {
				t.Fatalf("return by %s: HTTP %d %v", hop.to, code, resp)
			}
			if hop.to == "justice" {
				if state(resp) != "DISPUTE_STATE_AT_OFFICE" {
					t.Errorf("after the second return: %s, want DISPUTE_STATE_AT_OFFICE", state(resp))
				}
			} else if state(resp) != "DISPUTE_STATE_REGISTERED" {
				t.Errorf("after the first return: %s, want DISPUTE_STATE_REGISTERED", state(resp))
			}
		}
	})
}
