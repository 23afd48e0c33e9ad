package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
			grpcAddr, admin := freeAddr(t), freeAddr(t)
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
	gw := freeAddr(t)
	p.gateway = "http://" + gw
	p.admin["gateway"] = freeAddr(t)
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
	return p
}

// TestClusterOutlivesReplicasAndAnEtcdMember registers disputes through the
// gateway while, one after another, an intake replica, an etcd member,
// a routing replica and the archive replica writing the sealed log are
// killed (SIGKILL). A client retries a call that
// failed with the same request id, as the API asks. Afterwards every
// registration acknowledged is there, numbered 1..N without a gap, each
// with one tracker and one dossier. Killing a Redis master is left out:
// its failover may lose acknowledged writes (docs/ARCHITECTURE.md,
// "Durability on a cluster").
func TestClusterOutlivesReplicasAndAnEtcdMember(t *testing.T) {
	if !clusterTopology() {
		t.Skip("the cluster topology only (make test-cluster)")
	}
	p := startPlatform(t)
	clerk := p.token("tax", "wang", "clerk", "handler")
	const n = 60
	kills := map[int]func(){
		15: func() { p.named["intake-b"].Process.Kill() },
		30: func() { p.etcdCluster.Kill(0) },
		45: func() { p.named["routing-b"].Process.Kill() },
		52: func() { p.named[p.sealedLogWriter(t)].Process.Kill() },
	}
	names := map[string]string{} // number -> dispute name
	for i := range n {
		if kill, ok := kills[i]; ok {
			kill()
		}
		req := registration(fmt.Sprintf("cluster-%d", i), fmt.Sprintf("1380000%04d", i))
		var name, number string
		eventually(t, fmt.Sprintf("registration %d acknowledged", i), 60*time.Second, func() error {
			code, resp := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", clerk, req)
			if code != http.StatusOK {
				return fmt.Errorf("HTTP %d: %v", code, resp)
			}
			d, _ := resp["dispute"].(map[string]any)
			name, _ = d["name"].(string)
			number, _ = d["number"].(string)
			return nil
		})
		if prev, ok := names[number]; ok && prev != name {
			t.Fatalf("number %s given to %s and %s", number, prev, name)
		}
		names[number] = name
	}
	year := time.Now().In(time.FixedZone("CST", 8*3600)).Year()
	for k := 1; k <= n; k++ {
		number := fmt.Sprintf("%d年第%d号", year, k)
		name, ok := names[number]
		if !ok {
			t.Fatalf("number %s missing: numbers are not 1..%d (%d given)", number, n, len(names))
		}
		eventually(t, name+" tracked and filed", 60*time.Second, func() error {
			if code, resp := p.httpJSON("GET", "/v1/"+name+"/tracking", clerk, nil); code != http.StatusOK {
				return fmt.Errorf("tracking: HTTP %d: %v", code, resp)
			}
			if code, resp := p.httpJSON("GET", "/v1/"+name+"/dossier", clerk, nil); code != http.StatusOK {
				return fmt.Errorf("dossier: HTTP %d: %v", code, resp)
			}
			return nil
		})
	}
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
