package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestJointMeetingOfficeOverGateway drives disputes sent to the joint-meeting
// office through both of the office's paths over HTTP, across the real
// processes: a general matter handled jointly by convened member units, and
// a major matter sent with the convenor's approval to the one-stop
// mediation platform. Routing records each outcome as the written reply.
func TestJointMeetingOfficeOverGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	p := startPlatform(t)
	taxClerk := p.token("tax", "wang", "clerk", "handler")
	office := p.token("tax", "zhou", "office")
	taxHandler := p.token("tax", "qian", "handler")
	hrss := p.token("hrss", "liu", "handler")
	finance := p.token("finance", "zhao", "handler")
	convenor := p.token("gov_office", "ren", "convenor")
	plc := p.token("plc", "hao", "platform")

	post := func(token, path string, body map[string]any) (int, map[string]any) {
		t.Helper()
		return p.httpJSON("POST", "/v1/"+path, token, body)
	}
	// toOffice registers a dispute and routes it to the office.
	toOffice := func(requestID, phone string) string {
		t.Helper()
		code, resp := post(taxClerk, "regions/"+region+"/disputes", registration(requestID, phone))
		if code != http.StatusOK {
			t.Fatalf("register: HTTP %d %v", code, resp)
		}
		name := resp["dispute"].(map[string]any)["name"].(string)
		eventually(t, "routing tracks "+name, 10*time.Second, func() error {
			code, resp := post(taxClerk, name+":route", map[string]any{
				"kind": "ROUTE_KIND_OFFICE", "opinion": "需税务、人社多部门共同办理"})
			if code != http.StatusOK {
				return fmt.Errorf("route: HTTP %d %v", code, resp)
			}
			return nil
		})
		// The office signs the transfer slip routing made to it.
		if code, resp := post(office, name+":receive", map[string]any{}); code != http.StatusOK {
			t.Fatalf("the office signs: HTTP %d %v", code, resp)
		}
		return name
	}
	// triage classifies once the office has learnt from routing that the
	// dispute is there.
	triage := func(name, class string) {
		t.Helper()
		eventually(t, "the office triages "+name, 10*time.Second, func() error {
			code, resp := post(office, name+":triage", map[string]any{"class": class, "note": "梳理分类"})
			if code != http.StatusOK {
				return fmt.Errorf("triage: HTTP %d %v", code, resp)
			}
			return nil
		})
	}
	// replied waits until routing shows the dispute replied with outcome and
	// returns the reply.
	replied := func(name, outcome string) map[string]any {
		t.Helper()
		var reply map[string]any
		eventually(t, "routing records the reply of "+name, 15*time.Second, func() error {
			code, resp := p.httpJSON("GET", "/v1/"+name+"/tracking", office, nil)
			if code != http.StatusOK {
				return fmt.Errorf("tracking: HTTP %d %v", code, resp)
			}
			tr := resp["tracking"].(map[string]any)
			if tr["state"] != "DISPUTE_STATE_REPLIED" {
				return fmt.Errorf("state %v", tr["state"])
			}
			reply, _ = tr["reply"].(map[string]any)
			if reply == nil || reply["outcome"] != outcome {
				return fmt.Errorf("reply %v", reply)
			}
			return nil
		})
		return reply
	}
	dossierHolds := func(name string, types ...string) {
		t.Helper()
		eventually(t, "the dossier of "+name+" holds the office's records", 15*time.Second, func() error {
			code, resp := p.httpJSON("GET", "/v1/"+name+"/dossier", office, nil)
			if code != http.StatusOK {
				return fmt.Errorf("HTTP %d %v", code, resp)
			}
			s := fmt.Sprint(resp)
			for _, want := range types {
				if !strings.Contains(s, want) {
					return fmt.Errorf("dossier lacks %s", want)
				}
			}
			return nil
		})
	}

	t.Run("general matter: meeting, opinions, decision", func(t *testing.T) {
		name := toOffice("office-1", "13812340101")
		triage(name, "MATTER_CLASS_GENERAL")
		code, resp := post(office, "regions/"+region+"/meetings", map[string]any{
			"requestId": "office-meeting-1",
			"meeting": map[string]any{"disputes": []string{name}, "invitedUnits": []string{"tax", "hrss"},
				"place": "市税务局三楼会议室", "agenda": "缴费基数争议联办"},
		})
		if code != http.StatusOK {
			t.Fatalf("convene: HTTP %d %v", code, resp)
		}
		meeting := resp["meeting"].(map[string]any)["name"].(string)

		opinion := func(token, text string) (int, map[string]any) {
			return post(token, meeting+"/opinions", map[string]any{"opinion": map[string]any{"dispute": name, "text": text}})
		}
		if code, resp := opinion(finance, "x"); code != http.StatusNotFound {
			t.Errorf("opinion of a unit not invited: HTTP %d %v, want 404 (as for a meeting that does not exist)", code, resp)
		}
		if code, resp := opinion(taxHandler, "税务部门意见：申报基数低于实际工资，应补缴"); code != http.StatusOK {
			t.Fatalf("tax opinion: HTTP %d %v", code, resp)
		}
		decision := map[string]any{"outcome": "责令补缴", "text": "经联席会议研究，单位应按实际工资补申报缴费基数。",
			"remedies": []string{"REMEDY_ADMINISTRATIVE_RECONSIDERATION", "REMEDY_ADMINISTRATIVE_LITIGATION"}}
		if code, resp := post(office, name+":decide", decision); code != http.StatusBadRequest ||
			!strings.Contains(fmt.Sprint(resp["message"]), "hrss") {
			t.Errorf("decision with hrss's opinion missing: HTTP %d %v, want 400 naming hrss", code, resp)
		}
		if code, resp := opinion(hrss, "人社部门意见：工资口径无异议"); code != http.StatusOK {
			t.Fatalf("hrss opinion: HTTP %d %v", code, resp)
		}
		if code, resp := post(office, name+":decide", decision); code != http.StatusOK || resp["state"] != "DISPUTE_STATE_REPLIED" {
			t.Fatalf("decision: HTTP %d %v", code, resp)
		}
		reply := replied(name, "责令补缴")
		if reply["text"] != decision["text"] {
			t.Errorf("reply text %v", reply["text"])
		}
		got := fmt.Sprint(reply["remedies"])
		for _, r := range []string{"REMEDY_ADMINISTRATIVE_RECONSIDERATION", "REMEDY_ADMINISTRATIVE_LITIGATION"} {
			if !strings.Contains(got, r) {
				t.Errorf("reply remedies %s lack %s", got, r)
			}
		}
		dossierHolds(name, "MatterTriaged", "MeetingConvened", "OpinionSubmitted", "DecisionIssued", "ReplyRecorded")

		// The decision letter is the office's, never its host unit's, and
		// carries none of the units' written opinions; once its delivery is
		// recorded it states the last dates counted from it.
		today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		if code, resp := post(office, name+":recordDelivery", map[string]any{"method": "DELIVERY_METHOD_MAIL", "deliveryDate": today}); code != http.StatusOK {
			t.Fatalf("delivery: HTTP %d %v", code, resp)
		}
		code, html := p.page("/print/"+name+"/reply", office)
		if code != http.StatusOK {
			t.Fatalf("decision letter: HTTP %d", code)
		}
		for _, want := range []string{"孝义市社会保险费征缴争议联合处置工作联席会议办公室（盖章）", "复议机关为国家税务总局吕梁市税务局",
			"管辖法院为孝义市人民法院", "期限自送达之日起计算，最后一日为", "以邮寄送达方式送达"} {
			if !strings.Contains(html, want) {
				t.Errorf("decision letter lacks %q", want)
			}
		}
		for _, not := range []string{"市税务局（盖章）", "税务部门意见", "人社部门意见"} {
			if strings.Contains(html, not) {
				t.Errorf("decision letter shows %q", not)
			}
		}
	})

	t.Run("major matter: convenor's approval, platform outcome", func(t *testing.T) {
		name := toOffice("office-2", "13812340102")
		triage(name, "MATTER_CLASS_MAJOR")
		code, resp := post(office, "regions/"+region+"/approvals", map[string]any{
			"dispute": name, "summary": "涉及多家单位集体欠费，拟纳入一站式矛盾纠纷调处平台"})
		if code != http.StatusOK {
			t.Fatalf("request approval: HTTP %d %v", code, resp)
		}
		approval := resp["approval"].(map[string]any)["name"].(string)
		if code, resp := post(office, approval+":decide", map[string]any{"approve": true}); code != http.StatusForbidden {
			t.Errorf("office deciding its own request: HTTP %d %v, want 403", code, resp)
		}
		code, resp = post(convenor, approval+":decide", map[string]any{"approve": true, "comment": "同意纳入平台"})
		if code != http.StatusOK || resp["approval"].(map[string]any)["approved"] != true {
			t.Fatalf("convenor approves: HTTP %d %v", code, resp)
		}
		eventually(t, "routing moves "+name+" to the platform", 15*time.Second, func() error {
			code, resp := p.httpJSON("GET", "/v1/"+name+"/tracking", office, nil)
			if code != http.StatusOK {
				return fmt.Errorf("HTTP %d %v", code, resp)
			}
			if s := resp["tracking"].(map[string]any)["state"]; s != "DISPUTE_STATE_AT_PLATFORM" {
				return fmt.Errorf("state %v", s)
			}
			return nil
		})
		code, resp = post(plc, name+":platformOutcome", map[string]any{
			"outcome": "调解成功", "text": "经一站式平台调解，双方达成分期补缴协议。"})
		if code != http.StatusOK || resp["state"] != "DISPUTE_STATE_REPLIED" {
			t.Fatalf("platform outcome: HTTP %d %v", code, resp)
		}
		replied(name, "调解成功")
		dossierHolds(name, "MatterTriaged", "ApprovalRequested", "ApprovalDecided", "PlatformOutcomeRecorded")
	})
}
