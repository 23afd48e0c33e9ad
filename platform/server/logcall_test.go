package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/logging"
)

// lineKeys returns the keys of a JSON object line in the order written.
func lineKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", line)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
	}
	return keys
}

func TestLogCall(t *testing.T) {
	id := authn.Identity{Region: "141181", Department: "hrss", Staff: "s-1", Roles: []string{authn.RoleClerk}}
	tests := []struct {
		name     string
		level    string // logger level
		ci       callInfo
		err      error
		wantKeys []string // nil: no line
		want     map[string]any
	}{
		{
			name: "anonymous ok", ci: callInfo{},
			wantKeys: []string{"time", "level", "msg", "service", "method", "code", "duration_ms"},
			want:     map[string]any{"level": "INFO", "msg": "rpc", "service": "test", "method": "/x.v1.S/M", "code": "OK"},
		},
		{
			name: "caller, name and parent", ci: callInfo{id: id, hasID: true, name: "regions/141181/disputes/2026-17", parent: "regions/141181"},
			wantKeys: []string{"time", "level", "msg", "service", "method", "code", "duration_ms", "region", "department", "staff", "name", "parent"},
			want: map[string]any{"level": "INFO", "code": "OK", "region": "141181", "department": "hrss", "staff": "s-1",
				"name": "regions/141181/disputes/2026-17", "parent": "regions/141181"},
		},
		{
			name: "client error, message masked", ci: callInfo{id: id, hasID: true},
			err:      status.Error(codes.AlreadyExists, "claimant 13812341234 already registered"),
			wantKeys: []string{"time", "level", "msg", "service", "method", "code", "duration_ms", "region", "department", "staff", "error"},
			want:     map[string]any{"level": "INFO", "code": "AlreadyExists", "error": "claimant 138****1234 already registered"},
		},
		{
			name: "server error", ci: callInfo{parent: "regions/141181"}, err: status.Error(codes.Internal, "redis down"),
			wantKeys: []string{"time", "level", "msg", "service", "method", "code", "duration_ms", "parent", "error"},
			want:     map[string]any{"level": "ERROR", "code": "Internal", "error": "redis down"},
		},
		{
			name: "hidden cause logged", ci: callInfo{}, err: apierr.FromError(errors.New("get intake:{141181}:dispute:2026-1: WRONGTYPE")),
			wantKeys: []string{"time", "level", "msg", "service", "method", "code", "duration_ms", "error", "cause"},
			want: map[string]any{"level": "ERROR", "code": "Internal", "error": "internal error",
				"cause": "get intake:{141181}:dispute:2026-1: WRONGTYPE"},
		},
		{name: "ok below logger level", level: "warn", ci: callInfo{id: id, hasID: true}},
		{
			name: "server error at logger level", level: "error", err: status.Error(codes.Unavailable, "x"),
			wantKeys: []string{"time", "level", "msg", "service", "method", "code", "duration_ms", "error"},
			want:     map[string]any{"level": "ERROR", "code": "Unavailable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := logging.New(&buf, "test", tt.level)
			if err != nil {
				t.Fatal(err)
			}
			s := &Server{log: log}
			s.logCall(context.Background(), "/x.v1.S/M", &tt.ci, time.Now().Add(-1500*time.Microsecond), tt.err)
			if tt.wantKeys == nil {
				if buf.Len() != 0 {
					t.Fatalf("logged %s", buf.String())
				}
				return
			}
			line := buf.String()
			if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
				t.Fatalf("want one line, got %q", line)
			}
			if diff := cmp.Diff(tt.wantKeys, lineKeys(t, line)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if m[k] != want {
					t.Errorf("%s = %v, want %v", k, m[k], want)
				}
			}
			if d, ok := m["duration_ms"].(float64); !ok || d < 1.5 {
				t.Errorf("duration_ms = %v, want a number >= 1.5", m["duration_ms"])
			}
			if ts, err := time.Parse(time.RFC3339Nano, m["time"].(string)); err != nil || time.Since(ts) > time.Hour {
				t.Errorf("time = %v (%v)", m["time"], err)
			}
		})
	}
}
