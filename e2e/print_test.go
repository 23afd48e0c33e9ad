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

	code, body := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", clerk, registration("print-1", "13812345678"))
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
