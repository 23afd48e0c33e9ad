package events

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// A counter log holds the summed counter deltas of event batches, one list
// entry per batch, until FoldCounters adds them to their hashes. A batch
// then writes one RPUSH instead of one HINCRBY per counter it moved, and a
// fold writes one HINCRBY per counter the folded batches moved together
// (docs/ARCHITECTURE.md, "Consuming events"). The log and the hashes share
// one hash slot (the region's tag): the fold is one script.
//
// An entry is records "<key>\x1f<field>\x1f<delta>\x1e": keys and fields
// of counters are names and ids, which never hold the two separators.

const (
	unitSep    = '\x1f'
	recordSep  = '\x1e'
	separators = "\x1f\x1e"
)

// encodeCounters writes the deltas of ks (in their order) as one entry.
func encodeCounters(ks []counterKey, sums map[counterKey]int64) string {
	var sb strings.Builder
	for _, k := range ks {
		sb.WriteString(k.key)
		sb.WriteByte(unitSep)
		sb.WriteString(k.field)
		sb.WriteByte(unitSep)
		sb.WriteString(strconv.FormatInt(sums[k], 10))
		sb.WriteByte(recordSep)
	}
	return sb.String()
}

// loggable reports whether counter k can be written to a counter log: its
// key and field hold neither separator (one that does is written with its
// own HINCRBY).
func loggable(k counterKey) bool {
	return k.key != "" && k.field != "" &&
		!strings.ContainsAny(k.key, separators) && !strings.ContainsAny(k.field, separators)
}

// foldScript adds up to ARGV[1] entries of the log KEYS[1] to their hashes,
// each counter once, and removes them; it returns how many it folded.
var foldScript = redis.NewScript(`
local entries = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #entries == 0 then return 0 end
local sums, order = {}, {}
for _, e in ipairs(entries) do
  for key, field, delta in string.gmatch(e, '([^\31\30]+)\31([^\31\30]+)\31(-?%d+)\30') do
    local id = key .. '\31' .. field
    local s = sums[id]
    if s == nil then
      s = {key, field, 0}
      sums[id] = s
      order[#order + 1] = s
    end
    s[3] = s[3] + tonumber(delta)
  end
end
for _, s in ipairs(order) do
  if s[3] ~= 0 then redis.call('HINCRBY', s[1], s[2], s[3]) end
end
redis.call('LTRIM', KEYS[1], #entries, -1)
return #entries
`)

// foldChunk is the most entries one run of the fold script takes.
const foldChunk = 500

// FoldCounters adds every entry of the counter log key to the counters and
// removes it, in runs of at most foldChunk entries (each run atomic: an
// entry is added once or not at all, whoever folds at the same time). It
// returns how many entries it folded.
func FoldCounters(ctx context.Context, rdb redis.Scripter, key string) (int, error) {
	total := 0
	for {
		n, err := foldScript.Run(ctx, rdb, []string{key}, foldChunk).Int()
		if err != nil {
			return total, fmt.Errorf("fold counter log %s: %w", key, err)
		}
		total += n
		if n < foldChunk {
			return total, nil
		}
	}
}
