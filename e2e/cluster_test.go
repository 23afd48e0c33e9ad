package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// ClusterEnv names the environment variable that runs the end-to-end
// tests on the scaled topology (make test-cluster): a Redis Cluster of
// three masters and three replicas, a three-member etcd cluster, two
// replicas of intake, routing, meeting and the archive (the archive's on one
// data directory, one elected to write the sealed log), and the gateway
// finding the replicas in etcd and calling them in turn.
const ClusterEnv = "DISPUTES_E2E_CLUSTER"

// clusterTopology reports whether the tests run on that topology.
func clusterTopology() bool { return os.Getenv(ClusterEnv) == "1" }

// replicasOf is how many processes of each service the cluster topology runs.
var replicasOf = map[string]int{"meeting": 2, "intake": 2, "routing": 2, "archive": 2}

// startClusterPlatform is startPlatform on the cluster topology. p.redis
// and p.etcd are nil (tests that reach into them run on the single
// topology only); p.grpc and p.admin name each service's first replica.
func startClusterPlatform(t *testing.T) *platform {
	t.Helper()
	p := &platform{t: t, bin: binaries(t), dir: t.TempDir(), grpc: map[string]string{}, admin: map[string]string{}}
	rc := testenv.StartRedisCluster(t)
	ec := testenv.StartEtcdCluster(t)
	p.redisCluster, p.etcdCluster = rc, ec
	var secure []string
	p.certs, secure = secureEnv(t, p.dir,
		&testenv.Redis{User: rc.User, PasswordFile: rc.PasswordFile},
		&testenv.Etcd{User: ec.User, PasswordFile: ec.PasswordFile})
	keys := filepath.Join(p.dir, "keys")
	p.run("keygen", "--dir", keys)
	p.run("keygen", "--dir", filepath.Join(p.dir, "archive-key"), "--name", "checkpoint")
	p.key = filepath.Join(keys, "dev-key.pem")
	env := append(append(os.Environ(), secure...),
		"DISPUTES_PUBLIC_KEY="+keys,
		"DISPUTES_REDIS_ADDR="+rc.Addr(),
		"DISPUTES_ETCD_ENDPOINTS="+ec.Endpoint(),
		"ARCHIVE_DATA_DIR="+filepath.Join(p.dir, "archive"),
		"ARCHIVE_SIGNING_KEY="+filepath.Join(p.dir, "archive-key", "checkpoint.pem"),
	)
	p.env = env
	one := ec.Members[0].Endpoint
	p.run("roster", "init", "--file", "../deploy/roster/"+region+".json", "--etcd", one)
	p.run("config", "init", "--dir", "../deploy/config", "--etcd", one)
	standInCalendars(t, p.dir, one, p.run)
	addrs := map[string][]string{}
	var ready []string
	for _, svc := range []string{"meeting", "intake", "routing", "archive"} {
		for i := range replicasOf[svc] {
			grpcAddr, admin := testenv.FreeAddr(t), testenv.FreeAddr(t)
			if i == 0 {
				p.grpc[svc], p.admin[svc] = grpcAddr, admin
			}
			addrs[svc] = append(addrs[svc], grpcAddr)
			p.admin[svc+"-"+string(rune('a'+i))] = admin
			ready = append(ready, admin)
			p.startAs(svc, svc+"-"+string(rune('a'+i)), env, "-grpc-addr", grpcAddr, "-admin-addr", admin, "-drain-delay", "0s")
		}
	}
	for _, admin := range ready {
		p.waitHTTP(admin, "http://"+admin+"/readyz")
	}
	gw := testenv.FreeAddr(t)
	p.gateway = "http://" + gw
	p.admin["gateway"] = testenv.FreeAddr(t)
	// The gateway finds the replicas in etcd, where each registered its
	// address; the lists are for CLUSTER_DISCOVERY=0.
	gwArgs := []string{"-http-addr", gw, "-admin-addr", p.admin["gateway"], "-drain-delay", "0s"}
	if os.Getenv("CLUSTER_DISCOVERY") == "0" {
		gwArgs = append(gwArgs, "-intake-addr", strings.Join(addrs["intake"], ","), "-routing-addr", strings.Join(addrs["routing"], ","),
			"-meeting-addr", strings.Join(addrs["meeting"], ","), "-archive-addr", strings.Join(addrs["archive"], ","))
	} else {
		gwArgs = append(gwArgs, "-discovery")
	}
	p.start("gateway", env, gwArgs...)
	p.waitHTTP("gateway", "http://"+p.admin["gateway"]+"/readyz")
	// A second gateway, as a load balancer would put side by side with the
	// first: both keep the console's sessions in the Redis Cluster.
	gwB := testenv.FreeAddr(t)
	p.admin["gateway-b"] = testenv.FreeAddr(t)
	gwArgs[1], gwArgs[3] = gwB, p.admin["gateway-b"]
	p.startAs("gateway", "gateway-b", env, gwArgs...)
	p.waitHTTP("gateway-b", "http://"+p.admin["gateway-b"]+"/readyz")
	p.gateways = []string{p.gateway, "http://" + gwB}
	return p
}

// TestClusterOutlivesFailures drives whole lifecycles (register, route
// TRANSFER to hrss, receive, reply, close) through both gateways with four
// clients while, one after another, these are killed with SIGKILL: an
// intake replica, the Redis master of the region's slot (its replica is
// promoted; the killed node then rejoins as a replica), an etcd member, a
// routing replica, a meeting replica, a gateway and the archive replica
// writing the sealed log. A client retries a call that failed on the other
// gateway, a registration with the same request id, and chooses each step
// from the dispute's state. Afterwards: no state a call acknowledged was
// ever seen undone, the numbers are 1..N without a gap, every dispute
// closed is sealed once (one leaf each, the tree exactly that size), and
// the log after the kills is consistent with the checkpoint before them.
func TestClusterOutlivesFailures(t *testing.T) {
	if !clusterTopology() {
		t.Skip("the cluster topology only (make test-cluster)")
	}
	p := startPlatform(t)
	d := &clusterDriver{p: p, clerk: p.token("tax", "wang", "clerk", "handler"), hrss: p.token("hrss", "liu", "handler"),
		acked: map[string]int{}, numbers: map[string]string{}, failures: map[string]int{}}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				d.lifecycle(t, fmt.Sprintf("cluster-%d-%d", w, i), w*100_000+i)
			}
		})
	}
	parent := "/v1/regions/" + region + "/checkpoint"
	var before map[string]any
	eventually(t, "a checkpoint of some sealed dossiers", 120*time.Second, func() error {
		code, cp, err := d.call("GET", parent, d.clerk, nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("HTTP %d %v %v", code, cp, err)
		}
		if n, _ := strconv.Atoi(fmt.Sprint(cp["treeSize"])); n < 5 {
			return fmt.Errorf("tree of %d leaves", n)
		}
		before = cp
		return nil
	})
	kill := func(what string, f func()) {
		time.Sleep(4 * time.Second)
		f()
		t.Logf("killed %s; %d lifecycles closed, failed calls so far %v", what, d.closedCount(), d.failureCounts())
	}
	kill("intake-b", func() { p.named["intake-b"].Process.Kill() })
	kill("the Redis master of the region's slot", func() {
		killed := p.redisCluster.KillMaster(t, "{"+region+"}")
		p.redisCluster.RestartNode(t, killed)
	})
	kill("an etcd member", func() { p.etcdCluster.Kill(0) })
	kill("routing-b", func() { p.named["routing-b"].Process.Kill() })
	kill("meeting-b", func() { p.named["meeting-b"].Process.Kill() })
	kill("gateway-b", func() { p.named["gateway-b"].Process.Kill() })
	kill("the sealed log's writer", func() { p.named[p.sealedLogWriter(t)].Process.Kill() })
	time.Sleep(5 * time.Second)
	stop()
	wg.Wait()

	d.mu.Lock()
	defer d.mu.Unlock()
	t.Logf("%d lifecycles closed of %d registered; failed calls (retried) %v", len(d.closed), len(d.numbers), d.failures)
	for _, v := range d.lost {
		t.Error(v)
	}
	if len(d.closed) != len(d.numbers) || len(d.closed) < 20 {
		t.Fatalf("%d of %d lifecycles closed", len(d.closed), len(d.numbers))
	}
	year := time.Now().In(time.FixedZone("CST", 8*3600)).Year()
	for k := 1; k <= len(d.numbers); k++ {
		if _, ok := d.numbers[fmt.Sprintf("%d年第%d号", year, k)]; !ok {
			t.Fatalf("number %d missing: the %d registrations are not numbered 1..%d", k, len(d.numbers), len(d.numbers))
		}
	}
	leaves := map[string]string{}
	for _, name := range d.closed {
		eventually(t, name+" sealed", 120*time.Second, func() error {
			code, resp, err := d.call("GET", "/v1/"+name+"/dossier", d.clerk, nil)
			if err != nil || code != http.StatusOK {
				return fmt.Errorf("HTTP %d %v %v", code, resp, err)
			}
			dossier, _ := resp["dossier"].(map[string]any)
			if dossier["sealed"] != true {
				return errors.New("not sealed")
			}
			leaf := fmt.Sprint(dossier["leafIndex"])
			if other, ok := leaves[leaf]; ok && other != name {
				t.Fatalf("leaf %s is both %s and %s", leaf, other, name)
			}
			leaves[leaf] = name
			return nil
		})
	}
	code, after, err := d.call("GET", parent, d.clerk, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("checkpoint: HTTP %d %v %v", code, after, err)
	}
	if fmt.Sprint(after["treeSize"]) != strconv.Itoa(len(d.closed)) {
		t.Fatalf("the log holds %v leaves for %d closed disputes", after["treeSize"], len(d.closed))
	}
	code, cons, err := d.call("GET", fmt.Sprintf("%s:consistency?fromSize=%v&toSize=%v", parent, before["treeSize"], after["treeSize"]), d.clerk, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("consistency proof: HTTP %d %v %v", code, cons, err)
	}
	from, _ := strconv.ParseUint(fmt.Sprint(before["treeSize"]), 10, 64)
	var hashes [][]byte
	for _, h := range cons["hashes"].([]any) {
		hashes = append(hashes, b64(t, h))
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, from, uint64(len(d.closed)), hashes,
		b64(t, before["rootHash"]), b64(t, after["rootHash"])); err != nil {
		t.Fatalf("the log after the kills does not extend the one before them: %v", err)
	}
}

func b64(t *testing.T, v any) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(fmt.Sprint(v))
	if err != nil {
		t.Fatalf("%v: %v", v, err)
	}
	return b
}

// clusterDriver runs lifecycles over every gateway of the cluster topology
// and remembers what each call acknowledged.
type clusterDriver struct {
	p           *platform
	clerk, hrss string
	next        atomic.Int64

	mu       sync.Mutex
	acked    map[string]int    // dispute -> highest state a call acknowledged (stateOrder)
	numbers  map[string]string // number -> dispute
	closed   []string
	lost     []string // acknowledged states seen undone
	failures map[string]int
}

// stateOrder orders the states of the transfer path.
var stateOrder = map[string]int{"DISPUTE_STATE_REGISTERED": 1, "DISPUTE_STATE_TRANSFERRED": 2,
	"DISPUTE_STATE_HANDLING": 3, "DISPUTE_STATE_REPLIED": 4, "DISPUTE_STATE_CLOSED": 5}

// call sends one request to the next gateway, and to the other when that
// one cannot be reached.
func (d *clusterDriver) call(method, path, token string, body any) (int, map[string]any, error) {
	n := int(d.next.Add(1))
	var err error
	for k := range d.p.gateways {
		var code int
		var resp map[string]any
		code, resp, err = httpCall(d.p.gateways[(n+k)%len(d.p.gateways)], method, path, token, body)
		if err == nil {
			return code, resp, nil
		}
	}
	return 0, nil, err
}

func (d *clusterDriver) failed(what string, code int, resp map[string]any, err error) {
	key := fmt.Sprintf("%s HTTP %d", what, code)
	if err != nil {
		key = what + " unreachable"
	} else if info, ok := resp["details"].([]any); ok && len(info) > 0 {
		if m, ok := info[0].(map[string]any); ok && m["reason"] != nil {
			key += " " + fmt.Sprint(m["reason"])
		}
	}
	d.mu.Lock()
	d.failures[key]++
	d.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
}

func (d *clusterDriver) closedCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.closed)
}

func (d *clusterDriver) failureCounts() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.failures)
}

// lifecycle takes one dispute from registration to closing, within two
// minutes.
func (d *clusterDriver) lifecycle(t *testing.T, requestID string, seq int) {
	deadline := time.Now().Add(2 * time.Minute)
	req := registration(requestID, fmt.Sprintf("139%08d", seq))
	var name string
	for {
		code, resp, err := d.call("POST", "/v1/regions/"+region+"/disputes", d.clerk, req)
		if err == nil && code == http.StatusOK {
			dispute, _ := resp["dispute"].(map[string]any)
			name = fmt.Sprint(dispute["name"])
			number := fmt.Sprint(dispute["number"])
			d.mu.Lock()
			if prev, ok := d.numbers[number]; ok && prev != name {
				d.lost = append(d.lost, fmt.Sprintf("number %s given to %s and %s", number, prev, name))
			}
			d.numbers[number] = name
			d.acked[name] = max(d.acked[name], stateOrder["DISPUTE_STATE_REGISTERED"])
			d.mu.Unlock()
			break
		}
		d.failed("register", code, resp, err)
		if time.Now().After(deadline) {
			t.Errorf("registration %s not acknowledged within 2 minutes", requestID)
			return
		}
	}
	state := func(resp map[string]any) string {
		tr, _ := resp["tracking"].(map[string]any)
		return fmt.Sprint(tr["state"])
	}
	for time.Now().Before(deadline) {
		code, resp, err := d.call("GET", "/v1/"+name+"/tracking", d.clerk, nil)
		if err != nil || code != http.StatusOK {
			d.failed("tracking", code, resp, err)
			continue
		}
		st := state(resp)
		d.mu.Lock()
		if stateOrder[st] < d.acked[name] {
			d.lost = append(d.lost, fmt.Sprintf("%s is %s after a call acknowledged state %d", name, st, d.acked[name]))
		}
		d.mu.Unlock()
		token, verb, body := d.hrss, "", map[string]any{}
		switch st {
		case "DISPUTE_STATE_REGISTERED":
			token, verb, body = d.clerk, "route", map[string]any{"kind": "ROUTE_KIND_TRANSFER", "targetDepartment": "hrss",
				"opinion": "属人社部门待遇核定职责", "reasonCode": "OTHER_DUTY"}
		case "DISPUTE_STATE_TRANSFERRED":
			verb = "receive"
		case "DISPUTE_STATE_HANDLING":
			verb, body = "reply", map[string]any{"outcome": "已重新核定待遇", "text": "经核查，已按规定重新核定并补发。"}
		case "DISPUTE_STATE_REPLIED":
			verb, body = "close", map[string]any{"reason": "申请人对答复无异议"}
		case "DISPUTE_STATE_CLOSED":
			d.mu.Lock()
			d.closed = append(d.closed, name)
			d.mu.Unlock()
			return
		default:
			t.Errorf("%s in state %s", name, st)
			return
		}
		code, resp, err = d.call("POST", "/v1/"+name+":"+verb, token, body)
		if err != nil || code != http.StatusOK {
			d.failed(verb, code, resp, err)
			continue
		}
		d.mu.Lock()
		d.acked[name] = max(d.acked[name], stateOrder[state(resp)])
		d.mu.Unlock()
	}
	t.Errorf("%s not closed within 2 minutes", name)
}

// sealedLogWriter returns the name of the archive replica that writes the
// sealed log ("archive-a", ...), waiting until one does.
func (p *platform) sealedLogWriter(t *testing.T) string {
	t.Helper()
	var writer string
	eventually(t, "an archive replica writing the sealed log", 60*time.Second, func() error {
		var seen []string
		for i := range replicasOf["archive"] {
			name := "archive-" + string(rune('a'+i))
			info, err := readyInfo(p.admin[name])
			if err != nil {
				seen = append(seen, name+": "+err.Error())
				continue
			}
			if info["sealed_log"] == "writer" {
				writer = name
				return nil
			}
			seen = append(seen, name+": "+info["sealed_log"])
		}
		return fmt.Errorf("none: %s", strings.Join(seen, ", "))
	})
	return writer
}
