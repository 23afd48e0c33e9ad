package sealedlog_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

const (
	helperDir = "SEALEDLOG_HELPER_DIR"
	helperKey = "SEALEDLOG_HELPER_KEY"
	crashN    = 2000
)

// TestHelperSealer is the archive's writer in its own process for the
// crash tests: it seals dossiers 1..crashN in batches of random size and
// prints "sealed <n>" after each, until killed or done.
func TestHelperSealer(t *testing.T) {
	dir := os.Getenv(helperDir)
	if dir == "" {
		t.Skip("run by the crash tests")
	}
	seed, _ := hex.DecodeString(os.Getenv(helperKey))
	l, err := sealedlog.Open(dir, ed25519.NewKeyFromSeed(seed), discard, sealedlog.Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	fmt.Println("open")
	// Go on from the first dossier not sealed yet, so every run makes
	// progress however little time it gets before its kill.
	start := 1
	for start <= crashN {
		if _, err := l.LookupRegistration(name(start), regOf(start)); err != nil {
			break
		}
		start++
	}
	// The last one sealed goes again (it is found, not appended twice): its
	// batch waits for a checkpoint covering what the killed run integrated.
	for n := max(1, start-1); n <= crashN; {
		k := min(crashN+1, n+1+rand.IntN(150))
		var ds []*archivev1.Dossier
		for i := n; i < k; i++ {
			ds = append(ds, dossier(i, regOf(i)))
		}
		for _, r := range l.SealBatch(context.Background(), ds) {
			if r.Err != nil {
				fmt.Println("seal:", r.Err)
				os.Exit(4)
			}
		}
		fmt.Println("sealed", k-1)
		n = k
	}
	l.Close()
	os.Exit(0)
}

// startHelper runs the writer on dir; it returns once the writer opened
// the log (or failed to).
func startHelper(t *testing.T, dir string, seed []byte) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSealer$")
	cmd.Env = append(os.Environ(), helperDir+"="+dir, helperKey+"="+hex.EncodeToString(seed))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "open" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("writer did not open: %q", sc.Text())
	}
	return cmd, sc
}

// Kill -9 the writer at random points while it seals crashN dossiers:
// every time, the log reopens at a size no smaller than the last kept
// checkpoint, with the same root there; in the end every dossier is in the
// log exactly once.
func TestKillNineWhileSealing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	ctx := context.Background()
	key := newKey(t)
	dir := t.TempDir()
	kills, stalled, last := 0, 0, int64(-1)
	for round := 0; ; round++ {
		// A run killed before its first batch makes no progress; after
		// one, the next runs wait for a batch at least, so the test ends
		// however busy the machine.
		if stalled > 30 {
			t.Fatalf("round %d: the tree stayed at %d leaves for %d runs that each sealed a batch", round, last, stalled)
		}
		cmd, sc := startHelper(t, dir, key.Seed())
		lines := make(chan string)
		done := make(chan error, 1)
		go func() {
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
			done <- cmd.Wait()
		}()
		// Mostly after a batch or a few (so the sealing progresses on a busy
		// machine too), at a random point of the next; sometimes right after
		// the log opened.
		batches := rand.IntN(4)
		if stalled > 0 {
			batches = max(batches, 1)
		}
		for range batches {
			if _, ok := <-lines; !ok {
				break
			}
		}
		timer := time.After(time.Duration(rand.IntN(150)) * time.Millisecond)
	wait:
		for {
			select {
			case _, ok := <-lines:
				if !ok {
					lines = nil
				}
			case err := <-done:
				if err != nil {
					t.Fatalf("writer failed: %v", err)
				}
				break wait
			case <-timer:
				cmd.Process.Signal(syscall.SIGKILL)
				if lines != nil {
					for range lines {
					}
				}
				<-done
				kills++
				break wait
			}
		}
		// The last checkpoint kept before the kill.
		l, err := sealedlog.Open(dir, key, discard, sealedlog.Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		cps, _ := l.Checkpoints(region)
		cp, err := l.Checkpoint(ctx, region, 0)
		if err != nil {
			l.Close()
			t.Fatalf("round %d: checkpoint: %v", round, err)
		}
		if len(cps) > 0 {
			last := cps[len(cps)-1]
			if cp.TreeSize < last.TreeSize {
				t.Fatalf("round %d: opened at %d, last checkpoint %d", round, cp.TreeSize, last.TreeSize)
			}
			_, hashes, err := l.ConsistencyProof(ctx, region, last.TreeSize, cp.TreeSize)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(last.TreeSize), uint64(cp.TreeSize), hashes, last.RootHash, cp.RootHash); err != nil {
				t.Fatalf("round %d: root at the last checkpoint %d changed: %v", round, last.TreeSize, err)
			}
		}
		l.Close()
		if cp.TreeSize == last {
			stalled++
		} else {
			stalled, last = 0, cp.TreeSize
		}
		if cp.TreeSize == crashN {
			break
		}
	}
	l := open(t, dir, key)
	cp := checkpoint(t, l, key)
	if cp.Size != crashN {
		t.Fatalf("tree of %d leaves for %d dossiers", cp.Size, crashN)
	}
	for n := 1; n <= crashN; n++ {
		if _, err := l.LookupRegistration(name(n), regOf(n)); err != nil {
			t.Fatalf("dossier %d: %v", n, err)
		}
	}
	verifyInclusion(t, l, key, crashN/2, 0)
	t.Logf("%d kills while sealing %d dossiers", kills, crashN)
}

// A second archive process on the same directory is refused at start and
// says so.
func TestSecondProcessRefused(t *testing.T) {
	key := newKey(t)
	dir := t.TempDir()
	l := open(t, dir, key)
	seal(t, l, 1, 3)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSealer$")
	cmd.Env = append(os.Environ(), helperDir+"="+dir, helperKey+"="+hex.EncodeToString(key.Seed()))
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 || !bytes.Contains(out, []byte("in use by another process")) ||
		!strings.Contains(string(out), fmt.Sprint(os.Getpid())) {
		t.Fatalf("second process: %v: %s", err, out)
	}
}
