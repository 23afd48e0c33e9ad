package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/mtls"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

const seedFile = "../../../deploy/roster/141181.json"

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func defaultTLS() TLSFlags {
	return TLSFlags{Files: mtls.DirFiles(DefaultCertDir, mtls.ClientName)}
}

// etcdAuth returns the flags that authenticate to e as the platform's user.
func etcdAuth(e *testenv.Etcd) []string {
	return []string{"--etcd", e.Endpoint, "--etcd-user", e.User, "--etcd-password-file", e.PasswordFile}
}

func defaultConn() Conn {
	return Conn{Addr: DefaultAddr, Region: DefaultRegion, Key: DefaultKey, TLS: defaultTLS()}
}

func TestParse(t *testing.T) {
	withToken := defaultConn()
	withToken.Token = "from-env"
	custom := Conn{Addr: "meeting:9000", Region: "140100", Token: "tok", Key: DefaultKey, TLS: defaultTLS()}

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want command
	}{
		{"keygen default", []string{"keygen"}, nil, &KeygenCmd{Dir: DefaultKeyDir, Name: "dev-key"}},
		{"keygen dir", []string{"keygen", "--dir", "/tmp/k", "--name", "checkpoint"}, nil, &KeygenCmd{Dir: "/tmp/k", Name: "checkpoint"}},
		{"keys rotate", []string{"keys", "rotate", "--dir", "/tmp/k"}, nil, &RotateCmd{Dir: "/tmp/k"}},
		{"token", []string{"token", "--region", "141181", "--dept", "tax", "--staff", "wang", "--role", "clerk", "--role", "handler", "--ttl", "1h"}, nil,
			&TokenCmd{Identity: authn.Identity{Region: "141181", Department: "tax", Staff: "wang", Roles: []string{"clerk", "handler"}}, TTL: time.Hour, Audience: "disputes", Key: DefaultKey}},
		{"token default ttl and key", []string{"token", "--dept", "hrss", "--staff", "li", "--role", "admin"}, nil,
			&TokenCmd{Identity: authn.Identity{Region: DefaultRegion, Department: "hrss", Staff: "li", Roles: []string{"admin"}}, TTL: DefaultTTL, Audience: "disputes", Key: DefaultKey}},
		{"roster get", []string{"roster", "get"}, nil, &RosterGetCmd{Conn: defaultConn()}},
		{"roster get token from env", []string{"roster", "get"}, map[string]string{TokenEnv: "from-env"}, &RosterGetCmd{Conn: withToken}},
		{"roster get flags", []string{"roster", "get", "--addr", "meeting:9000", "--region", "140100", "--token", "tok"}, map[string]string{TokenEnv: "from-env"},
			&RosterGetCmd{Conn: custom}},
		{"roster set", []string{"roster", "set", "--file", "r.json", "--reason", "换届"}, nil,
			&RosterSetCmd{Conn: defaultConn(), File: "r.json", Reason: "换届"}},
		{"roster add-unit", []string{"roster", "add-unit", "--id", "market", "--name", "市市场监管局", "--intake-point", "--duty", "甲", "--duty", "乙", "--reason", "加入"}, nil,
			&RosterAddUnitCmd{Conn: defaultConn(), Reason: "加入", Unit: &rosterv1.MemberUnit{Id: "market", Name: "市市场监管局", IntakePoint: true, Duties: []string{"甲", "乙"}}}},
		{"roster remove-unit", []string{"roster", "remove-unit", "--id", "market", "--reason", "撤销"}, nil,
			&RosterRemoveUnitCmd{Conn: defaultConn(), ID: "market", Reason: "撤销"}},
		{"roster add-staff", []string{"roster", "add-staff", "--unit", "tax", "--id", "wang", "--name", "王小明", "--role", "clerk", "--role", "handler", "--reason", "新进人员"}, nil,
			&RosterAddStaffCmd{Conn: defaultConn(), Unit: "tax", Reason: "新进人员", Staff: &rosterv1.StaffMember{Id: "wang", DisplayName: "王小明", Roles: []string{"clerk", "handler"}}}},
		{"roster remove-staff", []string{"roster", "remove-staff", "--id", "wang", "--reason", "调离"}, nil,
			&RosterRemoveStaffCmd{Conn: defaultConn(), ID: "wang", Reason: "调离"}},
		{"roster init", []string{"roster", "init", "--file", "deploy/roster/141181.json"}, nil,
			&RosterInitCmd{File: "deploy/roster/141181.json", Etcd: DefaultEtcd}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"roster without subcommand", []string{"roster"}, "want get"},
		{"unknown roster subcommand", []string{"roster", "delete"}, "unknown subcommand"},
		{"token without role", []string{"token", "--dept", "tax", "--staff", "wang"}, "at least one role"},
		{"token unknown role", []string{"token", "--dept", "tax", "--staff", "wang", "--role", "king"}, "unknown"},
		{"token bad region", []string{"token", "--region", "1411", "--dept", "tax", "--staff", "wang", "--role", "clerk"}, "6 digits"},
		{"token bad ttl", []string{"token", "--dept", "tax", "--staff", "wang", "--role", "clerk", "--ttl", "-1h"}, "must be positive"},
		{"token ttl over 12h", []string{"token", "--dept", "tax", "--staff", "wang", "--role", "clerk", "--ttl", "24h"}, "at most 12h"},
		{"token empty aud", []string{"token", "--dept", "tax", "--staff", "wang", "--role", "clerk", "--aud", ""}, "--aud"},
		{"keys without rotate", []string{"keys"}, "want rotate"},
		{"keygen bad name", []string{"keygen", "--name", "../x"}, "--name"},
		{"set without reason", []string{"roster", "set", "--file", "r.json"}, "--reason is required"},
		{"set without file", []string{"roster", "set", "--reason", "x"}, "--file is required"},
		{"add-unit without name", []string{"roster", "add-unit", "--id", "x", "--reason", "x"}, "--id and --name"},
		{"remove-unit without id", []string{"roster", "remove-unit", "--reason", "x"}, "--id is required"},
		{"add-staff without role", []string{"roster", "add-staff", "--unit", "tax", "--id", "wang", "--name", "王小明", "--reason", "x"}, "at least one --role"},
		{"remove-staff without reason", []string{"roster", "remove-staff", "--id", "wang"}, "--reason is required"},
		{"get bad region", []string{"roster", "get", "--region", "abc"}, "6 digits"},
		{"unknown flag", []string{"roster", "get", "--colour", "red"}, "flag provided but not defined"},
		{"stray argument", []string{"keygen", "extra"}, "unexpected arguments"},
		{"init without file", []string{"roster", "init"}, "--file is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.args, env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := Run(ctx, args, &out, &errOut, env(nil))
	return out.String(), errOut.String(), code
}

func TestKeygenAndToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	out, errOut, code := run(t, "keygen", "--dir", dir)
	if code != 0 || !strings.Contains(out, "wrote") {
		t.Fatalf("keygen: code %d, out %q, err %q", code, out, errOut)
	}
	before, err := os.ReadFile(filepath.Join(dir, "dev-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	out, _, code = run(t, "keygen", "--dir", dir)
	after, _ := os.ReadFile(filepath.Join(dir, "dev-key.pem"))
	if code != 0 || !strings.Contains(out, "keys exist") || !bytes.Equal(before, after) {
		t.Fatalf("second keygen: code %d, out %q, key replaced %v", code, out, !bytes.Equal(before, after))
	}

	out, errOut, code = run(t, "token", "--dept", "tax", "--staff", "wang", "--role", "clerk", "--role", "handler",
		"--key", filepath.Join(dir, "dev-key.pem"))
	if code != 0 {
		t.Fatalf("token: code %d, err %q", code, errOut)
	}
	pub, err := authn.LoadPublicKey(filepath.Join(dir, "dev-key.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := authn.NewVerifier(pub).Verify(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	want := authn.Identity{Region: "141181", Department: "tax", Staff: "wang", Roles: []string{"clerk", "handler"}}
	if diff := cmp.Diff(want, id); diff != "" {
		t.Errorf("token identity (-want +got):\n%s", diff)
	}

	_, errOut, code = run(t, "token", "--dept", "tax", "--staff", "wang", "--role", "clerk", "--key", filepath.Join(dir, "missing.pem"))
	if code != 1 || !strings.Contains(errOut, "missing.pem") {
		t.Errorf("token with a missing key: code %d, err %q", code, errOut)
	}
}

func TestKeysRotate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if _, errOut, code := run(t, "keys", "rotate", "--dir", dir); code != 1 || !strings.Contains(errOut, "keygen first") {
		t.Fatalf("rotate without keys: code %d, err %q", code, errOut)
	}
	if _, errOut, code := run(t, "keygen", "--dir", dir); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	key := filepath.Join(dir, "dev-key.pem")
	token := func() string {
		t.Helper()
		out, errOut, code := run(t, "token", "--dept", "tax", "--staff", "wang", "--role", "clerk", "--key", key)
		if code != 0 {
			t.Fatalf("token: %s", errOut)
		}
		return strings.TrimSpace(out)
	}
	oldTok := token()
	out, errOut, code := run(t, "keys", "rotate", "--dir", dir)
	if code != 0 || !strings.Contains(out, "old public key kept") {
		t.Fatalf("rotate: code %d, out %q, err %q", code, out, errOut)
	}
	newTok := token()

	// The directory is the services' key set: both kids verify.
	keys, err := authn.LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(keys.IDs()); n != 2 {
		t.Fatalf("key set after one rotation has %d keys, want 2", n)
	}
	v := authn.NewKeySetVerifier(keys, authn.VerifyOptions{})
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := v.Verify(tok); err != nil {
			t.Errorf("%s kid after rotation: %v", name, err)
		}
	}
	if oldTok == newTok || kid(t, oldTok) == kid(t, newTok) {
		t.Fatalf("rotation kept the kid %q", kid(t, oldTok))
	}
	// The directory's only private key is the new one.
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(entries) != 3 {
		t.Errorf("key dir holds %v, want dev-key.pem, dev-key.pub.pem and the old kid's .pub.pem", names)
	}
}

// kid returns the kid header of a token.
func kid(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func TestRosterInit(t *testing.T) {
	e := testenv.StartEtcd(t)
	out, errOut, code := run(t, append([]string{"roster", "init", "--file", seedFile}, etcdAuth(e)...)...)
	if code != 0 || !strings.Contains(out, "seeded the roster of region 141181") {
		t.Fatalf("first init: code %d, out %q, err %q", code, out, errOut)
	}
	out, errOut, code = run(t, append([]string{"roster", "init", "--file", seedFile}, etcdAuth(e)...)...)
	if code != 0 || !strings.Contains(out, "already has a roster") {
		t.Fatalf("second init: code %d, out %q, err %q", code, out, errOut)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, _, err := roster.Load(ctx, e.Client(t), "141181")
	if err != nil {
		t.Fatal(err)
	}
	want, err := roster.LoadFile(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	got.Etag = ""
	sortByID := protocmp.SortRepeated(func(a, b *rosterv1.MemberUnit) bool { return a.GetId() < b.GetId() })
	if diff := cmp.Diff(want, got, protocmp.Transform(), sortByID); diff != "" {
		t.Errorf("seeded roster (-want +got):\n%s", diff)
	}

	// A roster file that fails validation is refused with its violations.
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"name": "regions/140100/roster", "regionName": "太原市", "units": [{"id": "tax", "name": "市税务局"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = run(t, append([]string{"roster", "init", "--file", bad}, etcdAuth(e)...)...)
	if code != 1 || !strings.Contains(errOut, "error: invalid roster") || !strings.Contains(errOut, "leadership: required") {
		t.Errorf("init of an invalid roster: code %d, err %q", code, errOut)
	}
}

func TestReportStatus(t *testing.T) {
	var b bytes.Buffer
	report(&b, apierr.Invalid(apierr.Violation{Field: "roster.units[2].id", Reason: "duplicate"}))
	got := b.String()
	for _, want := range []string{"error: InvalidArgument:", "reason: INVALID_ARGUMENT", "roster.units[2].id: duplicate"} {
		if !strings.Contains(got, want) {
			t.Errorf("report output %q lacks %q", got, want)
		}
	}
	b.Reset()
	report(&b, apierr.New(codes.Aborted, "ETAG_MISMATCH", "changed"))
	if got := b.String(); !strings.Contains(got, "error: Aborted: changed") || !strings.Contains(got, "reason: ETAG_MISMATCH") {
		t.Errorf("report output %q", got)
	}
}

func TestCertsInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	out, errOut, code := run(t, "certs", "init", "--dir", dir, "--hosts", "disputes.local, 10.1.2.3")
	if code != 0 || !strings.Contains(out, "wrote "+filepath.Join(dir, "client-key.pem")) {
		t.Fatalf("certs init: code %d, out %q, err %q", code, out, errOut)
	}
	if _, err := mtls.ServerConfig(mtls.DirFiles(dir, "meeting")); err != nil {
		t.Errorf("meeting's files: %v", err)
	}
	out, _, code = run(t, "certs", "init", "--dir", dir)
	if code != 0 || !strings.Contains(out, "in place") {
		t.Errorf("second certs init: code %d, out %q; want nothing written", code, out)
	}
}

func TestEtcdCommandsNeedCredentials(t *testing.T) {
	e := testenv.StartEtcd(t)
	_, errOut, code := run(t, "roster", "init", "--file", seedFile, "--etcd", e.Endpoint)
	if code == 0 {
		t.Fatal("roster init without etcd credentials succeeded")
	}
	if !strings.Contains(errOut, "user name is empty") {
		t.Errorf("err %q, want etcd's refusal", errOut)
	}
}
