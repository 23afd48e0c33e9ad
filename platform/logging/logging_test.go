package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestMasksPersonalNumbers(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		key  string
		want string
	}{
		{"message", func(l *slog.Logger) { l.Info("claimant 13812341234 called") }, "msg", "claimant 138****1234 called"},
		{"attr", func(l *slog.Logger) { l.Info("x", "phone", "13812341234") }, "phone", "138****1234"},
		{"id attr", func(l *slog.Logger) { l.Info("x", "id_number", "14230119900101123X") }, "id_number", "142301********123X"},
		{"error", func(l *slog.Logger) { l.Error("x", "err", errors.New("duplicate 13812341234")) }, "err", "duplicate 138****1234"},
		{"group", func(l *slog.Logger) { l.Info("x", slog.Group("req", "phone", "13812341234")) }, "req.phone", "138****1234"},
		{"camel key", func(l *slog.Logger) { l.Info("x", "durationMs", "5") }, "duration_ms", "5"},
		{"struct", func(l *slog.Logger) { l.Info("x", "party", struct{ Phone string }{"13812341234"}) }, "party", ""},
		{"float and phone", func(l *slog.Logger) { l.Info("x", "ms", 1.5, "phone", "13812341234") }, "phone", "138****1234"},
		{"with attr", func(l *slog.Logger) { l.With("phone", "13812341234").Info("x", "n", 1) }, "phone", "138****1234"},
		{"with camel key", func(l *slog.Logger) { l.With("claimantPhone", "13812341234").Info("x") }, "claimant_phone", "138****1234"},
		{"with error", func(l *slog.Logger) { l.With("err", errors.New("dup 13812341234")).Info("x") }, "err", "dup 138****1234"},
		{"with group attr", func(l *slog.Logger) { l.With(slog.Group("req", "phone", "13812341234")).Info("x") }, "req.phone", "138****1234"},
		{"with group", func(l *slog.Logger) {
			l.WithGroup("req").With("id", "14230119900101123X").Info("x", "phone", "13812341234")
		}, "req.id", "142301********123X"},
		{"with group, attr", func(l *slog.Logger) {
			l.WithGroup("req").With("id", "14230119900101123X").Info("x", "phone", "13812341234")
		}, "req.phone", "138****1234"},
		{"inline group", func(l *slog.Logger) { l.Info("x", slog.Group("", "phone", "13812341234")) }, "phone", "138****1234"},
	}
	for _, tt := range tests {
		for _, out := range []string{"buffer", "Writer"} {
			t.Run(tt.name+"/"+out, func(t *testing.T) {
				var buf bytes.Buffer
				var w io.Writer = &buf
				if out == "Writer" {
					w = NewWriter(&buf)
				}
				l, err := New(w, "intake", "debug")
				if err != nil {
					t.Fatal(err)
				}
				tt.log(l)
				if lw, ok := w.(*Writer); ok {
					if err := lw.Flush(); err != nil {
						t.Fatal(err)
					}
				}
				checkMasked(t, buf.Bytes(), tt.key, tt.want)
			})
		}
	}
}

func checkMasked(t *testing.T, out []byte, key, want string) {
	t.Helper()
	line := string(out)
	if strings.Contains(line, "13812341234") || strings.Contains(line, "14230119900101123X") {
		t.Fatalf("full number leaked: %s", line)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, line)
	}
	if m["service"] != "intake" {
		t.Fatalf("service = %v", m["service"])
	}
	// key "a.b" is b inside group a.
	path := strings.Split(key, ".")
	for _, k := range path[:len(path)-1] {
		g, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("group %q missing: %s", k, line)
		}
		m = g
	}
	key = path[len(path)-1]
	if want != "" && m[key] != want {
		t.Fatalf("%s = %v, want %q (line %s)", key, m[key], want, line)
	}
	if _, ok := m[key]; !ok {
		t.Fatalf("key %q missing: %s", key, line)
	}
}

func TestLevel(t *testing.T) {
	tests := []struct {
		level   string
		debug   bool
		wantErr bool
	}{
		{"", false, false},
		{"debug", true, false},
		{"WARN", false, false},
		{"loud", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := New(&buf, "s", tt.level)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			l.Debug("d")
			if got := buf.Len() > 0; got != tt.debug {
				t.Fatalf("debug logged = %v, want %v", got, tt.debug)
			}
		})
	}
}

func TestSnake(t *testing.T) {
	tests := []struct{ in, want string }{
		{"duration_ms", "duration_ms"},
		{"durationMs", "duration_ms"},
		{"requestID", "request_id"},
		{"HTTPStatus", "http_status"},
		{"grpc-code", "grpc_code"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := snake(tt.in); got != tt.want {
				t.Fatalf("snake(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
