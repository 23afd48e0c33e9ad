package writer_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/internal/writer"
	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

const region = "141181"

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func name(n int) string  { return fmt.Sprintf("regions/%s/disputes/2026-%d", region, n) }
func regOf(n int) string { return fmt.Sprintf("ev-%d", n) }

// dossier n, closed.
func dossier(n int) *archivev1.Dossier {
	payload, err := anypb.New(&intakev1.DisputeRegistered{Dispute: &intakev1.Dispute{Name: name(n), RegisteringDepartment: "tax",
		Complaint: "单位未足额缴纳社会保险费", Channel: typesv1.Channel_CHANNEL_WINDOW}})
	if err != nil {
		panic(err)
	}
	return &archivev1.Dossier{
		Name: name(n), Number: fmt.Sprintf("2026年第%d号", n), State: typesv1.DisputeState_DISPUTE_STATE_CLOSED,
		RegisteringDepartment: "tax", Departments: []string{"tax"},
		Events: []*eventv1.Event{
			{Id: regOf(n), Type: sealproof.RegistrationType, Source: "intake", Region: region, Dispute: name(n), Payload: payload},
			{Id: regOf(n) + "-closed", Type: "disputes.routing.v1.DisputeClosed", Source: "routing", Region: region, Dispute: name(n)},
		},
	}
}

func batch(from, to int) []*archivev1.Dossier {
	var ds []*archivev1.Dossier
	for n := from; n < to; n++ {
		ds = append(ds, dossier(n))
	}
	return ds
}

// sealAll seals dossiers from..to-1 as one batch and fails t on any error.
func sealAll(t *testing.T, l *sealedlog.Log, from, to int) []sealedlog.Result {
	t.Helper()
	out := l.SealBatch(context.Background(), batch(from, to))
	for i, r := range out {
		if r.Err != nil {
			t.Fatalf("seal %s: %v", name(from+i), r.Err)
		}
	}
	return out
}

// refused asserts every dossier of from..to-1 is refused with ErrNotLeader.
func refused(t *testing.T, l *sealedlog.Log, from, to int) {
	t.Helper()
	for i, r := range l.SealBatch(context.Background(), batch(from, to)) {
		if !errors.Is(r.Err, sealedlog.ErrNotLeader) {
			t.Fatalf("seal %s by a process that does not lead: %+v, want ErrNotLeader", name(from+i), r)
		}
	}
}

func newKey(t *testing.T) ed25519.PrivateKey {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// eventually waits, with a generous deadline, for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replica is one archive process's writer: its own etcd client and its
// own view of the shared directory.
type replica struct {
	etcd    *clientv3.Client
	log     *sealedlog.Log
	leading chan struct{}
	stop    context.CancelFunc
	done    chan struct{}
}

func startReplica(t *testing.T, e *testenv.Etcd, dir string, key ed25519.PrivateKey, id string) *replica {
	t.Helper()
	l, err := sealedlog.OpenReader(dir, key, discard, sealedlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{etcd: e.Client(t), log: l, leading: make(chan struct{}, 8), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	w := &writer.Writer{Etcd: r.etcd, Log: l, Logger: discard, ID: id, SessionTTL: 2, Refresh: 50 * time.Millisecond,
		Lead: func(ctx context.Context) error {
			r.leading <- struct{}{}
			<-ctx.Done()
			return nil
		}}
	go func() {
		defer close(r.done)
		w.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func (r *replica) awaitLeading(t *testing.T) {
	t.Helper()
	select {
	case <-r.leading:
	case <-time.After(60 * time.Second):
		t.Fatal("replica did not become the writer")
	}
}

// Two archive processes on one directory: only the elected one writes, the
// other serves what it sealed; when the writer's session ends the other
// takes over from the directory, and the log stays one consistent log.
func TestOneWriterAndTakeover(t *testing.T) {
	e := testenv.StartEtcd(t)
	dir := t.TempDir()
	key := newKey(t)
	ctx := context.Background()

	a := startReplica(t, e, dir, key, "a")
	a.awaitLeading(t)
	b := startReplica(t, e, dir, key, "b")
	if !a.log.Writing() || b.log.Writing() {
		t.Fatalf("writing: a %v, b %v; want only a", a.log.Writing(), b.log.Writing())
	}
	sealAll(t, a.log, 1, 21)
	sealAll(t, a.log, 21, 41)
	refused(t, b.log, 41, 45)

	// The standby serves what the writer kept.
	eventually(t, "the standby to serve 40 leaves", func() bool {
		cp, err := b.log.Checkpoint(ctx, region, 0)
		return err == nil && cp.TreeSize == 40
	})
	cp1, err := a.log.Checkpoint(ctx, region, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.log.Lookup(ctx, name(7)); err != nil || got.GetName() != name(7) {
		t.Fatalf("standby lookup: %v %v", got.GetName(), err)
	}
	p, err := b.log.InclusionProof(ctx, region, 6, 40)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 6, 40, p.LeafHash, p.Hashes, cp1.RootHash); err != nil {
		t.Fatalf("standby's inclusion proof: %v", err)
	}

	// The writer dies: its etcd client goes, the lease expires.
	a.etcd.Close()
	b.awaitLeading(t)
	eventually(t, "the old writer to stop writing", func() bool { return !a.log.Writing() })
	refused(t, a.log, 41, 45)

	// The new writer goes on from the directory: the dossiers sealed before
	// keep their leaves, the new ones follow.
	for i, r := range sealAll(t, b.log, 1, 61) {
		n := i + 1
		if n <= 40 && (r.Appended || r.Index != int64(i)) {
			t.Fatalf("%s sealed before the takeover: %+v, want leaf %d kept", name(n), r, i)
		}
		if n > 40 && !r.Appended {
			t.Fatalf("%s: %+v, want appended", name(n), r)
		}
	}
	cp2, err := b.log.Checkpoint(ctx, region, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cp2.TreeSize != 60 {
		t.Fatalf("tree after takeover: %d leaves, want 60", cp2.TreeSize)
	}
	_, hashes, err := b.log.ConsistencyProof(ctx, region, cp1.TreeSize, cp2.TreeSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(cp1.TreeSize), uint64(cp2.TreeSize), hashes, cp1.RootHash, cp2.RootHash); err != nil {
		t.Fatalf("the new writer's log is not an extension of the old one's: %v", err)
	}
	// Every dossier is in the log once.
	seen := map[int64]string{}
	for n := 1; n <= 60; n++ {
		i, err := b.log.LookupRegistration(name(n), regOf(n))
		if err != nil {
			t.Fatalf("%s: %v", name(n), err)
		}
		if other, ok := seen[i]; ok {
			t.Fatalf("leaf %d is both %s and %s", i, other, name(n))
		}
		seen[i] = name(n)
	}
}

// A writer whose lease is gone, or whose election key is no longer its
// own, appends nothing: its fence refuses every batch.
func TestFencedAfterTheLeaseEnds(t *testing.T) {
	e := testenv.StartEtcd(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		lose func(t *testing.T, cli *clientv3.Client, sess *concurrency.Session, el *concurrency.Election)
	}{
		{"lease expired", func(t *testing.T, cli *clientv3.Client, sess *concurrency.Session, _ *concurrency.Election) {
			// What expiry does: the lease and the keys under it go.
			if _, err := cli.Revoke(ctx, sess.Lease()); err != nil {
				t.Fatal(err)
			}
		}},
		{"key no longer ours", func(t *testing.T, _ *clientv3.Client, _ *concurrency.Session, el *concurrency.Election) {
			// The session lives on, but the election key was taken away.
			if _, err := e.RootClient(t).Delete(ctx, el.Key()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			key := newKey(t)
			cli := e.Client(t)
			sess, err := concurrency.NewSession(cli, concurrency.WithTTL(30))
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			el := concurrency.NewElection(sess, writer.DefaultElection+"-"+tc.name)
			if err := el.Campaign(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			l, err := sealedlog.OpenReader(dir, key, discard, sealedlog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if err := l.Lead(writer.Fence(cli, sess, el.Key(), el.Rev())); err != nil {
				t.Fatal(err)
			}
			sealAll(t, l, 1, 11)
			tc.lose(t, cli, sess, el)
			refused(t, l, 11, 21)
			cp, err := l.Checkpoint(ctx, region, 0)
			if err != nil {
				t.Fatal(err)
			}
			if cp.TreeSize != 10 {
				t.Fatalf("checkpoint after the fence: %d leaves, want 10", cp.TreeSize)
			}
			if err := l.Follow(ctx); err != nil {
				t.Fatal(err)
			}
			// On disk too: the log holds the ten sealed while leading.
			o, err := sealedlog.Open(dir, key, discard, sealedlog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			if _, err := o.LookupRegistration(name(11), regOf(11)); !errors.Is(err, sealedlog.ErrNotSealed) {
				t.Fatalf("dossier 11 after the fence: %v, want not sealed", err)
			}
			if cp, err := o.Checkpoint(ctx, region, 0); err != nil || cp.TreeSize != 10 {
				t.Fatalf("reopened log: %d leaves (%v), want 10", cp.TreeSize, err)
			}
		})
	}
}

// A standby holds no lock; while one process writes, a second cannot take
// the directory even when it is elected: Lead says the lock is held.
func TestLeadNeedsTheDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t)
	w, err := sealedlog.Open(dir, key, discard, sealedlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sealAll(t, w, 1, 4)
	r, err := sealedlog.OpenReader(dir, key, discard, sealedlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Lead(nil); !errors.Is(err, sealedlog.ErrLocked) {
		t.Fatalf("lead while another writes: %v, want ErrLocked", err)
	}
	if r.Writing() {
		t.Fatal("reader writes after a refused Lead")
	}
	refused(t, r, 4, 6)
	w.Close()
	if err := r.Lead(nil); err != nil {
		t.Fatal(err)
	}
	for i, res := range sealAll(t, r, 1, 6) {
		if (i < 3) == res.Appended {
			t.Fatalf("%s: %+v", name(i+1), res)
		}
	}
}

// A standby asked for what the writer kept since its last refresh (a
// dossier Redis already marks sealed, a checkpoint another replica handed
// out) reads the directory again rather than answering "not sealed".
func TestStandbyCatchesUpOnAMiss(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := newKey(t)
	w, err := sealedlog.Open(dir, key, discard, sealedlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := sealedlog.OpenReader(dir, key, discard, sealedlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Lookup(ctx, name(1)); !errors.Is(err, sealedlog.ErrNotSealed) {
		t.Fatalf("before any seal: %v, want not sealed", err)
	}
	sealAll(t, w, 1, 6)
	sealAll(t, w, 6, 9)
	cp, err := w.Checkpoint(ctx, region, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := r.Lookup(ctx, name(7)); err != nil || d.GetLeafIndex() != 6 {
		t.Fatalf("standby lookup of a dossier sealed since: leaf %d, %v", d.GetLeafIndex(), err)
	}
	got, err := r.Checkpoint(ctx, region, cp.TreeSize)
	if err != nil || string(got.RootHash) != string(cp.RootHash) {
		t.Fatalf("standby checkpoint of %d leaves: %x %v, want %x", cp.TreeSize, got.RootHash, err, cp.RootHash)
	}
	p, err := r.InclusionProof(ctx, region, 7, cp.TreeSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 7, uint64(cp.TreeSize), p.LeafHash, p.Hashes, cp.RootHash); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Leaf(ctx, name(8), regOf(8), 7); err != nil {
		t.Fatal(err)
	}
	sealAll(t, w, 9, 12)
	if tile, err := r.Tile(ctx, region, 0, 0, 11); err != nil || len(tile) != 11*32 {
		t.Fatalf("standby tile of 11 leaves: %d bytes, %v", len(tile), err)
	}
}
