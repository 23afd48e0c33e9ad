package e2e

// The staff console in a real browser: Debian's chromium, headless, driven
// over the DevTools protocol (chromedp) against the real binaries. Each
// step is done as the person whose work it is, in the console only, and
// leaves a screenshot in the artifacts folder ($DISPUTES_ARTIFACTS, or a
// folder under the system's temp dir, named in the log). A step fails on
// any script error on the page, any failed request that is not an expected
// refusal, and any staff id, enum name or English error text on screen.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is one headless chromium with one tab on the console.
type browser struct {
	t         *testing.T
	p         *platform
	ctx       context.Context
	artifacts string
	step      int

	mu       sync.Mutex
	problems []string
	expected map[string]bool // "METHOD status path-suffix" of refusals a step expects
	methods  map[network.RequestID]string
	requests []string // "METHOD URL" of every request the page sent, in order
}

func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: the console's browser tests need Debian's chromium " +
		"(apt-get install chromium; scripts/deps.sh and .ci/run install it)")
	return ""
}

func newBrowser(t *testing.T, p *platform) *browser {
	t.Helper()
	exe := chromiumPath(t)
	dir := os.Getenv("DISPUTES_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "disputes-console-"); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 1000),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")))
	b := &browser{t: t, p: p, artifacts: dir, expected: map[string]bool{}, methods: map[network.RequestID]string{}}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	b.ctx = ctx
	if err := chromedp.Do(ctx, chromedp.Navigate(p.gateway+"/")); err != nil {
		t.Fatalf("open the console: %v", err)
	}
	return b
}

// listen records what a step must fail on.
func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if ex := e.ExceptionDetails.Exception; ex != nil {
			msg += " " + ex.Description
		}
		b.problems = append(b.problems, "script error: "+msg)
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			b.problems = append(b.problems, "console error")
		}
	case *network.EventRequestWillBeSent:
		b.methods[e.RequestID] = e.Request.Method
		b.requests = append(b.requests, e.Request.Method+" "+e.Request.URL)
	case *network.EventResponseReceived:
		if e.Response.Status >= 400 {
			key := fmt.Sprintf("%s %d %s", b.methods[e.RequestID], e.Response.Status, e.Response.URL)
			if !b.isExpected(key) {
				b.problems = append(b.problems, "failed request: "+key)
			}
		}
	case *network.EventLoadingFailed:
		if !e.Canceled {
			b.problems = append(b.problems, "request failed to load: "+e.ErrorText)
		}
	}
}

func (b *browser) isExpected(key string) bool {
	for k := range b.expected {
		if strings.HasPrefix(key, strings.SplitN(k, " ", 3)[0]+" "+strings.SplitN(k, " ", 3)[1]+" ") && strings.HasSuffix(key, strings.SplitN(k, " ", 3)[2]) {
			return true
		}
	}
	return false
}

// evalAsync evaluates expr, a promise of a string, into out.
func (b *browser) evalAsync(what, expr string, out *string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	var err error
	if *out, err = chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise)); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// run runs actions with a generous deadline (the machine is shared).
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + what)
		b.t.Fatalf("%s: %v", what, err)
	}
}

// waitJS waits until the expression is true.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		b.shot("failed-" + what)
		var page string
		b.eval("page on failure", `document.body.innerText`, &page)
		b.mu.Lock()
		problems := strings.Join(b.problems, "\n")
		b.mu.Unlock()
		b.t.Fatalf("%s: %v\npage:\n%s\nproblems:\n%s", what, err, page, problems)
	}
}

// eval evaluates expr into out (a *string or *bool).
func (b *browser) eval(what, expr string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	var err error
	switch o := out.(type) {
	case *string:
		*o, err = chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	case *bool:
		*o, err = chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
	default:
		b.t.Fatalf("eval into %T", out)
	}
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.step++
	os.WriteFile(filepath.Join(b.artifacts, fmt.Sprintf("%02d-%s.png", b.step, name)), buf, 0o644)
}

var (
	enumRE    = regexp.MustCompile(`\b[A-Z][A-Z0-9]+_[A-Z0-9_]+\b`)
	englishRE = regexp.MustCompile(`(?i)\b(error|invalid|failed|denied|not found|unauthenticated|permission|undefined|null|NaN|object|HTTP|must|required|expired|token)\b`)
)

// staffIDs are the roster's staff ids: none may show on a page.
var staffIDs = []string{"wang", "qian", "li", "zhou", "admin", "ren", "hao", "plc_clerk", "liu", "zhao", "sun", "lei", "huo"}

// check takes the step's screenshot and fails on what the page must not
// show or have done.
func (b *browser) check(step string) {
	b.t.Helper()
	b.shot(step)
	var text string
	b.eval("read page", `document.body.innerText`, &text)
	for _, id := range staffIDs {
		if regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(id) + `($|[^A-Za-z0-9_])`).MatchString(text) {
			b.t.Errorf("%s: staff id %q on the page:\n%s", step, id, text)
		}
	}
	if m := enumRE.FindString(text); m != "" {
		b.t.Errorf("%s: enum name %q on the page:\n%s", step, m, text)
	}
	if m := englishRE.FindString(text); m != "" {
		b.t.Errorf("%s: English %q on the page:\n%s", step, m, text)
	}
	b.mu.Lock()
	problems := b.problems
	b.problems = nil
	b.mu.Unlock()
	for _, p := range problems {
		b.t.Errorf("%s: %s", step, p)
	}
}

func (b *browser) click(what, sel string) {
	b.t.Helper()
	b.run(what, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// setValue sets a form control's value and tells the page it changed.
func (b *browser) setValue(sel, value string) {
	b.t.Helper()
	var got string
	b.eval("set "+sel, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return e.value; })()`, sel, value), &got)
	if got != value {
		b.t.Fatalf("%s: value %q, want %q", sel, got, value)
	}
}

func (b *browser) signIn(unit, staff, displayName string) {
	b.t.Helper()
	b.waitJS("sign-in page", `!document.querySelector("#login-dev").hidden && document.querySelector("#login-unit").options.length > 0`)
	b.setValue("#login-unit", unit)
	b.setValue("#login-staff", staff)
	b.click("sign in", "#login-go")
	b.waitJS("signed in as "+displayName, fmt.Sprintf(`document.querySelector("#who-text").textContent.includes(%q)`, displayName))
	b.check("signed-in-" + unit + "-" + staff)
}

func (b *browser) signOut() {
	b.t.Helper()
	b.click("sign out", "#signout")
	b.waitJS("back on the sign-in page", `!document.querySelector("#page-login").hidden && document.querySelector("#who-text").textContent === "未登录"`)
	b.check("signed-out")
}

// open looks a dispute up by the number as staff write it.
func (b *browser) open(number string) {
	b.t.Helper()
	b.click("lookup page", `nav button[data-page="lookup"]`)
	b.setValue("#lookup-id", number)
	b.click("lookup", "#lookup-go")
	b.waitJS("dispute shown", `!document.querySelector("#tracking-view").hidden && document.querySelector("#dispute-summary").children.length > 0 && document.querySelector("#dossier").children.length > 0`)
}

// act opens the action labelled label, fills it and submits it.
func (b *browser) act(label string, fill func()) {
	b.t.Helper()
	b.waitJS("action "+label+" offered", fmt.Sprintf(`[...document.querySelectorAll("#action-buttons button")].some(x => x.textContent === %q)`, label))
	var ok bool
	b.eval("open "+label, fmt.Sprintf(`(() => { [...document.querySelectorAll("#action-buttons button")].find(x => x.textContent === %q).click(); return true; })()`, label), &ok)
	if fill != nil {
		fill()
	}
	b.eval("submit "+label, `(() => { const f = [...document.querySelectorAll(".action-form")].find(f => !f.hidden);
		const c = f.querySelector("[name=confirm]"); if (c) c.checked = true;
		f.querySelector("button[type=submit]").click(); return true; })()`, &ok)
	b.waitJS(label+" done", fmt.Sprintf(`document.querySelector("#action-result").textContent.startsWith(%q)`, label+"已"))
}

func (b *browser) state() string {
	var s string
	b.eval("state", `document.querySelector("#tracking-summary .state")?.textContent || ""`, &s)
	return s
}

// endSessionElsewhere ends the browser's session on the gateway, as its
// idle timeout would, leaving the cookie in the browser.
func (b *browser) endSessionElsewhere() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		b.t.Fatal(err)
	}
	var csrf string
	b.eval("csrf token", `me.csrfToken`, &csrf)
	req, _ := http.NewRequest(http.MethodPost, b.p.gateway+"/auth/signout", nil)
	req.Header.Set("X-CSRF-Token", csrf)
	for _, c := range res.Cookies {
		if c.Name == "disputes-session" {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				b.t.Errorf("session cookie %+v: want HttpOnly and SameSite=Strict", c)
			}
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b.t.Fatalf("ending the session: HTTP %d", resp.StatusCode)
	}
}

// waitReadable waits, over the API, until routing and the archive have
// taken the registration in, so the console's first look finds both.
func waitReadable(t *testing.T, p *platform, id string) {
	tok := p.token("tax", "wang", "clerk", "handler")
	for _, path := range []string{"/tracking", "/dossier"} {
		eventually(t, "dispute "+id+path, 60*time.Second, func() error {
			code, body := p.httpJSON(http.MethodGet, "/v1/regions/"+region+"/disputes/"+id+path, tok, nil)
			if code != http.StatusOK {
				return fmt.Errorf("HTTP %d %v", code, body)
			}
			return nil
		})
	}
}

func TestConsoleTransferFromRegistrationToClosing(t *testing.T) {
	p := startPlatform(t)
	b := newBrowser(t, p)
	b.check("sign-in-page")

	// The tax clerk registers a benefits dispute; the roster proposes hrss.
	b.signIn("tax", "wang", "王小明")
	b.click("register page", `nav button[data-page="register"]`)
	b.setValue(`#register-form [name=name]`, "张三丰")
	b.setValue(`#register-form [name=phone]`, "13812345678")
	b.setValue(`#register-form [name=complaint]`, "单位未按规定核定养老保险待遇")
	b.setValue(`#category`, "CATEGORY_BENEFITS")
	b.check("registration-filled")

	// A complaint of spaces only is refused beside the field, in Chinese.
	b.setValue(`#register-form [name=complaint]`, "   ")
	b.expected["POST 400 /v1/regions/"+region+"/disputes"] = true
	b.click("register blank", `#register-form button[type=submit]`)
	b.waitJS("blank complaint refused", `document.querySelector("#register-result").textContent.startsWith("登记失败") &&
		!!document.querySelector("#register-form [name=complaint] + .field-error")`)
	var beside string
	b.eval("field error", `document.querySelector("#register-form [name=complaint] + .field-error").textContent`, &beside)
	if !strings.Contains(beside, "诉求反映具体情况") {
		t.Errorf("beside the complaint: %q", beside)
	}
	b.check("blank-complaint-refused")
	delete(b.expected, "POST 400 /v1/regions/"+region+"/disputes")

	b.setValue(`#register-form [name=complaint]`, "单位未按规定核定养老保险待遇")
	b.click("register", `#register-form button[type=submit]`)
	b.waitJS("registered", `document.querySelector("#register-result").textContent.startsWith("登记成功")`)
	var id, leftName string
	b.eval("new number", `lastRegistered`, &id)
	b.eval("form cleared", `document.querySelector("#register-form [name=name]").value + document.querySelector("#register-form [name=complaint]").value`, &leftName)
	if leftName != "" {
		t.Errorf("registration form not cleared after success: %q", leftName)
	}
	b.check("registered")
	year, seq, _ := strings.Cut(id, "-")
	waitReadable(t, p, id)

	// The clerk routes it; the target defaults to the proposed unit.
	b.open(year + "年第" + seq + "号")
	var shown string
	b.eval("dispute shown", `document.querySelector("#dispute-summary").innerText`, &shown)
	if !strings.Contains(shown, "张三丰") || !strings.Contains(shown, "单位未按规定核定养老保险待遇") || !strings.Contains(shown, "王小明") {
		t.Errorf("the dispute's page lacks the claimant, complaint or registering person:\n%s", shown)
	}
	b.check("dispute-page-tax")
	b.act("流转", func() {
		var target, kind string
		b.eval("route target", `document.querySelector("#act-route [name=targetDepartment]").value`, &target)
		b.eval("route kind", `document.querySelector("#act-route [name=kind]").value`, &kind)
		if target != "hrss" || kind != "ROUTE_KIND_TRANSFER" {
			t.Errorf("route form defaults: kind %s target %s, want a transfer to hrss", kind, target)
		}
		b.setValue(`#act-route [name=opinion]`, "属人社部门职责，请签收办理")
		b.check("route-form")
	})
	b.waitJS("transferred", `document.querySelector("#tracking-summary .state").textContent === "已流转"`)
	b.check("routed")
	b.signOut()

	// The hrss handler receives, replies and closes.
	b.signIn("hrss", "liu", "刘建平")
	// hrss's worklist shows the transfer with its claimant and a summary.
	b.waitJS("worklist row with claimant", `[...document.querySelectorAll("#worklist tbody tr")].some(r => r.innerText.includes("张三丰") && r.innerText.includes("单位未按规定核定养老保险待遇"))`)
	b.check("worklist-hrss")
	b.click("list page", `nav button[data-page="list"]`)
	b.waitJS("list loaded", `document.querySelectorAll("#list tbody tr").length > 0`)
	b.setValue("#list-search", "无此人")
	b.waitJS("search hides rows", `[...document.querySelectorAll("#list tbody tr")].every(r => r.hidden) && !document.querySelector("#list-empty").hidden`)
	b.setValue("#list-search", "张三丰")
	b.waitJS("search finds the claimant", `[...document.querySelectorAll("#list tbody tr")].some(r => !r.hidden)`)
	b.check("list-search")
	b.open(seq)
	b.act("签收", nil)
	b.waitJS("handling", `document.querySelector("#tracking-summary .state").textContent === "办理中"`)
	b.check("received")
	b.act("书面告知", func() {
		b.setValue(`#act-reply [name=outcome]`, "已重新核定待遇")
		b.setValue(`#act-reply [name=text]`, "经核查，已按规定重新核定您的养老保险待遇。")
		b.check("reply-form")
	})
	b.waitJS("replied", `document.querySelector("#tracking-summary .state").textContent === "已书面告知"`)
	b.waitJS("no delivery yet", `document.querySelector("#reply-summary").innerText.includes("尚未记录送达")`)
	b.check("replied")
	// The reply is handed over; the remedies' last dates count from it.
	b.act("送达", func() {
		var date string
		b.eval("delivery date", `document.querySelector("#act-deliver [name=deliveryDate]").value`, &date)
		if !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(date) {
			t.Errorf("delivery date not prefilled with today: %q", date)
		}
		b.setValue(`#act-deliver [name=method]`, "DELIVERY_METHOD_DIRECT")
		b.setValue(`#act-deliver [name=recipient]`, "张三丰")
		b.check("delivery-form")
	})
	b.waitJS("delivery shown", `document.querySelector("#reply-summary").innerText.includes("直接送达") &&
		document.querySelector("#reply-summary").innerText.includes("签收人：张三丰")`)
	var remedies string
	b.eval("remedies", `document.querySelector("#remedies tbody").innerText`, &remedies)
	if !regexp.MustCompile(`\d{4}年\d{1,2}月\d{1,2}日`).MatchString(remedies) || !strings.Contains(remedies, "行政复议") {
		t.Errorf("remedies after delivery lack their last dates:\n%s", remedies)
	}
	b.check("delivered")
	b.act("办结", func() { b.setValue(`#act-close [name=reason]`, "诉求已解决") })
	b.waitJS("closed", `document.querySelector("#tracking-summary .state").textContent === "已办结"`)
	var history string
	b.eval("history", `document.querySelector("#history").innerText + document.querySelector("#dossier").innerText`, &history)
	for _, want := range []string{"登记", "流转", "签收", "书面告知", "送达", "办结", "王小明", "刘建平"} {
		if !strings.Contains(history, want) {
			t.Errorf("history and dossier lack %q:\n%s", want, history)
		}
	}
	b.check("closed")

	// Once sealed, the dispute's page says 已归档 and checks the seal: the
	// inclusion proof against the archive's checkpoint, and the bundle.
	hrss := p.token("hrss", "liu", "clerk", "handler")
	eventually(t, "the closed dossier is sealed", 60*time.Second, func() error {
		code, body := p.httpJSON(http.MethodGet, "/v1/regions/"+region+"/disputes/"+id+"/dossier", hrss, nil)
		if code != http.StatusOK || body["dossier"].(map[string]any)["sealed"] != true {
			return fmt.Errorf("HTTP %d, not sealed yet", code)
		}
		return nil
	})
	b.open(seq)
	b.waitJS("seal verified", `!document.querySelector("#seal-block").hidden && document.querySelector("#archived").textContent === "已归档" &&
		document.querySelector("#seal-summary").innerText.includes("已验证")`)
	var bundle string
	b.evalAsync("proof bundle", `proofBundle()`, &bundle)
	if !strings.Contains(bundle, "regions/"+region+"/disputes/"+id) || !strings.Contains(bundle, "checkpoint") {
		t.Errorf("the proof bundle lacks the dossier or its checkpoint: %.300s", bundle)
	}
	b.check("archived")

	// The session ends on the server (as at its idle timeout); the next
	// request returns the page to sign-in with a Chinese message.
	b.endSessionElsewhere()
	b.expected["GET 401 /worklist?pageSize=50&dueWithinDays=3"] = true
	b.click("worklist page", `nav button[data-page="worklist"]`)
	b.waitJS("back to sign-in on an ended session", `!document.querySelector("#page-login").hidden &&
		document.querySelector("#login-message").textContent === "登录已过期，请重新登录。"`)
	b.check("session-ended")
	b.expected = map[string]bool{}

	// The next person on this browser sees nothing of the last.
	b.signIn("justice", "sun", "孙志刚")
	var leftover string
	b.eval("leftovers", `document.body.innerText + "|" + [...document.querySelectorAll("input, textarea, select")].map(e => e.value).join("|") +
		"|" + localStorage.length + "|" + sessionStorage.length + "|" + document.cookie`, &leftover)
	for _, personal := range []string{"张三丰", "13812345678", "养老保险待遇", "刘建平", seq + "号"} {
		if strings.Contains(leftover, personal) {
			t.Errorf("the next user sees %q of the last one:\n%s", personal, leftover)
		}
	}
	if !strings.HasSuffix(leftover, "|0|0|") {
		t.Errorf("storage or script-readable cookies hold something: %q", leftover[max(0, len(leftover)-40):])
	}
	b.check("next-user")
}

// personalOnPage returns what of the given strings the page still holds:
// in its text, in any form control's value, or in storage.
func (b *browser) personalOnPage(personal ...string) []string {
	b.t.Helper()
	var all string
	b.eval("page contents", `document.body.innerText + "|" + [...document.querySelectorAll("input, textarea, select")].map(e => e.value).join("|") +
		"|" + JSON.stringify(Object.assign({}, localStorage)) + JSON.stringify(Object.assign({}, sessionStorage)) + "|" + document.cookie`, &all)
	var found []string
	for _, s := range personal {
		if strings.Contains(all, s) {
			found = append(found, s)
		}
	}
	return found
}

func TestConsoleTwoUsersOnOneBrowser(t *testing.T) {
	p := startPlatform(t)
	b := newBrowser(t, p)

	// The tax clerk registers one dispute, looks at it, then starts a
	// second form and leaves it half filled.
	b.signIn("tax", "wang", "王小明")
	b.click("register page", `nav button[data-page="register"]`)
	b.setValue(`#register-form [name=name]`, "李四海")
	b.setValue(`#register-form [name=phone]`, "13987654321")
	b.setValue(`#register-form [name=complaint]`, "单位少缴失业保险费")
	b.click("register", `#register-form button[type=submit]`)
	b.waitJS("registered", `document.querySelector("#register-result").textContent.startsWith("登记成功")`)
	var id string
	b.eval("new number", `lastRegistered`, &id)
	waitReadable(t, p, id)
	b.open(id)
	b.check("first-user-dispute")
	b.click("register page", `nav button[data-page="register"]`)
	b.setValue(`#register-form [name=name]`, "王五岳")
	b.setValue(`#register-form [name=phone]`, "13700001111")
	b.setValue(`#register-form [name=complaint]`, "滞纳金计算有误")
	b.check("first-user-half-filled")

	personal := []string{"李四海", "13987654321", "单位少缴失业保险费", "王五岳", "13700001111", "滞纳金计算有误", "王小明"}
	b.signOut()
	if left := b.personalOnPage(personal[:6]...); len(left) > 0 {
		t.Errorf("after sign-out the page still holds %q", left)
	}

	// The next person, of another unit, starts from nothing.
	b.signIn("hrss", "liu", "刘建平")
	for _, page := range []string{"register", "lookup", "list", "worklist"} {
		b.click(page+" page", `nav button[data-page="`+page+`"]`)
		if left := b.personalOnPage(personal...); len(left) > 0 {
			t.Errorf("the next user sees %q of the last one on the %s page", left, page)
		}
	}
	var unit string
	b.eval("registering unit", `document.querySelector("#reg-dept-name").textContent`, &unit)
	if unit != "市人社局（医保局）" {
		t.Errorf("registering unit %q, want the signed-in person's", unit)
	}
	b.check("second-user")
}

func TestConsoleRosterEditSeenLive(t *testing.T) {
	p := startPlatform(t)
	b := newBrowser(t, p)
	b.signIn("tax", "wang", "王小明")
	b.click("register page", `nav button[data-page="register"]`)
	b.setValue(`#register-form [name=name]`, "赵钱孙")
	b.setValue(`#register-form [name=phone]`, "13611112222")
	b.setValue(`#register-form [name=complaint]`, "退费未到账")
	b.click("register", `#register-form button[type=submit]`)
	b.waitJS("registered", `document.querySelector("#register-result").textContent.startsWith("登记成功")`)
	var id string
	b.eval("new number", `lastRegistered`, &id)
	waitReadable(t, p, id)
	b.open(id)
	b.waitJS("registering person by name", `document.querySelector("#dispute-summary").innerText.includes("王小明")`)
	b.check("before-roster-edit")

	// The administrator corrects the name; the next look shows it.
	p.run("roster", "add-staff", "--addr", p.grpc["meeting"], "--key", p.key, "--region", region,
		"--unit", "tax", "--id", "wang", "--name", "王晓明", "--role", "clerk", "--role", "handler", "--reason", "更正姓名")
	b.click("lookup again", "#lookup-go")
	b.waitJS("the new name", `document.querySelector("#dispute-summary").innerText.includes("王晓明") &&
		document.querySelector("#history").innerText.includes("王晓明")`)
	b.click("roster page", `nav button[data-page="roster"]`)
	b.waitJS("roster page names the person", `document.querySelector("#roster").innerText.includes("王晓明")`)
	b.check("after-roster-edit")
	b.signOut()

	// The roster administrator renames a person in the console; the next
	// sign-in carries the new name.
	b.signIn("tax", "admin", "张建伟")
	b.click("roster page", `nav button[data-page="roster"]`)
	b.waitJS("staff form", `!document.querySelector("#staff-edit").hidden && document.querySelector("#staff-edit [name=unit]").options.length > 0`)
	b.setValue(`#staff-edit [name=unit]`, "finance")
	b.setValue(`#staff-edit [name=id]`, "zhao")
	b.setValue(`#staff-edit [name=displayName]`, "赵红霞")
	b.setValue(`#staff-edit [name=reason]`, "更正姓名")
	var ok bool
	b.eval("role", `(() => { document.querySelector('#staff-edit [name=roles][value="handler"]').checked = true; return true; })()`, &ok)
	b.click("save staff", `#staff-edit button[type=submit]`)
	b.waitJS("saved", `document.querySelector("#staff-result").textContent === "已保存。" && document.querySelector("#roster").innerText.includes("赵红霞")`)
	b.check("staff-renamed")
	b.signOut()
	b.signIn("finance", "zhao", "赵红霞")
}

// waitState waits, over the API, until routing shows the dispute in state.
func waitState(t *testing.T, p *platform, id, state string) {
	t.Helper()
	tok := p.token("tax", "zhou", "office")
	eventually(t, "dispute "+id+" in "+state, 60*time.Second, func() error {
		code, body := p.httpJSON(http.MethodGet, "/v1/regions/"+region+"/disputes/"+id+"/tracking", tok, nil)
		if code != http.StatusOK {
			return fmt.Errorf("HTTP %d", code)
		}
		if s := body["tracking"].(map[string]any)["state"]; s != state {
			return fmt.Errorf("state %v", s)
		}
		return nil
	})
}

// registerAndSendToOffice registers a dispute as the tax clerk and routes
// it to the office, in the console; it returns the dispute's id.
func (b *browser) registerAndSendToOffice(name, phone, complaint string) string {
	b.t.Helper()
	b.signIn("tax", "wang", "王小明")
	b.click("register page", `nav button[data-page="register"]`)
	b.setValue(`#register-form [name=name]`, name)
	b.setValue(`#register-form [name=phone]`, phone)
	b.setValue(`#register-form [name=complaint]`, complaint)
	b.click("register", `#register-form button[type=submit]`)
	b.waitJS("registered", `document.querySelector("#register-result").textContent.startsWith("登记成功")`)
	var id string
	b.eval("new number", `lastRegistered`, &id)
	waitReadable(b.t, b.p, id)
	b.open(id)
	b.act("流转", func() {
		b.setValue(`#act-route [name=kind]`, "ROUTE_KIND_OFFICE")
		b.setValue(`#act-route [name=opinion]`, "需税务、人社多部门共同办理")
	})
	b.check("sent-to-office")
	b.signOut()
	waitState(b.t, b.p, id, "DISPUTE_STATE_AT_OFFICE")
	return id
}

// triageWhenKnown triages in the console once the meeting service knows
// the dispute is at the office (it learns from routing's events).
func (b *browser) triageWhenKnown(id, class string) {
	b.t.Helper()
	office := b.p.token("tax", "zhou", "office")
	eventually(b.t, "the meeting service knows "+id+" is at the office", 60*time.Second, func() error {
		code, body := b.p.httpJSON(http.MethodGet, "/v1/regions/"+region+"/meetings?dispute=regions/"+region+"/disputes/"+id, office, nil)
		if code != http.StatusOK {
			return fmt.Errorf("HTTP %d %v", code, body)
		}
		return nil
	})
	b.act("分类", func() { b.setValue(`#act-triage [name=class]`, class) })
}

func TestConsoleOfficeGeneralMatter(t *testing.T) {
	p := startPlatform(t)
	b := newBrowser(t, p)
	id := b.registerAndSendToOffice("周大年", "13812340101", "单位按最低基数申报，与实际工资不符")

	// The office triages it as general and convenes a meeting with hrss, finance and justice.
	b.signIn("tax", "zhou", "周丽萍")
	// The office's tab of slips to sign lists it, with its due date.
	b.click("office receipt tab", `#wl-views button[data-view="WORKLIST_VIEW_OFFICE_AWAITING_RECEIPT"]`)
	b.waitJS("awaiting the office's receipt", `[...document.querySelectorAll("#worklist tbody tr")].some(r => r.innerText.includes("周大年") && /\d{4}年/.test(r.cells[6].innerText))`)
	b.check("office-awaiting-receipt")
	b.open(id)
	b.act("签收", nil) // the office signs its slip first
	b.check("office-signed")
	b.expected["POST 409 :triage"] = true // while the meeting service has not yet heard of it
	b.triageWhenKnown(id, "MATTER_CLASS_GENERAL")
	b.expected = map[string]bool{}
	waitState(t, p, id, "DISPUTE_STATE_JOINT_HANDLING")
	b.open(id)
	b.act("召开联席会议", func() {
		var ok bool
		b.eval("invite", `(() => { for (const v of ["hrss", "finance", "justice"]) document.querySelector('#act-convene [name=invited][value="' + v + '"]').checked = true; return true; })()`, &ok)
		b.setValue(`#act-convene [name=place]`, "市税务局三楼会议室")
		b.setValue(`#act-convene [name=startTime]`, "2026-12-10T09:30")
		b.setValue(`#act-convene [name=agenda]`, "缴费基数争议联合办理")
		b.check("convene-form")
	})
	b.check("convened")
	b.signOut()

	// Two invited units give their opinions from their queue of opinions owed.
	for _, u := range []struct{ unit, staff, name, text string }{
		{"hrss", "liu", "刘建平", "人社部门意见：工资口径无异议"},
		{"finance", "zhao", "赵红梅", "财政部门意见：无异议"},
	} {
		b.signIn(u.unit, u.staff, u.name)
		b.click("opinions page", `nav button[data-page="opinions"]`)
		b.waitJS("opinion owed", `document.querySelectorAll("#opinions .queue-item").length === 1`)
		b.setValue(`#opinions textarea`, u.text)
		b.click("submit opinion", `#opinions .queue-item button[type=button]:not(.link)`)
		b.waitJS("opinion given", `document.querySelector("#opinions .result").textContent === "已办理。"`)
		b.check("opinion-" + u.unit)
		b.signOut()
	}
	// The third gives it from the dispute's page, which it reads (numbers
	// masked, no dossier) while the matter is in joint handling.
	justice := p.token("justice", "sun", "handler")
	eventually(t, "justice reads "+id, 60*time.Second, func() error {
		if code, body := p.httpJSON(http.MethodGet, "/v1/regions/"+region+"/disputes/"+id, justice, nil); code != http.StatusOK {
			return fmt.Errorf("HTTP %d %v", code, body)
		}
		return nil
	})
	b.signIn("justice", "sun", "孙志刚")
	b.open(id)
	var guest string
	b.eval("guest view", `document.querySelector("#dispute-summary").innerText + "|" + document.querySelector("#dossier").innerText`, &guest)
	if !strings.Contains(guest, "周大年") || strings.Contains(guest, "13812340101") || !strings.Contains(guest, "案卷由") {
		t.Errorf("an invited unit's view of the dispute (name shown, phone masked, no dossier):\n%s", guest)
	}
	b.act("提交书面意见", func() {
		b.waitJS("meeting named", `document.querySelector("#act-opinion .meeting-info").textContent.includes("市税务局三楼会议室")`)
		b.setValue(`#act-opinion [name=text]`, "司法部门意见：符合调解条件")
	})
	b.check("opinion-justice-from-dispute")
	b.signOut()

	// The office reads the opinions and decides.
	b.signIn("tax", "zhou", "周丽萍")
	b.open(id)
	b.act("出具处理意见", func() {
		b.waitJS("opinions shown", `document.querySelector("#act-officedecide .opinions-view").innerText.includes("工资口径无异议") &&
			document.querySelector("#act-officedecide .opinions-view").innerText.includes("赵红梅") &&
			document.querySelector("#act-officedecide .opinions-view").innerText.includes("符合调解条件")`)
		b.setValue(`#act-officedecide [name=outcome]`, "责令补缴")
		b.setValue(`#act-officedecide [name=text]`, "经联席会议研究，单位应按实际工资补申报缴费基数。")
		b.check("decision-form")
	})
	b.waitJS("replied", `document.querySelector("#tracking-summary .state").textContent === "已书面告知"`)
	b.check("decided")
}

func TestConsoleMajorMatterThroughConvenor(t *testing.T) {
	p := startPlatform(t)
	b := newBrowser(t, p)
	id := b.registerAndSendToOffice("吴二宝", "13812340102", "多家单位集体欠缴社会保险费")

	b.signIn("tax", "zhou", "周丽萍")
	b.open(id)
	b.act("签收", nil)
	b.expected["POST 409 :triage"] = true
	b.triageWhenKnown(id, "MATTER_CLASS_MAJOR")
	b.expected = map[string]bool{}
	waitState(t, p, id, "DISPUTE_STATE_AWAITING_APPROVAL")
	b.open(id)
	b.act("报召集人审批", func() {
		b.setValue(`#act-approval [name=summary]`, "涉及多家单位集体欠费，拟纳入一站式矛盾纠纷调处平台")
	})
	b.check("approval-requested")
	b.signOut()

	// The convenor lands on the approvals queue and approves.
	b.signIn("gov_office", "ren", "任小俊")
	b.waitJS("approval pending", `document.querySelectorAll("#approvals .queue-item").length === 1 &&
		document.querySelector("#approvals").innerText.includes("拟纳入一站式矛盾纠纷调处平台")`)
	b.setValue(`#approvals textarea`, "同意纳入平台")
	var ok bool
	b.eval("approve", `(() => { [...document.querySelectorAll("#approvals button")].find(x => x.textContent === "同意").click(); return true; })()`, &ok)
	b.waitJS("approved", `document.querySelector("#approvals .result").textContent === "已办理。"`)
	b.check("approved")
	b.signOut()
	waitState(t, p, id, "DISPUTE_STATE_AT_PLATFORM")

	// The platform (政法委) finds the matter on its tab, reads it there and
	// records the outcome, which is the written reply. (Intake learns from
	// routing's events that the platform reads the matter now.)
	plc := p.token("plc", "hao", "platform")
	eventually(t, "the platform reads "+id, 60*time.Second, func() error {
		if code, body := p.httpJSON(http.MethodGet, "/v1/regions/"+region+"/disputes/"+id, plc, nil); code != http.StatusOK {
			return fmt.Errorf("HTTP %d %v", code, body)
		}
		return nil
	})
	b.signIn("plc", "hao", "郝建军")
	b.waitJS("matter at the platform", `!document.querySelector('#wl-views button[data-view="WORKLIST_VIEW_PLATFORM"]').hidden &&
		[...document.querySelectorAll("#worklist tbody tr")].some(r => r.innerText.includes("吴二宝") && /\d{4}年/.test(r.cells[6].innerText))`)
	b.check("platform-worklist")
	b.click("open the matter", `#worklist tbody tr`)
	b.waitJS("matter shown", `!document.querySelector("#tracking-view").hidden && document.querySelector("#dispute-summary").innerText.includes("多家单位集体欠缴社会保险费")`)
	var atPlatform string
	b.eval("the platform's view", `document.querySelector("#dispute-summary").innerText`, &atPlatform)
	if strings.Contains(atPlatform, "13812340102") {
		t.Errorf("the platform reads the claimant's phone unmasked:\n%s", atPlatform)
	}
	b.act("记录调处结果", func() {
		b.setValue(`#act-platform [name=outcome]`, "调解成功")
		b.setValue(`#act-platform [name=text]`, "经一站式平台调解，双方达成分期补缴协议。")
		b.check("platform-outcome-form")
	})
	b.waitJS("the platform's part ends", `document.querySelector("#action-result").textContent.includes("离开一站式调处平台") &&
		document.querySelector("#action-buttons").children.length === 0`)
	b.check("platform-outcome")
	b.signOut()
	waitState(t, p, id, "DISPUTE_STATE_REPLIED")

	// The office sees the reply the platform issued.
	b.signIn("tax", "zhou", "周丽萍")
	b.open(id)
	b.waitJS("replied", `document.querySelector("#tracking-summary .state").textContent === "已书面告知" &&
		document.querySelector("#reply-summary").innerText.includes("调解成功")`)
	b.check("platform-replied")

	// Statistics after the flow, as the office: the region's counters.
	b.statistics(1, 1)
}

// statistics opens the statistics page as the person signed in, once the
// archive counts registered disputes of which replied have a reply, and
// checks the table, the charts and the CSV.
func (b *browser) statistics(registered, replied int) {
	b.t.Helper()
	office := b.p.token("tax", "zhou", "office")
	eventually(b.t, "the archive counts the replies", 60*time.Second, func() error {
		code, body := b.p.httpJSON(http.MethodGet, "/v1/regions/"+region+"/statistics", office, nil)
		if code != http.StatusOK {
			return fmt.Errorf("HTTP %d %v", code, body)
		}
		var reg, rep int
		for _, r := range body["rows"].([]any) {
			row := r.(map[string]any)
			if row["dimension"] == "total" {
				n, _ := strconv.Atoi(fmt.Sprint(row["registered"]))
				m, _ := strconv.Atoi(fmt.Sprint(row["replied"]))
				reg, rep = reg+n, rep+m
			}
		}
		if reg != registered || rep != replied {
			return fmt.Errorf("registered %d replied %d", reg, rep)
		}
		return nil
	})
	b.click("statistics page", `nav button[data-page="stats"]`)
	b.waitJS("statistics shown", `document.querySelector("#stats-table tfoot").innerText.startsWith("合计") &&
		document.querySelectorAll("#stats-chart-keys canvas").length > 0 && document.querySelectorAll("#stats-chart-months canvas").length > 0`)
	var foot, scope string
	b.eval("totals", `[...document.querySelector("#stats-table tfoot tr").cells].map(c => c.textContent).join("|")`, &foot)
	b.eval("scope", `document.querySelector("#stats-scope").textContent`, &scope)
	if want := fmt.Sprintf("合计|%d|", registered); !strings.HasPrefix(foot, want) || !strings.Contains(scope, "孝义市全部") {
		b.t.Errorf("statistics totals %q (want %s…), scope %q", foot, want, scope)
	}
	if cells := strings.Split(foot, "|"); len(cells) < 4 || cells[3] != strconv.Itoa(replied) {
		b.t.Errorf("statistics: replied in %q, want %d", foot, replied)
	}
	b.check("statistics")
	b.setValue("#stats-dim", "registering_department")
	b.waitJS("by registering department", `[...document.querySelectorAll("#stats-table tbody tr")].some(r => r.cells[0].textContent === "市税务局")`)
	var csv string
	b.eval("csv", `statsCSV()`, &csv)
	if !strings.HasPrefix(csv, "\ufeff登记部门,登记,办结,书面告知") || !strings.Contains(csv, "\r\n市税务局,"+strconv.Itoa(registered)+",") {
		b.t.Errorf("CSV export:\n%q", csv)
	}
	b.check("statistics-by-department")
}

func TestConsoleMassWarningAcknowledged(t *testing.T) {
	p := startPlatform(t)
	b := newBrowser(t, p)
	b.signIn("tax", "wang", "王小明")
	b.click("register page", `nav button[data-page="register"]`)
	b.setValue(`#register-form [name=name]`, "郑六一")
	b.setValue(`#register-form [name=phone]`, "13812340199")
	b.setValue(`#register-form [name=complaint]`, "单位拖欠三十名职工社会保险费")
	b.setValue(`#register-form [name=peopleInvolved]`, "30")
	b.click("register", `#register-form button[type=submit]`)
	b.waitJS("registered with a warning", `document.querySelector("#register-result").textContent.includes("群体性争议预警")`)
	b.check("registered-mass")
	b.signOut()

	// The meeting service takes the warning from intake's events.
	lei := p.token("petition", "lei", "clerk", "handler")
	eventually(t, "the warning reaches the petition bureau", 60*time.Second, func() error {
		code, body := p.httpJSON(http.MethodGet, "/v1/regions/"+region+"/massWarnings?state=MASS_WARNING_STATE_PENDING", lei, nil)
		if ws, _ := body["massWarnings"].([]any); code != http.StatusOK || len(ws) == 0 {
			return fmt.Errorf("HTTP %d %v", code, body)
		}
		return nil
	})

	// The petition bureau sees the warning and acknowledges it (提前介入).
	b.signIn("petition", "lei", "雷晓东")
	b.click("warnings page", `nav button[data-page="warnings"]`)
	b.waitJS("warning listed", `document.querySelectorAll("#warnings .queue-item").length === 1 &&
		document.querySelector("#warnings").innerText.includes("涉及人数：30")`)
	b.setValue(`#warnings textarea`, "已安排提前介入")
	b.click("acknowledge", `#warnings .queue-item button[type=button]:not(.link)`)
	b.waitJS("acknowledged", `document.querySelector("#warnings .result").textContent === "已办理。"`)
	b.check("acknowledged")
	b.click("warnings page again", `nav button[data-page="warnings"]`)
	b.waitJS("no warning left", `document.querySelectorAll("#warnings .queue-item").length === 0 && !document.querySelector("#warnings-empty").hidden`)
	b.check("warnings-empty")
}
