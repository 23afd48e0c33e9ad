package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// get fetches path from the console through a real HTTP server.
func get(t *testing.T, srv *httptest.Server, path string) (*http.Response, string) {
	t.Helper()
	res, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return res, string(body)
}

func TestIndexIsServedWithCSP(t *testing.T) {
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	for _, path := range []string{"/", "/index.html", "/console.js", "/console.css"} {
		t.Run(path, func(t *testing.T) {
			res, body := get(t, srv, path)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d, want 200", res.StatusCode)
			}
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.HasPrefix(csp, "default-src 'self'") {
				t.Errorf("Content-Security-Policy %q does not start with default-src 'self'", csp)
			}
			if strings.Contains(csp, "script-src") || strings.Contains(csp, "'unsafe-eval'") {
				t.Errorf("Content-Security-Policy %q loosens scripts", csp)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if (path == "/" || path == "/index.html") && !strings.Contains(body, "社会保险费征缴争议联合处置平台") {
				t.Errorf("%s is not the console page: %.200s", path, body)
			}
		})
	}
}

var (
	refRE          = regexp.MustCompile(`<(script|link)\b[^>]*\b(?:src|href)="([^"]*)"`)
	inlineScriptRE = regexp.MustCompile(`<script\b[^>]*>`)
	inlineStyleRE  = regexp.MustCompile(`<style\b|\sstyle=|\son[a-z]+=|javascript:`)
)

func TestReferencedFilesExist(t *testing.T) {
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	_, html := get(t, srv, "/index.html")
	refs := refRE.FindAllStringSubmatch(html, -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d scripts and style sheets, want the console's script and style sheet", len(refs))
	}
	for _, m := range refs {
		tag, ref := m[1], m[2]
		t.Run(ref, func(t *testing.T) {
			if strings.Contains(ref, "//") || strings.HasPrefix(ref, "data:") {
				t.Fatalf("<%s> loads %q from outside the console", tag, ref)
			}
			res, body := get(t, srv, "/"+strings.TrimPrefix(ref, "/"))
			if res.StatusCode != http.StatusOK || body == "" {
				t.Errorf("<%s> %q: HTTP %d with %d bytes, want 200 with content", tag, ref, res.StatusCode, len(body))
			}
		})
	}
	// The CSP forbids inline script, handlers and (in the console) inline
	// style: each would silently not work.
	for _, tag := range inlineScriptRE.FindAllString(html, -1) {
		if !strings.Contains(tag, "src=") {
			t.Errorf("index.html has an inline script %q", tag)
		}
	}
	if m := inlineStyleRE.FindString(html); m != "" {
		t.Errorf("index.html has inline style or script %q", m)
	}
}

var (
	// htmlSinkRE finds the places that parse a string as HTML.
	htmlSinkRE = regexp.MustCompile(`\.(?:inner|outer)HTML\s*(\+?=)|\binsertAdjacentHTML\b|\bdocument\.write|\beval\s*\(|\bnew\s+Function\b`)
	// clearedRE is the one harmless assignment: clearing with an empty string.
	clearedRE = regexp.MustCompile(`^\s*(?:""|'')\s*[;,)}\n]`)
)

// htmlSinks returns the lines of js that put a string into the page as HTML.
func htmlSinks(js string) []string {
	var bad []string
	for _, loc := range htmlSinkRE.FindAllStringSubmatchIndex(js, -1) {
		if loc[2] >= 0 && js[loc[2]:loc[3]] == "=" && clearedRE.MatchString(js[loc[1]:]) {
			continue
		}
		line := strings.Count(js[:loc[0]], "\n") + 1
		end := strings.IndexByte(js[loc[0]:], '\n')
		if end < 0 {
			end = len(js) - loc[0]
		}
		bad = append(bad, strings.TrimSpace(js[loc[0]:loc[0]+end])+" (line "+strconv.Itoa(line)+")")
	}
	return bad
}

func TestHTMLSinks(t *testing.T) {
	tests := []struct {
		name string
		js   string
		bad  int
	}{
		{"clearing", `tbody.innerHTML = "";`, 0},
		{"clearing with single quotes", `el.innerHTML='';`, 0},
		{"text", `td.textContent = d.name;`, 0},
		{"interpolated", "td.innerHTML = `<b>${d.name}</b>`;", 1},
		{"concatenated", `td.innerHTML = "<b>" + d.name;`, 1},
		{"appended", `td.innerHTML += "";`, 1},
		{"static markup", `table.innerHTML = "<thead></thead>";`, 1},
		{"outerHTML", `td.outerHTML = x;`, 1},
		{"insertAdjacentHTML", `td.insertAdjacentHTML("beforeend", x);`, 1},
		{"eval", `eval(x);`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := htmlSinks(tt.js); len(got) != tt.bad {
				t.Errorf("htmlSinks(%q) = %q, want %d", tt.js, got, tt.bad)
			}
		})
	}
}

func TestConsoleScriptBuildsTextNotHTML(t *testing.T) {
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	res, js := get(t, srv, "/console.js")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d, want 200", res.StatusCode)
	}
	for _, b := range htmlSinks(js) {
		t.Errorf("console.js puts a string into the page as HTML: %s; build it with textContent", b)
	}
	if !strings.Contains(js, "textContent") {
		t.Error("console.js sets no textContent")
	}
}
