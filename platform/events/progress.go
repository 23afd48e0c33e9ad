package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrBehind is returned by WaitConsumed when the group has not reached the
// stream's end before the context's deadline.
var ErrBehind = errors.New("consumer group still behind")

// WaitConsumed waits until group has applied (acknowledged) every entry that
// stream held when it was called, so a caller can read what another service
// has just written and this service has not applied yet (docs/ARCHITECTURE.md,
// "Reading your own writes"). It looks every poll (default 10 ms) until ctx
// is done, then returns ErrBehind. It does not depend on which replica of
// the group holds the entries. A service whose calls wait often keeps one
// Progress instead, which answers all of them with one look.
func WaitConsumed(ctx context.Context, rdb redis.UniversalClient, stream, group string, poll time.Duration) error {
	return (&Progress{Redis: rdb, Group: group, Poll: poll}).Wait(ctx, stream)
}

// Progress answers, for many callers at once, whether one consumer group
// has applied every entry a stream held when each of them asked
// (docs/ARCHITECTURE.md, "Reading your own writes"). A look at a stream is
// one pipeline (its last entry, the group's position, its oldest pending
// entry) and answers every caller waiting on that stream: looks run while
// callers wait, at once when one arrives, when the group's consumer in this
// process has acknowledged entries of the stream (Kick), and every Poll
// (default 10 ms) for entries another replica holds.
type Progress struct {
	Redis redis.UniversalClient
	Group string
	Poll  time.Duration

	mu      sync.Mutex
	streams map[string]*progressWatch
}

// progressWatch is the callers waiting on one stream and its look loop.
type progressWatch struct {
	looks   uint64 // looks started
	waiters map[*progressWaiter]bool
	kick    chan struct{}
	running bool
}

// progressWaiter is one caller: after is how many looks had started when it
// arrived (its target, the stream's last entry, comes from a later one).
type progressWaiter struct {
	after  uint64
	target *string
	done   chan error
}

// Wait returns once the group has acknowledged every entry stream held when
// Wait was called, ErrBehind when ctx ends first, or the error of a look.
func (p *Progress) Wait(ctx context.Context, stream string) error {
	w := &progressWaiter{done: make(chan error, 1)}
	p.mu.Lock()
	if p.streams == nil {
		p.streams = map[string]*progressWatch{}
	}
	pw := p.streams[stream]
	if pw == nil {
		pw = &progressWatch{waiters: map[*progressWaiter]bool{}, kick: make(chan struct{}, 1)}
		p.streams[stream] = pw
	}
	w.after = pw.looks
	pw.waiters[w] = true
	if !pw.running {
		pw.running = true
		go p.loop(stream, pw)
	} else {
		kick(pw.kick)
	}
	p.mu.Unlock()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		p.mu.Lock()
		delete(pw.waiters, w)
		p.mu.Unlock()
		// A look may have answered while ctx ended.
		select {
		case err := <-w.done:
			return err
		default:
		}
		return fmt.Errorf("%w: %s in %s", ErrBehind, p.Group, stream)
	}
}

// Kick asks for a look at stream now, if anyone waits on it: the group's
// consumer in this process calls it after acknowledging entries of stream.
func (p *Progress) Kick(stream string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pw := p.streams[stream]; pw != nil && pw.running {
		kick(pw.kick)
	}
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// loop looks at stream until nobody waits on it.
func (p *Progress) loop(stream string, pw *progressWatch) {
	poll := p.Poll
	if poll <= 0 {
		poll = 10 * time.Millisecond
	}
	for {
		p.mu.Lock()
		if len(pw.waiters) == 0 {
			pw.running = false
			p.mu.Unlock()
			return
		}
		pw.looks++
		seq := pw.looks
		p.mu.Unlock()

		// A waiter's context bounds its wait, not the look: a look is
		// short, and its answer serves every waiter.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		pos, err := p.look(ctx, stream)
		cancel()

		p.mu.Lock()
		for w := range pw.waiters {
			if err == nil && w.target == nil && w.after < seq {
				w.target = &pos.last
			}
			switch {
			case err != nil:
				w.done <- err
			case w.target != nil && pos.through(*w.target):
				w.done <- nil
			default:
				continue
			}
			delete(pw.waiters, w)
		}
		p.mu.Unlock()

		timer := time.NewTimer(poll)
		select {
		case <-timer.C:
		case <-pw.kick:
		}
		timer.Stop()
	}
}

// streamPosition is what one look saw: the stream's last entry ("" when
// empty) and how far the group has acknowledged it.
type streamPosition struct {
	last          string
	group         bool   // the group exists
	delivered     string // the group's last delivered entry
	pending       int64
	lowestPending string
}

// through reports whether the group has delivered and acknowledged every
// entry up to id ("" : an empty stream, nothing to wait for).
func (s streamPosition) through(id string) bool {
	if id == "" {
		return true
	}
	if !s.group || CompareIDs(s.delivered, id) < 0 {
		return false
	}
	return s.pending == 0 || CompareIDs(s.lowestPending, id) > 0
}

// look reads stream's last entry, the group's position and its oldest
// pending entry in one round trip (one stream: one hash slot).
func (p *Progress) look(ctx context.Context, stream string) (streamPosition, error) {
	var last *redis.XMessageSliceCmd
	var groups *redis.XInfoGroupsCmd
	var pending *redis.XPendingCmd
	_, _ = p.Redis.Pipelined(ctx, func(pl redis.Pipeliner) error {
		last = pl.XRevRangeN(ctx, stream, "+", "-", 1)
		groups = pl.XInfoGroups(ctx, stream)
		pending = pl.XPending(ctx, stream, p.Group)
		return nil
	})
	var pos streamPosition
	msgs, err := last.Result()
	if err != nil {
		return pos, fmt.Errorf("read end of %s: %w", stream, err)
	}
	if len(msgs) == 0 {
		return pos, nil // no stream (XINFO and XPENDING fail): nothing to wait for
	}
	pos.last = msgs[0].ID
	gs, err := groups.Result()
	if err != nil {
		return pos, fmt.Errorf("xinfo groups %s: %w", stream, err)
	}
	for _, g := range gs {
		if g.Name == p.Group {
			pos.group, pos.delivered = true, g.LastDeliveredID
		}
	}
	if !pos.group {
		return pos, nil // XPENDING fails with NOGROUP: not consumed
	}
	pe, err := pending.Result()
	if err != nil {
		return pos, fmt.Errorf("xpending %s: %w", stream, err)
	}
	pos.pending, pos.lowestPending = pe.Count, pe.Lower
	return pos, nil
}

// CompareIDs orders two stream entry ids ("<ms>-<seq>").
func CompareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	switch {
	case am != bm:
		if am < bm {
			return -1
		}
		return 1
	case as != bs:
		if as < bs {
			return -1
		}
		return 1
	}
	return 0
}

func splitID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}

// IDMillis returns the milliseconds part of a stream entry id: when Redis
// added it.
func IDMillis(id string) uint64 {
	ms, _ := splitID(id)
	return ms
}

// Watermark returns the time W (Unix ms) below which group has
// acknowledged every entry of stream and below which no new entry can be
// added: every event published before W has been applied by the group. The
// archive seals a dossier once the watermark of every stream it reads has
// passed the dossier's close (docs/ARCHITECTURE.md, "Sealing").
func Watermark(ctx context.Context, rdb redis.UniversalClient, stream, group string) (uint64, error) {
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("redis time: %w", err)
	}
	gs, err := rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		if strings.HasPrefix(err.Error(), "ERR no such key") {
			return uint64(now.UnixMilli()), nil
		}
		return 0, fmt.Errorf("xinfo groups %s: %w", stream, err)
	}
	var g *redis.XInfoGroup
	for i := range gs {
		if gs[i].Name == group {
			g = &gs[i]
		}
	}
	if g == nil {
		return 0, nil
	}
	last, err := rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if err != nil {
		return 0, fmt.Errorf("read end of %s: %w", stream, err)
	}
	w := uint64(now.UnixMilli())
	if len(last) > 0 {
		if CompareIDs(last[0].ID, g.LastDeliveredID) > 0 {
			// Entries after the last delivered one wait: they are not older
			// than it.
			w = IDMillis(g.LastDeliveredID)
		} else {
			w = max(w, IDMillis(last[0].ID))
		}
	}
	if g.Pending > 0 {
		p, err := rdb.XPending(ctx, stream, group).Result()
		if err != nil {
			return 0, fmt.Errorf("xpending %s: %w", stream, err)
		}
		if p.Count > 0 {
			w = min(w, IDMillis(p.Lower))
		}
	}
	return w, nil
}
