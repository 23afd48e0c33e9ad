package store

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// writeScript writes one change of a tracker in one atomic step: it checks
// that the tracker is still the one the change was computed on (its SHA-1)
// and, when the change allocated transfer slips, that the region's slip
// counter still holds the value the numbers were counted from; then it
// writes the tracker and the counter, moves the tracker's index entries and
// appends its events. It returns 1 when written, the tracker as it is now
// when it changed meanwhile, 0 when it is gone and -1 when the counter
// changed (nothing written).
//
//	KEYS: tracker, slip counter, then the index keys and the stream
//	ARGV: tracker's SHA-1, counter expected ("" for none), counter new,
//	      new tracker, then ops: "a" key# score member | "r" key# member |
//	      "x" key# id type event
var writeScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if redis.sha1hex(cur) ~= ARGV[1] then return cur end
if ARGV[2] ~= '' then
  if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then return -1 end
  redis.call('SET', KEYS[2], ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[4])
local i = 5
while i <= #ARGV do
  local op, k = ARGV[i], KEYS[tonumber(ARGV[i+1])]
  if op == 'a' then
    redis.call('ZADD', k, ARGV[i+2], ARGV[i+3]); i = i + 4
  elseif op == 'r' then
    redis.call('ZREM', k, ARGV[i+2]); i = i + 3
  else
    redis.call('XADD', k, '*', '` + events.FieldID + `', ARGV[i+2], '` + events.FieldType + `', ARGV[i+3], '` + events.FieldEvent + `', ARGV[i+4]); i = i + 5
  end
end
return 1
`)

// Results of one run of the write script.
const (
	writeDone            = 1
	writeTrackerChanged  = 0
	writeCounterChanged  = -1
	writeScriptNotLoaded = -2
)

// write is one prepared run of the write script.
type write struct {
	t    *tracker.Tracker
	enc  []byte // t as written
	keys []string
	args []any
	pos  map[string]int
}

func (w *write) key(k string) string {
	i, ok := w.pos[k]
	if !ok {
		w.keys = append(w.keys, k)
		i = len(w.keys)
		w.pos[k] = i
	}
	return strconv.Itoa(i)
}

func (w *write) zadd(key string, score float64, member string) {
	w.args = append(w.args, "a", w.key(key), strconv.FormatFloat(score, 'f', -1, 64), member)
}

func (w *write) zrem(key, member string) { w.args = append(w.args, "r", w.key(key), member) }

// prepare decodes the tracker read as raw, applies fn and builds the
// script run that writes the result. x carries the slip counter as read.
func prepare(key string, raw []byte, x *Tx, fn MutateFunc) (*write, error) {
	t := &tracker.Tracker{}
	if err := json.Unmarshal(raw, t); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	before := indexOf(t)
	evs, err := fn(t, x)
	if err != nil {
		return nil, err
	}
	enc, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode tracker: %w", err)
	}
	sum := sha1.Sum(raw)
	w := &write{t: t, enc: enc, pos: map[string]int{}}
	w.key(key)
	w.key(slipSeqKey(x.region, x.year))
	expect, next := "", ""
	if x.next > 0 {
		expect, next = strconv.FormatInt(x.base, 10), strconv.FormatInt(x.next, 10)
	}
	w.args = append(w.args, hex.EncodeToString(sum[:]), expect, next, enc)
	reindex(w, before, indexOf(t))
	indexDeadline(w, t)
	stream := w.key(events.Stream(Service, t.Region))
	for _, ev := range evs {
		if err := w.event(stream, t, ev); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (w *write) event(stream string, t *tracker.Tracker, ev *eventv1.Event) error {
	ev.Lifecycle = Lifecycle(t)
	vals, err := events.Values(ev)
	if err != nil {
		return err
	}
	w.args = append(w.args, "x", stream, vals[events.FieldID], vals[events.FieldType], vals[events.FieldEvent])
	return nil
}

// run runs the script (loading it when Redis does not have it). When the
// tracker changed meanwhile, cur is the tracker as it is now.
func (w *write) run(ctx context.Context, rdb redis.Scripter) (n int64, cur []byte, err error) {
	return outcome(writeScript.Run(ctx, rdb, w.keys, w.args...))
}

// queue queues the script on a pipeline; result reads its outcome.
func (w *write) queue(ctx context.Context, p redis.Pipeliner) *redis.Cmd {
	return writeScript.EvalSha(ctx, p, w.keys, w.args...)
}

func result(c *redis.Cmd) (int64, error) {
	if err := c.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		return writeScriptNotLoaded, nil
	}
	n, _, err := outcome(c)
	return n, err
}

// outcome reads a run of the write script: writeDone, writeCounterChanged,
// or writeTrackerChanged with the tracker as it is now (nil when gone).
func outcome(c *redis.Cmd) (n int64, cur []byte, err error) {
	v, err := c.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, nil, fmt.Errorf("write tracker: %w", err)
	}
	switch v := v.(type) {
	case nil:
		return writeTrackerChanged, nil, nil
	case int64:
		return v, nil, nil
	case string:
		return writeTrackerChanged, []byte(v), nil
	}
	return 0, nil, fmt.Errorf("write tracker: unexpected reply %T", v)
}
