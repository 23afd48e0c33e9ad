package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// requestsSince returns the requests the page sent from index from on.
func (b *browser) requestsSince(from int) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests[from:]...)
}

func (b *browser) requestCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.requests)
}

// TestConsoleWorklistOneCallPerPage: a worklist page of several disputes
// shows each claimant and a summary from one batch read, not one read per
// row.
func TestConsoleWorklistOneCallPerPage(t *testing.T) {
	p := startPlatform(t)
	clerk := p.token("tax", "wang", "clerk", "handler")
	const rows = 4
	for i := range rows {
		reg := registration(fmt.Sprintf("wl-%d", i), fmt.Sprintf("1381234%04d", i))
		reg["dispute"].(map[string]any)["claimant"].(map[string]any)["name"] = "诉求人" + strconv.Itoa(i)
		code, body := p.httpJSON(http.MethodPost, "/v1/regions/"+region+"/disputes", clerk, reg)
		if code != http.StatusOK {
			t.Fatalf("register: HTTP %d %v", code, body)
		}
		waitReadable(t, p, strings.TrimPrefix(body["dispute"].(map[string]any)["name"].(string), "regions/"+region+"/disputes/"))
	}

	b := newBrowser(t, p)
	b.signIn("tax", "wang", "王小明")
	b.click("worklist page", `nav button[data-page="worklist"]`)
	b.waitJS("worklist shown", `document.querySelector("#worklist").dataset.details === "loaded"`)
	from := b.requestCount()
	b.click("refresh the worklist", "#wl-refresh")
	b.waitJS("every row with its claimant and summary", fmt.Sprintf(`document.querySelector("#worklist").dataset.details === "loaded" &&
		document.querySelectorAll("#worklist tbody tr").length >= %d &&
		[0, 1, 2, 3].every(i => document.querySelector("#worklist tbody").innerText.includes("诉求人" + i)) &&
		document.querySelector("#worklist tbody").innerText.includes("单位未按实际工资申报缴费基数")`, rows))
	b.check("worklist-with-claimants")
	var shown int
	var n string
	b.eval("rows", `String(document.querySelectorAll("#worklist tbody tr").length)`, &n)
	shown, _ = strconv.Atoi(n)
	var perRow, batch, lists []string
	all := b.requestsSince(from)
	for _, r := range all {
		switch {
		case strings.Contains(r, "/disputes:batchGet"):
			batch = append(batch, r)
		case strings.Contains(r, "/worklist"):
			lists = append(lists, r)
		case strings.Contains(r, "/v1/regions/"+region+"/disputes/"):
			perRow = append(perRow, r)
		}
	}
	// Before: one worklist call and one dispute read per row (shown+1).
	t.Logf("a worklist page of %d rows took %d requests (%d worklist, %d batch read, %d single reads); one read per row would take %d",
		shown, len(all), len(lists), len(batch), len(perRow), shown+1)
	if len(perRow) != 0 || len(batch) != 1 || len(lists) != 1 || len(all) > 3 {
		t.Errorf("a worklist page of %d rows sent %v; want one worklist call and one batch read", shown, all)
	}
}

// TestConsoleRosterAdministration: the roster administrator edits a unit
// and a township with a reason; another person's open roster page shows
// the edit without being refreshed; the audit trail lists both with the
// administrator's name; an edit on a roster changed meanwhile is refused
// with a request to reload; and a missing calendar year is announced to
// everyone signed in.
func TestConsoleRosterAdministration(t *testing.T) {
	p := startPlatform(t)
	other := newBrowser(t, p)
	other.signIn("tax", "wang", "王小明")
	other.click("roster page", `nav button[data-page="roster"]`)
	other.waitJS("roster shown", `document.querySelector("#roster").innerText.includes("市财政局") && document.querySelector("#roster").innerText.includes("新义街道")`)
	other.waitJS("no editing for a clerk", `document.querySelector("#unit-edit").hidden && document.querySelector("#roster-changes-block").hidden`)
	other.check("roster-before")

	admin := newBrowser(t, p)
	admin.signIn("tax", "admin", "张建伟")
	admin.click("roster page", `nav button[data-page="roster"]`)
	admin.waitJS("unit form", `!document.querySelector("#unit-edit").hidden && document.querySelector("#unit-edit [name=pick]").options.length > 1`)
	admin.setValue(`#unit-edit [name=pick]`, "finance")
	admin.waitJS("unit filled", `document.querySelector("#unit-edit [name=name]").value === "市财政局"`)
	admin.setValue(`#unit-edit [name=name]`, "孝义市财政局")
	admin.setValue(`#unit-edit [name=head]`, "刘建国 市财政局局长")
	admin.setValue(`#unit-edit [name=reason]`, "按机构改革方案规范单位全称")
	admin.click("save unit", `#unit-edit button[type=submit]`)
	admin.waitJS("unit saved", `document.querySelector("#unit-result").textContent === "已保存。" && document.querySelector("#roster").innerText.includes("孝义市财政局")`)
	admin.check("unit-saved")

	admin.setValue(`#jurisdiction-edit [name=pick]`, "141181001")
	admin.waitJS("township filled", `document.querySelector("#jurisdiction-edit [name=name]").value === "新义街道"`)
	admin.setValue(`#jurisdiction-edit [name=name]`, "新义街道办事处")
	admin.setValue(`#jurisdiction-edit [name=reason]`, "按民政部门区划名称更正")
	admin.click("save township", `#jurisdiction-edit button[type=submit]`)
	admin.waitJS("township saved", `document.querySelector("#jurisdiction-result").textContent === "已保存。" && document.querySelector("#roster").innerText.includes("新义街道办事处")`)

	// The audit trail: who, what and why, newest first.
	admin.waitJS("audit trail", `(() => { const rows = [...document.querySelectorAll("#roster-changes tbody tr")].map(r => r.innerText);
		return rows.length >= 2 && rows[0].includes("张建伟") && rows[0].includes("乡镇（街道）") && rows[0].includes("按民政部门区划名称更正") &&
			rows[1].includes("张建伟") && rows[1].includes("成员单位") && rows[1].includes("按机构改革方案规范单位全称"); })()`)
	admin.check("audit-trail")

	// The other person's page shows both, without 刷新.
	other.waitJS("the edits live on another page", `document.querySelector("#roster").innerText.includes("孝义市财政局") &&
		document.querySelector("#roster").innerText.includes("新义街道办事处")`)
	other.check("roster-after-live")

	// An edit made on a roster someone changed meanwhile is refused: the
	// administrator is asked to reload.
	admin.setValue(`#unit-edit [name=pick]`, "hrss")
	admin.waitJS("hrss filled", `document.querySelector("#unit-edit [name=name]").value === "市人社局（医保局）"`)
	admin.setValue(`#unit-edit [name=head]`, "王新民 市人社局（医保局）局长")
	admin.setValue(`#unit-edit [name=reason]`, "更换负责人")
	p.run("roster", "add-staff", "--addr", p.grpc["meeting"], "--key", p.key, "--region", region,
		"--unit", "tax", "--id", "wang", "--name", "王晓明", "--role", "clerk", "--role", "handler", "--reason", "更正姓名")
	admin.waitJS("the change elsewhere shown", `document.querySelector("#roster").innerText.includes("王晓明")`)
	admin.mu.Lock()
	admin.expected["PATCH 409 /v1/regions/"+region+"/roster"] = true
	admin.mu.Unlock()
	admin.click("save on a stale roster", `#unit-edit button[type=submit]`)
	admin.waitJS("asked to reload", `document.querySelector("#unit-result").textContent.includes("名册已被他人修改")`)
	admin.check("stale-roster-refused")

	// A calendar year in use is missing: everyone signed in is told.
	now := time.Now().In(names.China)
	year := now.Year()
	if time.Date(year+1, 1, 1, 0, 0, 0, 0, names.China).Sub(now) <= 60*24*time.Hour {
		year++
	}
	cli := p.etcd.Client(t)
	if _, err := cli.Delete(t.Context(), fmt.Sprintf("/disputes/%s/calendar/%d", region, year)); err != nil {
		t.Fatal(err)
	}
	tok := p.token("tax", "wang", "clerk")
	eventually(t, "routing reports the missing year", 30*time.Second, func() error {
		code, body := p.httpJSON(http.MethodGet, "/v1/regions/"+region+"/calendarStatus", tok, nil)
		if code != http.StatusOK || !strings.Contains(fmt.Sprint(body), strconv.Itoa(year)) {
			return fmt.Errorf("HTTP %d %v", code, body)
		}
		return nil
	})
	other.signOut()
	other.waitJS("no banner signed out", `document.querySelector("#calendar-banner").hidden`)
	other.signIn("tax", "wang", "王晓明")
	other.waitJS("the banner names the year", fmt.Sprintf(`!document.querySelector("#calendar-banner").hidden &&
		document.querySelector("#calendar-banner").textContent.startsWith("%d年工作日历尚未载入")`, year))
	other.check("calendar-banner")
}
