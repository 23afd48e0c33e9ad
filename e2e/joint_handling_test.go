package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// rosterStaffIDs lists every staff id of the region's roster as shipped
// (deploy/roster), the ids tokens carry and forms must never print.
func rosterStaffIDs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../deploy/roster/" + region + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Units []struct {
			Staff []struct {
				ID string `json:"id"`
			} `json:"staff"`
		} `json:"units"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range r.Units {
		for _, s := range u.Staff {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) < 10 {
		t.Fatalf("roster lists %d staff: %v", len(ids), ids)
	}
	return ids
}

var (
	pageHidden = regexp.MustCompile(`(?is)<(style|script)\b.*?</(style|script)>`)
	pageTag    = regexp.MustCompile(`(?s)<[^>]*>`)
)

// pageText is the text a printed page shows: no markup, style or script,
// entities decoded.
func pageText(page string) string {
	return html.UnescapeString(pageTag.ReplaceAllString(pageHidden.ReplaceAllString(page, " "), " "))
}

// TestJointHandling drives the joint handling of issue 14 over the gateway
// against the real binaries, each step by the role and department that does
// it:
//
//   - a general matter: routed to the joint-meeting office, its transfer slip
//     printed, signed by the office, triaged, put to a meeting of three units
//     that each read the dispute (masked) and give their written opinion;
//     the meeting was held three weeks before it is recorded, so the
//     opinions are late, and finance's, given last, stays Overdue on its own
//     worklist after the others have answered; the
//     office's decision letter, its delivery, and the remedy dates counted
//     from the delivery;
//   - a major matter: the convenor finds the approval on the pending list
//     and worklist, approves it, the platform unit reads and lists it and
//     records the outcome, which is the written reply;
//   - every printed form of these flows (登记表, 流转单, reply, minutes)
//     shows people by name, never a staff id of the roster.
//
// The mass-dispute warning of five claimants against one employer, listed for
// the petition bureau and acknowledged, is TestMeetingReadsOverGateway's; the
// claimant's lookup (a wrong code gets nothing, the right one state and dates
// only) is TestLettersAndLookupOverGateway's.
func TestJointHandling(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	p := startPlatform(t)
	cst := time.FixedZone("CST", 8*3600)
	regionPath := "regions/" + region
	taxClerk := p.token("tax", "wang", "clerk", "handler")
	office := p.token("tax", "zhou", "office")
	convenor := p.token("gov_office", "ren", "convenor")
	plc := p.token("plc", "hao", "platform")
	units := []struct{ id, token, staff string }{
		{"hrss", p.token("hrss", "liu", "handler"), "刘建平"},
		{"justice", p.token("justice", "sun", "handler"), "孙志刚"},
		{"finance", p.token("finance", "zhao", "handler"), "赵红梅"},
	}
	const late = "finance"

	// printed collects every page printed, checked for staff ids at the end.
	printed := map[string]string{}
	printPage := func(t *testing.T, what, path, token string, want ...string) string {
		t.Helper()
		code, page := p.page(path, token)
		if code != http.StatusOK {
			t.Fatalf("print %s: HTTP %d\n%s", what, code, page)
		}
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("%s lacks %q", what, w)
			}
		}
		printed[what] = page
		return page
	}
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
	worklist := func(t *testing.T, token, dept, view string) []map[string]any {
		t.Helper()
		code, resp := get(token, regionPath+"/departments/"+dept+"/worklist", url.Values{"view": {view}})
		if code != http.StatusOK {
			t.Fatalf("worklist %s %s: HTTP %d %v", dept, view, code, resp)
		}
		var out []map[string]any
		items, _ := resp["items"].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	line := func(items []map[string]any, name string) map[string]any {
		for _, it := range items {
			if it["dispute"] == name {
				return it
			}
		}
		return nil
	}
	tracking := func(t *testing.T, token, name string) map[string]any {
		t.Helper()
		code, resp := get(token, name+"/tracking", nil)
		if code != http.StatusOK {
			t.Fatalf("tracking of %s: HTTP %d %v", name, code, resp)
		}
		return resp["tracking"].(map[string]any)
	}
	// readsMasked waits until a guest reads the dispute and its tracking
	// (intake and routing learn their readers from routing's events, a
	// moment after the change) and checks that both show the claimant's
	// phone masked: the dispute's claimant, and the routing opinion of the
	// tracking's history, which quotes it.
	readsMasked := func(t *testing.T, who, token, name, phone string) {
		t.Helper()
		var resp, tr map[string]any
		eventually(t, who+" reads "+name, 15*time.Second, func() error {
			var code int
			if code, resp = get(token, name, nil); code != http.StatusOK {
				return fmt.Errorf("dispute: HTTP %d %v", code, resp)
			}
			if code, tr = get(token, name+"/tracking", nil); code != http.StatusOK {
				return fmt.Errorf("tracking: HTTP %d %v", code, tr)
			}
			return nil
		})
		masked := phone[:3] + "****" + phone[7:]
		claimant := fmt.Sprint(resp["dispute"].(map[string]any)["claimant"])
		if strings.Contains(claimant, phone) || !strings.Contains(claimant, masked) {
			t.Errorf("%s reads the claimant %s, want the phone masked", who, claimant)
		}
		if history := fmt.Sprint(tr["tracking"].(map[string]any)["history"]); strings.Contains(history, phone) || !strings.Contains(history, masked) {
			t.Errorf("%s reads the tracking's history %s, want the phone masked", who, history)
		}
	}
	// toOffice registers a dispute at tax's window, routes it to the office
	// and has the office sign its slip.
	toOffice := func(t *testing.T, requestID, phone string) string {
		t.Helper()
		reg := registration(requestID, phone)
		reg["dispute"].(map[string]any)["jurisdiction"] = "141181001"
		code, resp := post(taxClerk, regionPath+"/disputes", reg)
		if code != http.StatusOK {
			t.Fatalf("register: HTTP %d %v", code, resp)
		}
		name := resp["dispute"].(map[string]any)["name"].(string)
		eventually(t, "tax routes "+name+" to the office", 10*time.Second, func() error {
			code, resp := post(taxClerk, name+":route", map[string]any{
				"kind": "ROUTE_KIND_OFFICE", "opinion": "涉及多家单位集体欠费，需联席会议办公室梳理（反映人电话" + phone + "）", "reasonCode": "SEVERAL_DEPARTMENTS"})
			if code != http.StatusOK {
				return fmt.Errorf("route: HTTP %d %v", code, resp)
			}
			return nil
		})
		if code, resp := post(office, name+":receive", map[string]any{}); code != http.StatusOK {
			t.Fatalf("the office signs %s: HTTP %d %v", name, code, resp)
		}
		return name
	}
	triage := func(t *testing.T, name, class string) {
		t.Helper()
		eventually(t, "the office triages "+name, 10*time.Second, func() error {
			if code, resp := post(office, name+":triage", map[string]any{"class": class, "note": "梳理分类"}); code != http.StatusOK {
				return fmt.Errorf("triage: HTTP %d %v", code, resp)
			}
			return nil
		})
	}

	t.Run("general matter: slip, signature, meeting of three units, opinions overdue on the units' worklists, letter delivered", func(t *testing.T) {
		const phone = "13812340501"
		reg := registration("joint-general", phone)
		reg["dispute"].(map[string]any)["jurisdiction"] = "141181001"
		code, resp := post(taxClerk, regionPath+"/disputes", reg)
		if code != http.StatusOK {
			t.Fatalf("register: HTTP %d %v", code, resp)
		}
		name := resp["dispute"].(map[string]any)["name"].(string)
		printPage(t, "登记表", "/print/"+name+"/registration-form", taxClerk,
			"<th>登记人员</th><td>王小明</td>", "<th>首问责任人</th><td>王小明</td>", "<th>所属乡镇（街道）</th><td>新义街道</td>")

		var slip string
		eventually(t, "tax routes "+name+" to the office", 10*time.Second, func() error {
			code, resp := post(taxClerk, name+":route", map[string]any{
				"kind": "ROUTE_KIND_OFFICE", "opinion": "涉及税务、人社、财政多部门，需联席会议办公室协调（反映人电话" + phone + "）", "reasonCode": "SEVERAL_DEPARTMENTS"})
			if code != http.StatusOK {
				return fmt.Errorf("route: HTTP %d %v", code, resp)
			}
			slip = resp["slip"].(map[string]any)["number"].(string)
			return nil
		})
		// Before the office signs, the slip names who made it and no receiver.
		page := printPage(t, "流转单（待签收）", "/print/"+name+"/transfer-slip", taxClerk,
			"编号："+slip, "联席会议办公室", "<th>登记人员</th><td>王小明</td>", "<th>接收人</th><td></td>")
		if strings.Contains(page, "周丽萍") {
			t.Error("the slip names a receiver before the office signed")
		}
		if code, resp := post(office, name+":receive", map[string]any{}); code != http.StatusOK {
			t.Fatalf("the office signs: HTTP %d %v", code, resp)
		}
		printPage(t, "流转单", "/print/"+name+"/transfer-slip", office,
			"编号："+slip, "联席会议办公室", "<th>登记人员</th><td>王小明</td>", "<th>接收人</th><td>周丽萍</td>")
		triage(t, name, "MATTER_CLASS_GENERAL")

		// The meeting was held three weeks ago and is recorded now: its
		// opinions were due five working days after it, so every one still
		// owed is overdue.
		held := time.Now().In(cst).AddDate(0, 0, -21)
		code, resp = post(office, regionPath+"/meetings", map[string]any{
			"requestId": "joint-general-meeting",
			"meeting": map[string]any{"disputes": []string{name}, "invitedUnits": []string{"hrss", "justice", "finance"},
				"place": "市税务局三楼会议室", "agenda": "缴费基数争议联合处置", "startTime": held.UTC().Format(time.RFC3339)},
		})
		if code != http.StatusOK {
			t.Fatalf("convene: HTTP %d %v", code, resp)
		}
		meeting := resp["meeting"].(map[string]any)["name"].(string)

		for _, u := range units {
			eventually(t, u.id+" owes its opinion on "+name, 15*time.Second, func() error {
				it := line(worklist(t, u.token, u.id, "WORKLIST_VIEW_OPINIONS_OWED"), name)
				if it == nil || it["stage"] != "STAGE_OPINION" || it["dueTime"] == nil {
					return fmt.Errorf("opinions owed: %v", it)
				}
				return nil
			})
			readsMasked(t, u.id, u.token, name, phone)
		}
		// finance's opinion is overdue: on its overdue view, flagged, and
		// its Overdue raised by the deadline scanner.
		var overdue map[string]any
		eventually(t, "finance's opinion is overdue on its worklist", 15*time.Second, func() error {
			overdue = line(worklist(t, units[2].token, late, "WORKLIST_VIEW_OPINIONS_OVERDUE"), name)
			if overdue == nil || overdue["overdue"] != true {
				return fmt.Errorf("opinions overdue: %v", overdue)
			}
			return nil
		})
		due, err := time.Parse(time.RFC3339, overdue["dueTime"].(string))
		if err != nil || !due.Before(time.Now()) || due.Before(held) {
			t.Errorf("finance's opinion due %v (%v), want between the meeting %v and now", overdue["dueTime"], err, held)
		}
		if code, resp := get(units[0].token, regionPath+"/departments/"+late+"/worklist", url.Values{"view": {"WORKLIST_VIEW_OPINIONS_OVERDUE"}}); code != http.StatusForbidden {
			t.Errorf("hrss lists finance's overdue view: HTTP %d %v, want 403", code, resp)
		}
		eventually(t, "the dossier records finance's Overdue", 15*time.Second, func() error {
			code, resp := get(office, name+"/dossier", nil)
			if code != http.StatusOK {
				return fmt.Errorf("HTTP %d %v", code, resp)
			}
			for _, e := range resp["dossier"].(map[string]any)["events"].([]any) {
				ev := e.(map[string]any)
				if pl, _ := ev["payload"].(map[string]any); strings.HasSuffix(fmt.Sprint(ev["type"]), "routing.v1.Overdue") &&
					pl["department"] == late && pl["stage"] == "STAGE_OPINION" {
					return nil
				}
			}
			return fmt.Errorf("no Overdue of %s in the dossier", late)
		})

		// Each unit gives its written opinion, finance last: until it
		// does, its Overdue stays on its worklist alone.
		for i, u := range units {
			code, resp := post(u.token, meeting+"/opinions", map[string]any{"opinion": map[string]any{
				"dispute": name, "text": "书面意见：" + u.id + "部门对缴费基数核定无异议"}})
			if code != http.StatusOK {
				t.Fatalf("%s's opinion: HTTP %d %v", u.id, code, resp)
			}
			if i != 1 {
				continue
			}
			eventually(t, "hrss and justice have answered, finance still owes", 15*time.Second, func() error {
				for _, v := range units[:2] {
					if it := line(worklist(t, v.token, v.id, "WORKLIST_VIEW_OPINIONS_OVERDUE"), name); it != nil {
						return fmt.Errorf("%s still overdue: %v", v.id, it)
					}
				}
				if line(worklist(t, units[2].token, late, "WORKLIST_VIEW_OPINIONS_OVERDUE"), name) == nil {
					return fmt.Errorf("finance's Overdue left its worklist before its opinion")
				}
				return nil
			})
		}
		eventually(t, "routing records the three opinions", 15*time.Second, func() error {
			var got []string
			for _, i := range tracking(t, office, name)["invitations"].([]any) {
				inv := i.(map[string]any)
				if inv["submitTime"] == nil {
					return fmt.Errorf("%v owes", inv["unit"])
				}
				got = append(got, fmt.Sprintf("%v late:%v", inv["unit"], inv["late"]))
			}
			// Due five working days after the meeting three weeks ago:
			// every opinion came after it.
			slices.Sort(got)
			if want := []string{"finance late:true", "hrss late:true", "justice late:true"}; !slices.Equal(got, want) {
				return fmt.Errorf("invitations %v, want %v", got, want)
			}
			return nil
		})
		if it := line(worklist(t, units[2].token, late, "WORKLIST_VIEW_OPINIONS_OVERDUE"), name); it != nil {
			t.Errorf("finance's overdue view after its opinion: %v", it)
		}
		eventually(t, "the office awaits its decision on "+name, 15*time.Second, func() error {
			if line(worklist(t, office, "tax", "WORKLIST_VIEW_OFFICE_AWAITING_DECISION"), name) == nil {
				return fmt.Errorf("not awaiting the decision")
			}
			return nil
		})

		// The minutes name who attended, each unit's by the roster's name.
		attendees := []map[string]any{{"unit": "tax", "name": "周丽萍", "title": "联席会议办公室工作人员"}}
		present := []string{"周丽萍"}
		for _, u := range units {
			attendees = append(attendees, map[string]any{"unit": u.id, "name": u.staff})
			present = append(present, u.staff)
		}
		code, resp = post(office, meeting+":recordMinutes", map[string]any{"minutes": map[string]any{
			"text":      "会议听取了联席会议办公室的汇报，人社、司法、财政部门逐一发表意见。",
			"attendees": attendees,
			"decisions": []string{"由税务部门责令用人单位按实际工资补报缴费基数"},
		}})
		if code != http.StatusOK {
			t.Fatalf("record minutes: HTTP %d %v", code, resp)
		}
		printPage(t, "会议纪要", "/print/"+meeting+"/minutes", units[2].token,
			append(present, "社会保险费征缴争议联席会议纪要", chinaDate(t, held.Format("2006-01-02")))...)

		decision := map[string]any{"outcome": "责令补缴", "text": "经联席会议研究，用人单位应按实际工资补报缴费基数并补缴社会保险费。",
			"remedies": []string{"REMEDY_ADMINISTRATIVE_RECONSIDERATION", "REMEDY_ADMINISTRATIVE_LITIGATION"}}
		if code, resp := post(office, name+":decide", decision); code != http.StatusOK || resp["state"] != "DISPUTE_STATE_REPLIED" {
			t.Fatalf("decision: HTTP %d %v", code, resp)
		}
		eventually(t, "routing records the office's reply", 15*time.Second, func() error {
			if s := tracking(t, office, name)["state"]; s != "DISPUTE_STATE_REPLIED" {
				return fmt.Errorf("state %v", s)
			}
			return nil
		})
		// The units' part ended with the decision.
		for _, u := range units {
			if code, _ := get(u.token, name+"/tracking", nil); code != http.StatusNotFound {
				t.Errorf("%s reads the decided dispute: HTTP %d, want 404", u.id, code)
			}
		}

		delivered := time.Now().In(cst).Format("2006-01-02")
		code, resp = post(office, name+":recordDelivery", map[string]any{"method": "DELIVERY_METHOD_DIRECT", "deliveryDate": delivered, "recipient": "张三"})
		if code != http.StatusOK {
			t.Fatalf("delivery: HTTP %d %v", code, resp)
		}
		reply := resp["tracking"].(map[string]any)["reply"].(map[string]any)
		day, _ := time.ParseInLocation("2006-01-02", delivered, cst)
		var remedyLines []string
		for _, r := range reply["remedies"].([]any) {
			rd := r.(map[string]any)
			last, err := time.ParseInLocation("2006-01-02", fmt.Sprint(rd["lastDate"]), cst)
			if err != nil {
				t.Fatalf("remedy %v: %v", rd, err)
			}
			// The statutory period from the delivery, rolled forward past
			// days off (at most a fortnight); a month's end may come a few
			// days before Go's normalised AddDate (31 August + 6 months).
			from := map[string]time.Time{"REMEDY_ADMINISTRATIVE_RECONSIDERATION": day.AddDate(0, 0, 60),
				"REMEDY_ADMINISTRATIVE_LITIGATION": day.AddDate(0, 6, 0)}[rd["remedy"].(string)]
			if from.IsZero() || last.Before(from.AddDate(0, 0, -4)) || last.After(from.AddDate(0, 0, 14)) {
				t.Errorf("%v last date %s, want the period counted from the delivery on %s", rd["remedy"], rd["lastDate"], delivered)
			}
			remedyLines = append(remedyLines, "期限自送达之日起计算，最后一日为"+chinaDate(t, rd["lastDate"].(string)))
		}
		if len(remedyLines) != 2 {
			t.Fatalf("reply remedies %v", reply["remedies"])
		}
		page = printPage(t, "书面告知书（联席会议办公室）", "/print/"+name+"/reply", taxClerk, append(remedyLines,
			"孝义市社会保险费征缴争议联合处置工作联席会议办公室（盖章）", "本告知书于"+chinaDate(t, delivered)+"以直接送达方式送达")...)
		for _, not := range []string{"市税务局（盖章）", "书面意见", phone} {
			if strings.Contains(page, not) {
				t.Errorf("the decision letter shows %q", not)
			}
		}
	})

	t.Run("major matter: the convenor's approval, the platform's outcome", func(t *testing.T) {
		const phone = "13812340502"
		name := toOffice(t, "joint-major", phone)
		triage(t, name, "MATTER_CLASS_MAJOR")
		code, resp := post(office, regionPath+"/approvals", map[string]any{
			"dispute": name, "summary": "涉及多家单位集体欠费，拟纳入一站式矛盾纠纷调处平台"})
		if code != http.StatusOK {
			t.Fatalf("request approval: HTTP %d %v", code, resp)
		}
		approval := resp["approval"].(map[string]any)["name"].(string)

		// On the convenor's list of pending approvals and worklist.
		code, resp = get(convenor, regionPath+"/approvals", url.Values{"state": {"APPROVAL_STATE_PENDING"}})
		var pending []string
		for _, a := range resp["approvals"].([]any) {
			pending = append(pending, a.(map[string]any)["name"].(string))
		}
		if code != http.StatusOK || !slices.Contains(pending, approval) {
			t.Fatalf("the convenor's pending approvals: HTTP %d %v, want %s", code, resp, approval)
		}
		eventually(t, "the convenor's worklist shows the approval", 15*time.Second, func() error {
			it := line(worklist(t, convenor, "gov_office", "WORKLIST_VIEW_APPROVALS_PENDING"), name)
			if it == nil || it["stage"] != "STAGE_APPROVAL" || it["dueTime"] == nil || it["overdue"] == true {
				return fmt.Errorf("approvals pending: %v", it)
			}
			return nil
		})
		// The platform reads nothing before the approval.
		if code, _ := get(plc, name+"/tracking", nil); code != http.StatusNotFound {
			t.Errorf("the platform reads the matter before the approval: HTTP %d, want 404", code)
		}

		code, resp = post(convenor, approval+":decide", map[string]any{"approve": true, "comment": "同意纳入平台"})
		if code != http.StatusOK || resp["approval"].(map[string]any)["approved"] != true {
			t.Fatalf("the convenor approves: HTTP %d %v", code, resp)
		}
		eventually(t, "the matter is on the platform's worklist", 15*time.Second, func() error {
			it := line(worklist(t, plc, "plc", "WORKLIST_VIEW_PLATFORM"), name)
			if it == nil || it["stage"] != "STAGE_PLATFORM" || it["dueTime"] == nil {
				return fmt.Errorf("platform: %v", it)
			}
			return nil
		})
		if it := line(worklist(t, convenor, "gov_office", "WORKLIST_VIEW_APPROVALS_PENDING"), name); it != nil {
			t.Errorf("still pending after the approval: %v", it)
		}
		readsMasked(t, "the platform", plc, name, phone)

		code, resp = post(plc, name+":platformOutcome", map[string]any{
			"outcome": "调解成功", "text": "经一站式矛盾纠纷调处平台调解，双方达成分期补缴协议。",
			"remedies": []string{"REMEDY_ADMINISTRATIVE_LITIGATION"}})
		if code != http.StatusOK || resp["state"] != "DISPUTE_STATE_REPLIED" {
			t.Fatalf("platform outcome: HTTP %d %v", code, resp)
		}
		eventually(t, "routing records the platform's reply", 15*time.Second, func() error {
			tr := tracking(t, taxClerk, name)
			reply, _ := tr["reply"].(map[string]any)
			if tr["state"] != "DISPUTE_STATE_REPLIED" || reply == nil || reply["outcome"] != "调解成功" {
				return fmt.Errorf("state %v, reply %v", tr["state"], reply)
			}
			return nil
		})
		// The platform's part ended with its outcome; the registering
		// unit still reads what it passed on, and prints the reply.
		if code, _ := get(plc, name+"/tracking", nil); code != http.StatusNotFound {
			t.Errorf("the platform reads the matter after its outcome: HTTP %d, want 404", code)
		}
		printPage(t, "书面告知书（调处平台）", "/print/"+name+"/reply", taxClerk,
			"中共孝义市委政法委员会一站式矛盾纠纷调处平台", "经一站式矛盾纠纷调处平台调解，双方达成分期补缴协议。", "管辖法院为孝义市人民法院")
	})

	t.Run("printed forms show names, never staff ids", func(t *testing.T) {
		if len(printed) < 5 {
			t.Fatalf("only %d pages printed", len(printed))
		}
		ids := rosterStaffIDs(t)
		for what, page := range printed {
			text := pageText(page)
			for _, id := range ids {
				if regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(id) + `($|[^A-Za-z0-9_])`).MatchString(text) {
					t.Errorf("%s prints the staff id %q", what, id)
				}
			}
		}
	})
}
