// Package e2e drives the whole platform as its users do: the real binaries,
// a real Redis and etcd, gRPC and HTTP through the gateway.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/mtls"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

const region = "141181"

// platform is one running deployment.
type platform struct {
	t        *testing.T
	bin      string
	dir      string
	key      string
	certs    string            // the CA, the services' and the client's certificates
	env      []string          // the environment every binary runs with
	grpc     map[string]string // service -> gRPC address
	admin    map[string]string // service (and "gateway") -> admin address
	gateway  string            // http://host:port
	gateways []string          // every gateway's http://host:port (the cluster topology runs two)
	redis    *testenv.Redis
	etcd     *testenv.Etcd
	services []*exec.Cmd
	// named are the processes by the name of their log ("intake",
	// "intake-b", ...); redisCluster and etcdCluster are the cluster
	// topology's servers (nil on the single one).
	named        map[string]*exec.Cmd
	redisCluster *testenv.RedisCluster
	etcdCluster  *testenv.EtcdCluster
}

// binaries returns the folder holding the platform's binaries: $DISPUTES_BIN
// (make test builds them first) or a fresh build.
func binaries(t *testing.T) string {
	if dir := os.Getenv("DISPUTES_BIN"); dir != "" {
		return dir
	}
	dir := t.TempDir()
	pkg := "github.com/xiaoyi-disputes/disputes/"
	cmd := exec.Command("go", "build", "-o", dir+"/",
		pkg+"intake/cmd/intake", pkg+"routing/cmd/routing", pkg+"meeting/cmd/meeting",
		pkg+"archive/cmd/archive", pkg+"gateway/cmd/gateway", pkg+"disputectl/cmd/disputectl")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build binaries: %v\n%s", err, out)
	}
	return dir
}

func (p *platform) run(args ...string) string {
	p.t.Helper()
	cmd := exec.Command(filepath.Join(p.bin, "disputectl"), args...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("disputectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func startPlatform(t *testing.T) *platform {
	t.Helper()
	if clusterTopology() {
		return startClusterPlatform(t)
	}
	p := &platform{t: t, bin: binaries(t), dir: t.TempDir(), grpc: map[string]string{}, admin: map[string]string{}}
	p.redis = testenv.StartRedis(t)
	p.etcd = testenv.StartEtcd(t)
	var secure []string
	p.certs, secure = secureEnv(t, p.dir, p.redis, p.etcd)
	keys := filepath.Join(p.dir, "keys")
	p.run("keygen", "--dir", keys)
	p.run("keygen", "--dir", filepath.Join(p.dir, "archive-key"), "--name", "checkpoint")
	p.key = filepath.Join(keys, "dev-key.pem")
	env := append(append(os.Environ(), secure...),
		"DISPUTES_PUBLIC_KEY="+keys,
		"DISPUTES_REDIS_ADDR="+p.redis.Addr,
		"DISPUTES_ETCD_ENDPOINTS="+p.etcd.Endpoint,
		"ARCHIVE_DATA_DIR="+filepath.Join(p.dir, "archive"),
		"ARCHIVE_SIGNING_KEY="+filepath.Join(p.dir, "archive-key", "checkpoint.pem"),
	)
	p.env = env
	p.run("roster", "init", "--file", "../deploy/roster/"+region+".json", "--etcd", p.etcd.Endpoint)
	p.run("config", "init", "--dir", "../deploy/config", "--etcd", p.etcd.Endpoint)
	standInCalendars(t, p.dir, p.etcd.Endpoint, p.run)
	for _, svc := range []string{"meeting", "intake", "routing", "archive"} {
		p.grpc[svc], p.admin[svc] = testenv.FreeAddr(t), testenv.FreeAddr(t)
		p.start(svc, env, "-grpc-addr", p.grpc[svc], "-admin-addr", p.admin[svc], "-drain-delay", "0s")
	}
	for svc, addr := range p.admin {
		p.waitHTTP(svc, "http://"+addr+"/readyz")
		if err := waitRoster(addr, region, 30*time.Second); err != nil {
			p.t.Fatalf("%s: %v", svc, err)
		}
	}
	gw := testenv.FreeAddr(t)
	p.gateway = "http://" + gw
	p.admin["gateway"] = testenv.FreeAddr(t)
	p.start("gateway", env, "-http-addr", gw, "-admin-addr", p.admin["gateway"], "-drain-delay", "0s",
		"-intake-addr", p.grpc["intake"], "-routing-addr", p.grpc["routing"],
		"-meeting-addr", p.grpc["meeting"], "-archive-addr", p.grpc["archive"],
		// The console's development sign-in, as in make run (console_browser_test.go).
		"-signing-key", p.key, "-signin-region", region, "-dev-signin")
	p.waitHTTP("gateway", "http://"+p.admin["gateway"]+"/readyz")
	return p
}

func (p *platform) start(name string, env []string, args ...string) {
	p.t.Helper()
	p.startAs(name, name, env, args...)
}

// startAs runs the binary name as the process called as (its log's name).
func (p *platform) startAs(name, as string, env []string, args ...string) {
	p.t.Helper()
	logf, err := os.Create(filepath.Join(p.dir, as+".log"))
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", name, err)
	}
	p.services = append(p.services, cmd)
	if p.named == nil {
		p.named = map[string]*exec.Cmd{}
	}
	p.named[as] = cmd
	p.t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if p.t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			p.t.Logf("--- %s log (tail) ---\n%s", as, tail(b, 3000))
		}
	})
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (p *platform) waitHTTP(what, url string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not ready at %s: %v", what, url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRoster waits until the /readyz of the admin listener at addr
// reports the roster in force for region ("roster": "ok" and region among
// "roster_regions" under info): until then intake refuses a registration
// with NO_ROSTER, and the other services refuse or defer what needs the
// roster.
func waitRoster(addr, region string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		info, err := readyInfo(addr)
		if err == nil {
			if info["roster"] == "ok" && slices.Contains(strings.Fields(info["roster_regions"]), region) {
				return nil
			}
			err = fmt.Errorf("roster %q, roster regions %q", info["roster"], info["roster_regions"])
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the roster of region %s not in force within %v: %v", region, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readyInfo reads the info entries of the /readyz at admin address addr.
func readyInfo(addr string) (map[string]string, error) {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Info map[string]string `json:"info"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("readyz: %w", err)
	}
	return body.Info, nil
}

func (p *platform) token(dept, staff string, roles ...string) string {
	p.t.Helper()
	priv, err := authn.LoadPrivateKey(p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	tok, err := authn.Issue(priv, authn.Identity{Region: region, Department: dept, Staff: staff, Roles: roles}, time.Hour)
	if err != nil {
		p.t.Fatal(err)
	}
	return tok
}

func (p *platform) conn(svc, token string) *grpc.ClientConn {
	p.t.Helper()
	opts := []grpc.DialOption{clientTLS(p.t, p.certs, "client", svc)}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(authn.TokenCredentials(token)))
	}
	c, err := grpc.NewClient(p.grpc[svc], opts...)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { c.Close() })
	return c
}

// httpJSON calls the gateway and returns the status and decoded body.
func (p *platform) httpJSON(method, path, token string, body any) (int, map[string]any) {
	p.t.Helper()
	code, out, err := httpCall(p.gateway, method, path, token, body)
	if err != nil {
		p.t.Fatal(err)
	}
	return code, out
}

// httpCall sends a JSON request to the gateway at base and decodes its
// JSON answer; err is a request that got no answer or one not in JSON.
func httpCall(base, method, path, token string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return 0, nil, fmt.Errorf("%s %s: status %d, body not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out, nil
}

// httpClient bounds a call, so a gateway killed mid-call does not hang it.
var httpClient = &http.Client{Timeout: 30 * time.Second}

func registration(requestID, phone string) map[string]any {
	return map[string]any{
		"requestId": requestID,
		"dispute": map[string]any{
			"claimant": map[string]any{
				"kind": "CLAIMANT_KIND_INDIVIDUAL", "name": "张三", "phone": phone,
			},
			"complaint":             "单位未按实际工资申报缴费基数",
			"category":              "CATEGORY_BASE_DECLARATION",
			"channel":               "CHANNEL_WINDOW",
			"registeringDepartment": "tax",
		},
	}
}

func eventually(t *testing.T, what string, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPlatformEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	p := startPlatform(t)
	ctx := context.Background()
	clerk := p.token("tax", "wang", "clerk", "handler")
	year := time.Now().In(time.FixedZone("CST", 8*3600)).Year()

	t.Run("every service serves health and reflection", func(t *testing.T) {
		for svc, want := range map[string]string{
			"intake": "disputes.intake.v1.IntakeService", "routing": "disputes.routing.v1.RoutingService",
			"meeting": "disputes.roster.v1.RosterService", "archive": "disputes.archive.v1.ArchiveService",
		} {
			c := p.conn(svc, "")
			resp, err := healthpb.NewHealthClient(c).Check(ctx, &healthpb.HealthCheckRequest{})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("%s health: %v %v", svc, resp, err)
			}
			stream, err := reflectionpb.NewServerReflectionClient(c).ServerReflectionInfo(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := stream.Send(&reflectionpb.ServerReflectionRequest{
				MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
				t.Fatal(err)
			}
			r, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range r.GetListServicesResponse().GetService() {
				names = append(names, s.GetName())
			}
			if !strings.Contains(strings.Join(names, " "), want) {
				t.Errorf("%s reflection lists %v, want %s", svc, names, want)
			}
			stream.CloseSend()
		}
	})

	t.Run("transport is mutual TLS, Redis and etcd need credentials", func(t *testing.T) {
		other := t.TempDir()
		if _, err := mtls.InitDir(other, nil); err != nil {
			t.Fatal(err)
		}
		foreign, err := mtls.ClientConfig(mtls.Files{Cert: filepath.Join(other, "client.pem"),
			Key: filepath.Join(other, "client-key.pem"), CA: filepath.Join(p.certs, "ca.pem")}, "intake")
		if err != nil {
			t.Fatal(err)
		}
		for name, creds := range map[string]grpc.DialOption{
			"plaintext gRPC":                       grpc.WithTransportCredentials(insecure.NewCredentials()),
			"a client certificate of another CA":   grpc.WithTransportCredentials(credentials.NewTLS(foreign)),
			"intake's address taken for routing's": clientTLS(t, p.certs, "client", "routing"),
		} {
			c, err := grpc.NewClient(p.grpc["intake"], creds)
			if err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = healthpb.NewHealthClient(c).Check(cctx, &healthpb.HealthCheckRequest{})
			cancel()
			c.Close()
			if status.Code(err) != codes.Unavailable {
				t.Errorf("%s to intake: %v, want Unavailable (refused)", name, err)
			}
		}

		anon := redis.NewClient(&redis.Options{Addr: p.redis.Addr, MaxRetries: -1})
		defer anon.Close()
		if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
			t.Errorf("Redis without a password: %v, want NOAUTH", err)
		}
		wrong := redis.NewClient(&redis.Options{Addr: p.redis.Addr, Username: p.redis.User, Password: "guess", MaxRetries: -1})
		defer wrong.Close()
		if err := wrong.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
			t.Errorf("Redis with a wrong password: %v, want WRONGPASS", err)
		}
		ec, err := clientv3.New(clientv3.Config{Endpoints: []string{p.etcd.Endpoint}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		defer ec.Close()
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := ec.Get(ectx, "/disputes/"+region+"/roster/region"); err == nil {
			t.Error("etcd without credentials answered a read of the roster")
		}
	})

	t.Run("identity is required and checked", func(t *testing.T) {
		code, _ := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", "", registration("anon-1", "13812345678"))
		if code != http.StatusUnauthorized {
			t.Errorf("no token: HTTP %d, want 401", code)
		}
		code, _ = p.httpJSON("POST", "/v1/regions/"+region+"/disputes", "not-a-token", registration("anon-2", "13812345678"))
		if code != http.StatusUnauthorized {
			t.Errorf("bad token: HTTP %d, want 401", code)
		}
		office := p.token("tax", "li", "office")
		code, _ = p.httpJSON("POST", "/v1/regions/"+region+"/disputes", office, registration("office-1", "13812345678"))
		if code != http.StatusForbidden {
			t.Errorf("office role registering: HTTP %d, want 403", code)
		}
	})

	t.Run("bad input is refused with the field named and consumes no number", func(t *testing.T) {
		code, body := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", clerk, registration("bad-phone", "1381234567"))
		if code != http.StatusBadRequest {
			t.Fatalf("10-digit phone: HTTP %d %v, want 400", code, body)
		}
		if !strings.Contains(fmt.Sprint(body["details"]), "dispute.claimant.phone") {
			t.Errorf("400 body does not name dispute.claimant.phone: %v", body)
		}
		bad := registration("bad-category", "13812345678")
		bad["dispute"].(map[string]any)["category"] = "CATEGORY_UNSPECIFIED"
		if code, body := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", clerk, bad); code != http.StatusBadRequest ||
			!strings.Contains(fmt.Sprint(body), "dispute.category") {
			t.Errorf("unspecified category: HTTP %d %v, want 400 naming dispute.category", code, body)
		}
		unknown := registration("unknown-category", "13812345678")
		unknown["dispute"].(map[string]any)["category"] = "CATEGORY_NOPE"
		if code, body := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", clerk, unknown); code != http.StatusBadRequest ||
			!strings.Contains(fmt.Sprint(body["details"]), "field:category") {
			t.Errorf("unknown category name: HTTP %d %v, want 400 with a field violation on category", code, body)
		}
	})

	var name string
	t.Run("registration gets a number, a tracker and a dossier", func(t *testing.T) {
		code, body := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", clerk, registration("reg-1", "13812345678"))
		if code != http.StatusOK {
			t.Fatalf("register: HTTP %d %v", code, body)
		}
		d := body["dispute"].(map[string]any)
		if want := fmt.Sprintf("%d年第1号", year); d["number"] != want {
			t.Fatalf("number %v, want %s (the refused registrations must not consume numbers)", d["number"], want)
		}
		name = d["name"].(string)

		// A retry with the same request_id returns the same dispute.
		_, again := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", clerk, registration("reg-1", "13812345678"))
		if got := again["dispute"].(map[string]any)["number"]; got != d["number"] {
			t.Errorf("retried request_id got number %v, want %v", got, d["number"])
		}

		routing := routingv1.NewRoutingServiceClient(p.conn("routing", clerk))
		eventually(t, "routing tracks the dispute as REGISTERED", 10*time.Second, func() error {
			resp, err := routing.GetTracking(ctx, &routingv1.GetTrackingRequest{Name: name})
			if err != nil {
				return err
			}
			tr := resp.GetTracking()
			if tr.GetState() != typesv1.DisputeState_DISPUTE_STATE_REGISTERED {
				return fmt.Errorf("state %v", tr.GetState())
			}
			for _, c := range tr.GetClocks() {
				if c.GetStage() == routingv1.Stage_STAGE_ROUTING && c.GetDueTime() != nil && c.GetStopTime() == nil {
					return nil
				}
			}
			return fmt.Errorf("no running routing clock in %v", tr.GetClocks())
		})

		eventually(t, "the dossier holds the registration event", 10*time.Second, func() error {
			code, body := p.httpJSON("GET", "/v1/"+name+"/dossier", clerk, nil)
			if code != http.StatusOK {
				return fmt.Errorf("HTTP %d %v", code, body)
			}
			if !strings.Contains(fmt.Sprint(body), "disputes.intake.v1.DisputeRegistered") {
				return fmt.Errorf("no registration event in %v", body)
			}
			return nil
		})
		other := p.token("finance", "zhao", "handler")
		if _, err := archivev1.NewArchiveServiceClient(p.conn("archive", other)).GetDossier(ctx,
			&archivev1.GetDossierRequest{Name: name}); status.Code(err) != codes.NotFound {
			t.Errorf("another department reading the dossier: %v, want NotFound (as for one that does not exist)", err)
		}
	})

	t.Run("a roster change in etcd reaches GetRoster and intake without a restart", func(t *testing.T) {
		cli := p.etcd.Client(t)
		unit := &rosterv1.MemberUnit{Id: "medical", Name: "市医疗保障局", IntakePoint: true}
		raw, err := protojson.Marshal(unit)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Put(ctx, "/disputes/"+region+"/roster/units/medical", string(raw)); err != nil {
			t.Fatal(err)
		}
		roster := rosterv1.NewRosterServiceClient(p.conn("meeting", clerk))
		eventually(t, "GetRoster shows the new unit", 5*time.Second, func() error {
			resp, err := roster.GetRoster(ctx, &rosterv1.GetRosterRequest{Name: "regions/" + region + "/roster"})
			if err != nil {
				return err
			}
			for _, u := range resp.GetRoster().GetUnits() {
				if u.GetId() == "medical" {
					return nil
				}
			}
			return fmt.Errorf("unit not listed")
		})
		intake := intakev1.NewIntakeServiceClient(p.conn("intake", clerk))
		eventually(t, "intake accepts the new unit as proposed department", 5*time.Second, func() error {
			_, err := intake.RegisterDispute(ctx, &intakev1.RegisterDisputeRequest{
				Parent: "regions/" + region, RequestId: "roster-live-1",
				Dispute: &intakev1.Dispute{
					Claimant:  &intakev1.Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL, Name: "李四", Phone: "13912345678"},
					Complaint: "医保缴费基数核定有误", Category: typesv1.Category_CATEGORY_SPECIAL_ASSESSMENT,
					Channel: typesv1.Channel_CHANNEL_PHONE, RegisteringDepartment: "tax", ProposedDepartment: "medical",
				},
			})
			return err
		})
	})

	t.Run("with etcd stopped registrations still succeed", func(t *testing.T) {
		p.etcd.Stop()
		intake := intakev1.NewIntakeServiceClient(p.conn("intake", clerk))
		resp, err := intake.RegisterDispute(ctx, &intakev1.RegisterDisputeRequest{
			Parent: "regions/" + region, RequestId: "etcd-down-1",
			Dispute: &intakev1.Dispute{
				Claimant:  &intakev1.Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER, Name: "孝义市某煤业有限公司", Phone: "0358-7654321"},
				Complaint: "滞纳金计算起始日期有误", Category: typesv1.Category_CATEGORY_LATE_FEE,
				Channel: typesv1.Channel_CHANNEL_WINDOW, RegisteringDepartment: "tax",
			},
		})
		if err != nil {
			t.Fatalf("register with etcd down: %v", err)
		}
		if !strings.HasPrefix(resp.GetDispute().GetNumber(), fmt.Sprint(year)) {
			t.Errorf("number %q", resp.GetDispute().GetNumber())
		}
		eventually(t, "intake reports its roster stale", 5*time.Second, func() error {
			resp, err := http.Get("http://" + p.admin["intake"] + "/readyz")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(b), "stale") {
				return fmt.Errorf("readyz: %s", b)
			}
			return nil
		})
		p.etcd.Start(t)
		eventually(t, "intake catches up when etcd returns", 10*time.Second, func() error {
			resp, err := http.Get("http://" + p.admin["intake"] + "/readyz")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if strings.Contains(string(b), "stale") {
				return fmt.Errorf("readyz: %s", b)
			}
			return nil
		})
	})
}
