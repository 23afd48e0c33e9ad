package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// lookupPage posts the claimant's lookup form and returns status, the
// Retry-After header and the page.
func (p *platform) lookupPage(number, code string) (int, string, string) {
	p.t.Helper()
	form := url.Values{"region": {region}, "number": {number}, "code": {code}}
	resp, err := http.PostForm(p.gateway+"/lookup", form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// chinaDate writes "2026-05-25" as the letters do: "2026年5月25日".
func chinaDate(t *testing.T, iso string) string {
	t.Helper()
	d, err := time.Parse("2006-01-02", iso)
	if err != nil {
		t.Fatalf("date %q: %v", iso, err)
	}
	return fmt.Sprintf("%d年%d月%d日", d.Year(), d.Month(), d.Day())
}

// TestLettersAndLookupOverGateway: the window form prints complete; the
// reply recorded, then its delivery, the printed letter states the remedy
// dates counted from the delivery, the reconsideration body and the court
// from the region's legal data, the statutes in full and no internal note;
// the extension is approved by the unit's head and noticed to the claimant;
// the claimant's lookup gets nothing with a wrong code and state and dates
// only with the right one, and is limited after wrong codes.
func TestLettersAndLookupOverGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	p := startPlatform(t)
	clerk := p.token("tax", "wang", "clerk", "handler")
	head := p.token("tax", "wangxj", "head")
	office := p.token("gov_office", "chen", "office")
	china := time.FixedZone("CST", 8*3600)

	body := registration("letters-1", "13812340077")
	d := body["dispute"].(map[string]any)
	d["visitTime"] = time.Now().Add(-30 * time.Minute).UTC().Format(time.RFC3339)
	d["deliveryAddress"] = "孝义市新义街道府前街1号"
	d["employerName"] = "孝义市某煤业有限公司"
	d["employerCreditCode"] = "91350100M000100Y43"
	code, resp := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", clerk, body)
	if code != http.StatusOK {
		t.Fatalf("register: HTTP %d %v", code, resp)
	}
	reg := resp["dispute"].(map[string]any)
	name, number, lookupCode := reg["name"].(string), reg["number"].(string), reg["lookupCode"].(string)

	code, html := p.page("/print/"+name+"/registration-form", clerk)
	if code != http.StatusOK {
		t.Fatalf("registration form: HTTP %d", code)
	}
	for _, want := range []string{"来访时间", "送达地址", "孝义市新义街道府前街1号", "孝义市某煤业有限公司", "91350100M000100Y43"} {
		if !strings.Contains(html, want) {
			t.Errorf("registration form lacks %q", want)
		}
	}

	call := func(token, verb string, body map[string]any) map[string]any {
		t.Helper()
		var code int
		var resp map[string]any
		eventually(t, verb+" "+name, 20*time.Second, func() error {
			code, resp = p.httpJSON("POST", "/v1/"+name+":"+verb, token, body)
			if code == http.StatusServiceUnavailable {
				return fmt.Errorf("HTTP %d %v", code, resp)
			}
			return nil
		})
		if code != http.StatusOK {
			t.Fatalf("%s: HTTP %d %v", verb, code, resp)
		}
		return resp
	}
	call(clerk, "route", map[string]any{"kind": "ROUTE_KIND_SELF", "opinion": "属本局职责", "reasonCode": "OWN_DUTY"})
	call(clerk, "addNote", map[string]any{"text": "内部进展：已约谈用人单位财务负责人"})

	// The extension: asked by the handler, refused to the office, approved by the unit's head.
	call(clerk, "requestExtension", map[string]any{"days": 20, "reason": "需调取用人单位近三年工资台账"})
	if code, resp := p.httpJSON("POST", "/v1/"+name+":decideExtension", office, map[string]any{"approve": true}); code != http.StatusForbidden {
		t.Errorf("the office deciding the extension: HTTP %d %v, want 403", code, resp)
	}
	// A head token of a staff member the roster does not list as tax's head.
	if code, resp := p.httpJSON("POST", "/v1/"+name+":decideExtension", p.token("tax", "qian", "head"), map[string]any{"approve": true}); code != http.StatusForbidden {
		t.Errorf("a head not in the roster deciding the extension: HTTP %d %v, want 403", code, resp)
	}
	call(head, "decideExtension", map[string]any{"approve": true, "comment": "内部意见：同意，抓紧办理"})
	code, html = p.page("/print/"+name+"/extension-notice", clerk)
	if code != http.StatusOK {
		t.Fatalf("extension notice: HTTP %d\n%s", code, html)
	}
	for _, want := range []string{"延期办理告知书", number, "因需调取用人单位近三年工资台账", "《信访工作条例》第三十二条", "延长20日", "市税务局（盖章）"} {
		if !strings.Contains(html, want) {
			t.Errorf("extension notice lacks %q", want)
		}
	}
	if strings.Contains(html, "内部意见") {
		t.Error("the extension notice prints the head's internal comment")
	}

	call(clerk, "reply", map[string]any{"outcome": "已责成用人单位按实际工资补报缴费基数", "text": "经核查，情况属实。",
		"remedies": []string{"REMEDY_ADMINISTRATIVE_RECONSIDERATION", "REMEDY_ADMINISTRATIVE_LITIGATION"}})

	code, html = p.page("/print/"+name+"/reply", clerk)
	if code != http.StatusOK {
		t.Fatalf("letter before delivery: HTTP %d", code)
	}
	for _, want := range []string{"<li>行政复议：自收到本告知书之日起六十日内申请行政复议，复议机关为国家税务总局吕梁市税务局", "管辖法院为孝义市人民法院", "《中华人民共和国行政复议法》第二十条",
		"《中华人民共和国行政诉讼法》第四十六条", "上述期限自您收到本告知书之日起计算", "市税务局（盖章）"} {
		if !strings.Contains(html, want) {
			t.Errorf("letter before delivery lacks %q", want)
		}
	}
	if strings.Contains(html, "最后一日") {
		t.Error("the letter states last dates before the delivery is recorded")
	}

	today := time.Now().In(china).Format("2006-01-02")
	resp = call(clerk, "recordDelivery", map[string]any{"method": "DELIVERY_METHOD_DIRECT", "deliveryDate": today, "recipient": "张三"})
	reply := resp["tracking"].(map[string]any)["reply"].(map[string]any)
	if dl := reply["delivery"].(map[string]any); dl["deliveryDate"] != today {
		t.Fatalf("delivery %v", dl)
	}
	if code, _ := p.httpJSON("POST", "/v1/"+name+":recordDelivery", clerk, map[string]any{"method": "DELIVERY_METHOD_MAIL", "deliveryDate": today}); code != http.StatusBadRequest {
		t.Errorf("a second delivery: HTTP %d, want 400 (failed precondition)", code)
	}
	code, html = p.page("/print/"+name+"/reply", clerk)
	if code != http.StatusOK {
		t.Fatalf("letter after delivery: HTTP %d", code)
	}
	for _, r := range reply["remedies"].([]any) {
		rd := r.(map[string]any)
		want := "期限自送达之日起计算，最后一日为" + chinaDate(t, rd["lastDate"].(string))
		if !strings.Contains(html, want) {
			t.Errorf("letter lacks %q for %v", want, rd["remedy"])
		}
	}
	for _, want := range []string{"本告知书于" + chinaDate(t, today) + "以直接送达方式送达"} {
		if !strings.Contains(html, want) {
			t.Errorf("letter lacks %q", want)
		}
	}
	for _, not := range []string{"内部进展", "内部意见", "属本局职责", "13812340077"} {
		if strings.Contains(html, not) {
			t.Errorf("the claimant's letter shows %q", not)
		}
	}

	// The claimant's lookup: a wrong code gets the page of a missing number.
	code, _, page := p.lookupPage(number, "WRONG234")
	if code != http.StatusNotFound || strings.Contains(page, "办理环节") {
		t.Fatalf("wrong code: HTTP %d\n%s", code, page)
	}
	code, _, missing := p.lookupPage("2026年第99999号", "WRONG234")
	if code != http.StatusNotFound || strings.Replace(missing, "2026年第99999号", number, 1) != page {
		t.Errorf("a missing number is answered differently from a wrong code: HTTP %d", code)
	}
	// Intake learns the stages from routing's events, a moment after each change.
	eventually(t, "the lookup shows the reply", 20*time.Second, func() error {
		code, _, page = p.lookupPage(number, strings.ToLower(lookupCode))
		if code != http.StatusOK || !strings.Contains(page, "已书面告知处理结果") {
			return fmt.Errorf("HTTP %d\n%s", code, page)
		}
		return nil
	})
	for _, want := range []string{"编号：" + number, "已书面告知处理结果", "已登记，待分类流转", "办理中"} {
		if !strings.Contains(page, want) {
			t.Errorf("lookup lacks %q", want)
		}
	}
	for _, not := range []string{"张三", "13812340077", "单位未按实际工资申报缴费基数", "孝义市某煤业有限公司", "府前街"} {
		if strings.Contains(page, not) {
			t.Errorf("lookup shows %q", not)
		}
	}

	// The 12345 system calls gRPC with no token.
	anon := intakev1.NewIntakeServiceClient(p.conn("intake", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := anon.LookupDispute(ctx, &intakev1.LookupDisputeRequest{Name: name, LookupCode: lookupCode})
	if err != nil || got.GetState() != typesv1.DisputeState_DISPUTE_STATE_REPLIED || len(got.GetStages()) < 3 {
		t.Fatalf("gRPC lookup: %v, %v", got, err)
	}

	// The console's registration form carries the employer: three open
	// disputes against one employer raise the same-employer warning.
	var warned bool
	for i := range 3 {
		body := registration(fmt.Sprintf("letters-employer-%d", i), fmt.Sprintf("1381234010%d", i))
		body["dispute"].(map[string]any)["employerName"] = "孝义市另一煤业有限公司"
		body["dispute"].(map[string]any)["employerCreditCode"] = "91141181MA0K2XXX0E"
		code, resp := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", clerk, body)
		if code != http.StatusOK {
			t.Fatalf("register against the employer: HTTP %d %v", code, resp)
		}
		warned, _ = resp["massDisputeWarning"].(bool)
		if i < 2 && warned {
			t.Fatalf("warning raised by dispute %d of 3", i+1)
		}
	}
	if !warned {
		t.Error("the third open dispute against one employer raised no mass-dispute warning")
	}

	// Wrong codes lock the number: the fifth one, then even the right code gets 429.
	for range 4 {
		if code, _, _ := p.lookupPage(number, "WRONG234"); code != http.StatusNotFound {
			t.Fatalf("wrong code: HTTP %d", code)
		}
	}
	code, retry, page := p.lookupPage(number, lookupCode)
	if code != http.StatusTooManyRequests || retry == "" || strings.Contains(page, "办理环节") {
		t.Fatalf("after five wrong codes: HTTP %d, Retry-After %q", code, retry)
	}
}
