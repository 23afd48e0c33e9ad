//go:build faults

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// clients are the gRPC clients of one cluster, by role.
type clients struct {
	intake  []intakev1.IntakeServiceClient // one per intake replica
	routing routingv1.RoutingServiceClient // as the tax clerk
	hrss    routingv1.RoutingServiceClient // as hrss's handler
	archive archivev1.ArchiveServiceClient // as the tax clerk
}

func (c *cluster) clients() *clients {
	c.t.Helper()
	clerk := c.token("tax", "wang", "clerk", "handler")
	hrss := c.token("hrss", "liu", "handler")
	cl := &clients{
		routing: routingv1.NewRoutingServiceClient(c.replica("routing", 0).conn(clerk)),
		hrss:    routingv1.NewRoutingServiceClient(c.replica("routing", 0).conn(hrss)),
		archive: archivev1.NewArchiveServiceClient(c.replica("archive", 0).conn(clerk)),
	}
	c.mu.Lock()
	replicas := append([]*proc{}, c.procs["intake"]...)
	c.mu.Unlock()
	for _, p := range replicas {
		cl.intake = append(cl.intake, intakev1.NewIntakeServiceClient(p.conn(clerk)))
	}
	return cl
}

// registerAll registers n disputes over the intake replicas with workers
// clients, paced to about rate per second (0: as fast as they go). Each
// registration retries its own request id until acknowledged. It returns the
// acknowledged disputes by index.
func registerAll(ctx context.Context, t *testing.T, cl *clients, prefix string, n, workers int, rate float64) ([]*intakev1.Dispute, *codeCounts, int64) {
	t.Helper()
	out := make([]*intakev1.Dispute, n)
	errs := &codeCounts{}
	var retries atomic.Int64
	var done atomic.Int64
	start := time.Now()
	stopProgress := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-tick.C:
				t.Logf("registrations: %d/%d acknowledged after %v, failed attempts %s",
					done.Load(), n, time.Since(start).Round(time.Second), errs)
			}
		}
	}()
	parallel(n, workers, func(i int) {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		d, failed, err := register(ctx, cl.intake, i, newRegistration(fmt.Sprintf("%s-%d", prefix, i), i), errs)
		retries.Add(int64(failed))
		if err != nil {
			t.Errorf("registration %d: %v", i, err)
			return
		}
		out[i] = d
		done.Add(1)
	})
	close(stopProgress)
	t.Logf("registrations: %d/%d acknowledged in %v; failed attempts (retried with the same request id) %d: %s; e.g. %s",
		done.Load(), n, time.Since(start).Round(100*time.Millisecond), retries.Load(), errs, errs.samples())
	return out, errs, retries.Load()
}

// namesOf returns the names of the acknowledged disputes in the order of
// their numbers, which is the order of their events.
func namesOf(ds []*intakev1.Dispute) []string {
	var acked []*intakev1.Dispute
	for _, d := range ds {
		if d != nil {
			acked = append(acked, d)
		}
	}
	sort.SliceStable(acked, func(i, j int) bool {
		a, _ := numberOf(acked[i].GetNumber())
		b, _ := numberOf(acked[j].GetNumber())
		return a < b
	})
	out := make([]string, len(acked))
	for i, d := range acked {
		out[i] = d.GetName()
	}
	return out
}

// checkNumbers checks that the acknowledged numbers, and the numbers intake
// lists, are exactly 1..N. It returns the summary fields.
func checkNumbers(ctx context.Context, t *testing.T, cl *clients, ds []*intakev1.Dispute) string {
	t.Helper()
	var acked []int
	byNumber := map[int]string{}
	for _, d := range ds {
		if d == nil {
			continue
		}
		n, err := numberOf(d.GetNumber())
		if err != nil {
			t.Error(err)
			continue
		}
		if other, ok := byNumber[n]; ok && other != d.GetName() {
			t.Errorf("number %d acknowledged for %s and %s", n, other, d.GetName())
		}
		byNumber[n] = d.GetName()
		acked = append(acked, n)
	}
	lo, hi, gaps, dups := gapsAndDuplicates(acked)
	if gaps != 0 || dups != 0 || lo != 1 || hi != len(acked) {
		t.Errorf("acknowledged numbers %d..%d: %d gaps, %d duplicates over %d registrations", lo, hi, gaps, dups, len(acked))
	}
	// Intake's own list: no number consumed without an acknowledged registration.
	var listed []int
	tok := ""
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := cl.intake[0].ListDisputes(cctx, &intakev1.ListDisputesRequest{Parent: "regions/" + region, PageSize: 500, PageToken: tok})
		cancel()
		if err != nil {
			t.Errorf("list disputes: %v", err)
			break
		}
		for _, d := range resp.GetDisputes() {
			n, err := numberOf(d.GetNumber())
			if err != nil {
				t.Error(err)
				continue
			}
			listed = append(listed, n)
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	llo, lhi, lgaps, ldups := gapsAndDuplicates(listed)
	if len(listed) != len(acked) || lgaps != 0 || ldups != 0 {
		t.Errorf("intake lists %d disputes numbered %d..%d with %d gaps, %d duplicates; %d acknowledged", len(listed), llo, lhi, lgaps, ldups, len(acked))
	}
	return fmt.Sprintf("acknowledged=%d numbers=%d..%d gaps=%d duplicates=%d listed=%d", len(acked), lo, hi, gaps, dups, len(listed))
}

// checkEach calls check for every name with 16 workers until every one
// passes or the deadline passes, logging progress. A check returning a
// permanent error (errFinal) is not retried. It returns how many passed and
// the failures by name.
func checkEach(t *testing.T, what string, items []string, within time.Duration, check func(ctx context.Context, name string) error) (int, map[string]error) {
	t.Helper()
	remaining := append([]string{}, items...)
	failures := map[string]error{}
	start := time.Now()
	lastLog := start
	for {
		// Check in chunks, in the order given (the order the events were
		// written), and end the round at the first chunk with an item not
		// there yet: polling thousands of missing items would take the CPU
		// of the very consumers being waited for.
		var still []string
		for off := 0; off < len(remaining); off += 64 {
			chunk := remaining[off:min(off+64, len(remaining))]
			errs := make([]error, len(chunk))
			parallel(len(chunk), 16, func(i int) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				errs[i] = check(ctx, chunk[i])
			})
			waiting := false
			for i, err := range errs {
				if err == nil {
					delete(failures, chunk[i])
					continue
				}
				failures[chunk[i]] = err
				if !errors.Is(err, errFinal) {
					still = append(still, chunk[i])
					waiting = true
				}
			}
			if waiting {
				for _, name := range remaining[off+len(chunk):] {
					if _, ok := failures[name]; !ok {
						failures[name] = errors.New("not checked yet")
					}
					still = append(still, name)
				}
				break
			}
		}
		remaining = still
		if len(remaining) == 0 || time.Since(start) > within {
			break
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			t.Logf("%s: %d/%d after %v (e.g. %v)", what, len(items)-len(failures), len(items), time.Since(start).Round(time.Second), firstErr(failures))
		}
		time.Sleep(500 * time.Millisecond)
	}
	ok := len(items) - len(failures)
	if len(failures) > 0 {
		t.Errorf("%s: %d of %d not within %v; e.g. %v", what, len(failures), len(items), within, firstErr(failures))
	} else {
		t.Logf("%s: all %d within %v", what, len(items), time.Since(start).Round(100*time.Millisecond))
	}
	return ok, failures
}

// errFinal marks a check failure that waiting will not cure.
var errFinal = errors.New("final")

func firstErr(m map[string]error) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "none"
	}
	return keys[0] + ": " + m[keys[0]].Error()
}

// hasTracker checks routing tracks name.
func (cl *clients) hasTracker(ctx context.Context, name string) error {
	_, err := cl.routing.GetTracking(ctx, &routingv1.GetTrackingRequest{Name: name})
	return err
}

// hasDossier checks the archive holds name's dossier with its registration
// filed exactly once.
func (cl *clients) hasDossier(ctx context.Context, name string) error {
	resp, err := cl.archive.GetDossier(ctx, &archivev1.GetDossierRequest{Name: name})
	if err != nil {
		return err
	}
	n := 0
	for _, ev := range resp.GetDossier().GetEvents() {
		if events.Is(ev, &intakev1.DisputeRegistered{}) {
			n++
		}
	}
	switch {
	case n == 0: // the archive may file routing's events of the dispute before intake's
		return errors.New("dossier holds no registration event yet")
	case n > 1:
		return fmt.Errorf("%w: dossier holds %d registration events", errFinal, n)
	}
	return nil
}

// routingState returns routing's state of name.
func (cl *clients) routingState(ctx context.Context, name string) (typesv1.DisputeState, error) {
	resp, err := cl.routing.GetTracking(ctx, &routingv1.GetTrackingRequest{Name: name})
	if err != nil {
		return 0, err
	}
	return resp.GetTracking().GetState(), nil
}

// meetingState reads the office's view of name from meeting's Redis key
// meeting:{region}:matter:<year>-<n>: no meeting RPC returns a matter.
func (c *cluster) meetingState(ctx context.Context, name string) (typesv1.DisputeState, bool, error) {
	_, year, n, err := names.ParseDispute(name)
	if err != nil {
		return 0, false, err
	}
	b, err := c.rdb.Get(ctx, events.Key("meeting", region, "matter", fmt.Sprintf("%s-%d", year, n))).Bytes()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var m struct {
		State typesv1.DisputeState `json:"state"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, false, err
	}
	return m.State, true, nil
}

// meetingAwaitsReceipt reports whether the meeting service's view of name
// says the office has not yet signed its transfer slip.
func (c *cluster) meetingAwaitsReceipt(ctx context.Context, name string) (bool, error) {
	_, year, n, err := names.ParseDispute(name)
	if err != nil {
		return false, err
	}
	b, err := c.rdb.Get(ctx, events.Key("meeting", region, "matter", fmt.Sprintf("%s-%d", year, n))).Bytes()
	if err != nil {
		return false, err
	}
	var m struct {
		AwaitingReceipt bool `json:"awaiting_receipt"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return false, err
	}
	return m.AwaitingReceipt, nil
}

// sealed checks the archive holds name's dossier CLOSED and sealed, with an
// inclusion proof.
func (cl *clients) sealed(ctx context.Context, name string) error {
	resp, err := cl.archive.GetDossier(ctx, &archivev1.GetDossierRequest{Name: name})
	if err != nil {
		return err
	}
	d := resp.GetDossier()
	if d.GetState() != typesv1.DisputeState_DISPUTE_STATE_CLOSED || !d.GetSealed() {
		return fmt.Errorf("dossier state %v sealed=%v", d.GetState(), d.GetSealed())
	}
	if _, err := cl.archive.GetInclusionProof(ctx, &archivev1.GetInclusionProofRequest{Name: name}); err != nil {
		return fmt.Errorf("inclusion proof: %w", err)
	}
	return nil
}

// lifecycles drives whole lifecycles (register, route TRANSFER to hrss,
// receive as hrss, reply, close) with workers clients until ctx ends. Each
// step is chosen from routing's current state, so a call whose answer was
// lost is not repeated blindly.
type lifecycles struct {
	cl        *clients
	errs      codeCounts
	started   atomic.Int64
	completed atomic.Int64
	mu        sync.Mutex
	closed    []string
	all       []string
}

func (l *lifecycles) run(ctx context.Context, t *testing.T, prefix string, workers int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				l.one(ctx, fmt.Sprintf("%s-%d-%d", prefix, w, i), w*1_000_000+i, w)
			}
		}()
	}
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				t.Logf("lifecycles: %d completed, %d started after %v; errors %s",
					l.completed.Load(), l.started.Load(), time.Since(start).Round(time.Second), &l.errs)
			}
		}
	}()
	wg.Wait()
	close(stop)
	return time.Since(start)
}

func (l *lifecycles) one(ctx context.Context, requestID string, i, first int) {
	l.started.Add(1)
	d, _, err := register(ctx, l.cl.intake, first, newRegistration(requestID, i), &l.errs)
	if err != nil {
		return
	}
	name := d.GetName()
	l.mu.Lock()
	l.all = append(l.all, name)
	l.mu.Unlock()
	call := func(f func(cctx context.Context) error) {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if err := f(cctx); err != nil {
			l.errs.add(err)
		}
	}
	for ctx.Err() == nil {
		var st typesv1.DisputeState
		var err error
		call(func(cctx context.Context) error {
			st, err = l.cl.routingState(cctx, name)
			if status.Code(err) == codes.NotFound {
				return nil // not tracked yet: routing has not read the registration
			}
			return err
		})
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		switch st {
		case typesv1.DisputeState_DISPUTE_STATE_REGISTERED:
			call(func(cctx context.Context) error {
				_, err := l.cl.routing.RouteDispute(cctx, &routingv1.RouteDisputeRequest{Name: name,
					Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: "hrss", Opinion: "属人社部门待遇核定职责", ReasonCode: "OTHER_DUTY"})
				return err
			})
		case typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED:
			call(func(cctx context.Context) error {
				_, err := l.cl.hrss.ReceiveTransfer(cctx, &routingv1.ReceiveTransferRequest{Name: name})
				return err
			})
		case typesv1.DisputeState_DISPUTE_STATE_HANDLING:
			call(func(cctx context.Context) error {
				_, err := l.cl.hrss.RecordReply(cctx, &routingv1.RecordReplyRequest{Name: name,
					Outcome: "已重新核定待遇", Text: "经核查，已按规定重新核定并补发。"})
				return err
			})
		case typesv1.DisputeState_DISPUTE_STATE_REPLIED:
			call(func(cctx context.Context) error {
				_, err := l.cl.hrss.CloseDispute(cctx, &routingv1.CloseDisputeRequest{Name: name, Reason: "申请人对答复无异议"})
				return err
			})
		case typesv1.DisputeState_DISPUTE_STATE_CLOSED:
			l.completed.Add(1)
			l.mu.Lock()
			l.closed = append(l.closed, name)
			l.mu.Unlock()
			return
		default:
			// DISPUTE_STATE_UNSPECIFIED: not tracked yet.
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// closedNames returns the disputes the load closed.
func (l *lifecycles) closedNames() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string{}, l.closed...)
}

// aliveAll reports which replicas are not running.
func (c *cluster) deadReplicas() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var dead []string
	for _, ps := range c.procs {
		for _, p := range ps {
			if !p.alive() {
				dead = append(dead, p.name)
			}
		}
	}
	sort.Strings(dead)
	return dead
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}
