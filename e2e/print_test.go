package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// page GETs a printable page from the gateway and returns its status and
// HTML.
func (p *platform) page(path, token string) (int, string) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.gateway+path, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestPrintThroughGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	p := startPlatform(t)
	clerk := p.token("tax", "wang", "clerk", "handler")

	reg := registration("print-1", "13812345678")
	reg["dispute"].(map[string]any)["jurisdiction"] = "141181001"
	code, body := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", clerk, reg)
	if code != http.StatusOK {
		t.Fatalf("register: HTTP %d %v", code, body)
	}
	d := body["dispute"].(map[string]any)
	name, number := d["name"].(string), d["number"].(string)

	t.Run("the registration form prints with the caller's token", func(t *testing.T) {
		code, html := p.page("/print/"+name+"/registration-form", clerk)
		if code != http.StatusOK {
			t.Fatalf("HTTP %d, want 200:\n%s", code, html)
		}
		for _, want := range []string{"社会保险费征收争议事项登记表", "编号：" + number, "张三", "市税务局"} {
			if !strings.Contains(html, want) {
				t.Errorf("form lacks %q", want)
			}
		}
	})

	// noStaffIDs fails when a page prints a staff id where a name belongs.
	noStaffIDs := func(t *testing.T, html string) {
		t.Helper()
		for _, id := range []string{">wang<", ">liu<", "wang", "liu"} {
			if strings.Contains(html, id) {
				t.Errorf("page prints the staff id %q", id)
			}
		}
	}

	t.Run("the form names people and the jurisdiction from the roster", func(t *testing.T) {
		code, html := p.page("/print/"+name+"/registration-form", clerk)
		if code != http.StatusOK {
			t.Fatalf("HTTP %d", code)
		}
		for _, want := range []string{"<th>登记人员</th><td>王小明</td>", "<th>首问责任人</th><td>王小明</td>", "<th>所属乡镇（街道）</th><td>新义街道</td>"} {
			if !strings.Contains(html, want) {
				t.Errorf("form lacks %q:\n%s", want, html)
			}
		}
		if strings.Contains(html, "141181001") {
			t.Error("form prints the jurisdiction's code")
		}
		noStaffIDs(t, html)
	})

	t.Run("the transfer slip names the registering staff and the receiver", func(t *testing.T) {
		code, resp := p.httpJSON("POST", "/v1/"+name+":route", clerk, map[string]any{
			"kind": "ROUTE_KIND_TRANSFER", "targetDepartment": "hrss", "opinion": "属人社部门职责", "reasonCode": "OTHER_DUTY"})
		if code != http.StatusOK {
			t.Fatalf("route: HTTP %d %v", code, resp)
		}
		if code, resp := p.httpJSON("POST", "/v1/"+name+":receive", p.token("hrss", "liu", "handler"), map[string]any{}); code != http.StatusOK {
			t.Fatalf("receive: HTTP %d %v", code, resp)
		}
		code, html := p.page("/print/"+name+"/transfer-slip", clerk)
		if code != http.StatusOK {
			t.Fatalf("HTTP %d:\n%s", code, html)
		}
		for _, want := range []string{"<th>登记人员</th><td>王小明</td>", "<th>接收人</th><td>刘建平</td>"} {
			if !strings.Contains(html, want) {
				t.Errorf("slip lacks %q:\n%s", want, html)
			}
		}
		noStaffIDs(t, html)
	})

	t.Run("a name changed with disputectl prints at once", func(t *testing.T) {
		p.run("roster", "add-staff", "--addr", p.grpc["meeting"], "--key", p.key, "--region", region,
			"--unit", "tax", "--id", "wang", "--name", "王晓明", "--role", "clerk", "--role", "handler", "--reason", "更正姓名")
		code, html := p.page("/print/"+name+"/registration-form", clerk)
		if code != http.StatusOK || !strings.Contains(html, "<th>登记人员</th><td>王晓明</td>") {
			t.Errorf("HTTP %d; form does not show the new name:\n%s", code, html)
		}
		p.run("roster", "remove-staff", "--addr", p.grpc["meeting"], "--key", p.key, "--region", region,
			"--id", "wang", "--reason", "调离")
		code, html = p.page("/print/"+name+"/registration-form", clerk)
		if code != http.StatusOK || !strings.Contains(html, "<th>登记人员</th><td>未登记人员</td>") {
			t.Errorf("HTTP %d; form of a removed person:\n%s", code, html)
		}
		noStaffIDs(t, html)
	})

	t.Run("the receipt masks the phone", func(t *testing.T) {
		code, html := p.page("/print/"+name+"/receipt", clerk)
		if code != http.StatusOK {
			t.Fatalf("HTTP %d, want 200:\n%s", code, html)
		}
		if strings.Contains(html, "13812345678") || !strings.Contains(html, "138****5678") {
			t.Errorf("receipt does not mask the phone:\n%s", html)
		}
	})

	t.Run("without a token the form is refused", func(t *testing.T) {
		if code, html := p.page("/print/"+name+"/registration-form", ""); code != http.StatusUnauthorized {
			t.Errorf("HTTP %d, want 401:\n%s", code, html)
		}
	})

	t.Run("another department may not print it", func(t *testing.T) {
		other := p.token("finance", "zhao", "handler")
		if code, html := p.page("/print/"+name+"/registration-form", other); code != http.StatusNotFound {
			t.Errorf("HTTP %d, want 404 (as for a dispute that does not exist):\n%s", code, html)
		}
	})
}
