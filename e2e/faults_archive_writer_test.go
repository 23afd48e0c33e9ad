//go:build faults

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// sealedLogWriter returns the archive replica that writes the sealed log,
// waiting until one does.
func (c *cluster) sealedLogWriter(t *testing.T, replicas ...*proc) *proc {
	t.Helper()
	var w *proc
	mustWait(t, "an archive replica writing the sealed log", 60*time.Second, func() (bool, string) {
		var seen []string
		for _, p := range replicas {
			info, err := readyInfo(p.admin)
			if err != nil {
				seen = append(seen, p.name+": "+err.Error())
				continue
			}
			seen = append(seen, p.name+": "+info["sealed_log"])
			if info["sealed_log"] == "writer" {
				w = p
				return true, ""
			}
		}
		return false, strings.Join(seen, ", ")
	})
	return w
}

// Two archive replicas on one data directory: the elected one seals, the
// other serves reads. The writer is killed with SIGKILL while lifecycles
// close disputes; the other takes over from the directory. Afterwards every
// dispute closed in routing is sealed once (one leaf each, the tree exactly
// that size), the log is consistent with the checkpoint issued before the
// kill, an exported dossier verifies offline with disputectl, and the killed
// replica comes back as a standby.
func TestFaultArchiveWriterKilledWhileSealing(t *testing.T) {
	c := newCluster(t)
	c.startPlatform()
	second := c.startService("archive")
	first := c.replica("archive", 0)
	writer := c.sealedLogWriter(t, first, second)
	standby := first
	if writer == first {
		standby = second
	}
	clerk := c.token("tax", "wang", "clerk", "handler")
	cl := c.clients()
	cl.archive = archivev1.NewArchiveServiceClient(standby.conn(clerk))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := &lifecycles{cl: cl}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(ctx, t, "writer-kill", 4)
	}()
	// Kill the writer once some dossiers are sealed, in the midst of the load.
	var before *archivev1.GetCheckpointResponse
	mustWait(t, "some dossiers sealed before the kill", 120*time.Second, func() (bool, string) {
		cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
		defer ccancel()
		cp, err := cl.archive.GetCheckpoint(cctx, &archivev1.GetCheckpointRequest{Parent: "regions/" + region})
		if err != nil {
			return false, err.Error()
		}
		before = cp
		return cp.GetTreeSize() >= 10, fmt.Sprintf("tree of %d leaves, %d lifecycles closed", cp.GetTreeSize(), l.completed.Load())
	})
	writer.kill9()
	t.Logf("killed the sealed log's writer %s at a tree of %d leaves", writer.name, before.GetTreeSize())
	if w := c.sealedLogWriter(t, standby); w != standby {
		t.Fatalf("the standby %s did not take over", standby.name)
	}
	target := l.completed.Load() + 20
	mustWait(t, "lifecycles closed after the takeover", 180*time.Second, func() (bool, string) {
		return l.completed.Load() >= target, fmt.Sprintf("%d of %d", l.completed.Load(), target)
	})
	cancel()
	<-done

	// Every dispute closed in routing, whoever saw it close, is sealed.
	l.mu.Lock()
	all := append([]string{}, l.all...)
	l.mu.Unlock()
	var closed []string
	for _, name := range all {
		var st typesv1.DisputeState
		for try := 0; ; try++ {
			cctx, ccancel := context.WithTimeout(context.Background(), 3*time.Second)
			var err error
			st, err = cl.routingState(cctx, name)
			ccancel()
			if err == nil || status.Code(err) == codes.NotFound {
				break
			}
			if try == 100 {
				t.Fatalf("%s's state: %v", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if st == typesv1.DisputeState_DISPUTE_STATE_CLOSED {
			closed = append(closed, name)
		}
	}
	if sealed, errs := checkEach(t, "every closed dispute sealed", closed, 120*time.Second, cl.sealed); sealed != len(closed) {
		t.Fatalf("%d of %d closed disputes sealed: %s", sealed, len(closed), firstErr(errs))
	}
	bg := context.Background()
	leaves := map[int64]string{}
	for _, name := range closed {
		resp, err := cl.archive.GetDossier(bg, &archivev1.GetDossierRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		i := resp.GetDossier().GetLeafIndex()
		if other, ok := leaves[i]; ok {
			t.Fatalf("leaf %d is both %s and %s", i, other, name)
		}
		leaves[i] = name
	}
	after, err := cl.archive.GetCheckpoint(bg, &archivev1.GetCheckpointRequest{Parent: "regions/" + region})
	if err != nil {
		t.Fatal(err)
	}
	// One leaf per closed dispute: none sealed twice across the takeover.
	if after.GetTreeSize() != int64(len(closed)) {
		t.Fatalf("the log holds %d leaves for %d closed disputes", after.GetTreeSize(), len(closed))
	}
	cons, err := cl.archive.GetConsistencyProof(bg, &archivev1.GetConsistencyProofRequest{Parent: "regions/" + region,
		FromSize: before.GetTreeSize(), ToSize: after.GetTreeSize()})
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(before.GetTreeSize()), uint64(after.GetTreeSize()),
		cons.GetHashes(), before.GetRootHash(), after.GetRootHash()); err != nil {
		t.Fatalf("the log after the takeover does not extend the one before: %v", err)
	}
	// A dossier sealed before the kill and one after verify offline.
	vkey := c.ctl("archive", "key", "--key", c.key, "--region", region)
	for _, i := range []int64{0, after.GetTreeSize() - 1} {
		exp, err := cl.archive.ExportDossier(bg, &archivev1.ExportDossierRequest{Name: leaves[i]})
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(c.dir, fmt.Sprintf("export-%d.json", i))
		if err := os.WriteFile(file, exp.GetContent(), 0o600); err != nil {
			t.Fatal(err)
		}
		if out := c.ctl("archive", "verify", "--bundle", file, "--key", vkey); !strings.HasPrefix(out, "valid: "+leaves[i]) {
			t.Errorf("archive verify of leaf %d: %s", i, out)
		}
	}
	// The killed replica comes back as a standby and serves the log.
	writer.restart()
	if err := writer.waitReady(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	if info, err := readyInfo(writer.admin); err != nil || info["sealed_log"] != "standby" {
		t.Fatalf("restarted replica: %v %v, want a standby", info, err)
	}
	back := archivev1.NewArchiveServiceClient(writer.conn(clerk))
	mustWait(t, "the restarted replica serving the latest checkpoint", 60*time.Second, func() (bool, string) {
		cp, err := back.GetCheckpoint(bg, &archivev1.GetCheckpointRequest{Parent: "regions/" + region})
		if err != nil {
			return false, err.Error()
		}
		return cp.GetTreeSize() == after.GetTreeSize() && string(cp.GetRootHash()) == string(after.GetRootHash()),
			fmt.Sprintf("%d leaves", cp.GetTreeSize())
	})
}

// mustWait is waitFor that fails t when cond is not met in time.
func mustWait(t *testing.T, what string, within time.Duration, cond func() (bool, string)) {
	t.Helper()
	if ok, last := waitFor(t, what, within, cond); !ok {
		t.Fatalf("%s: not met within %v: %s", what, within, last)
	}
}
