-- Registers a dispute atomically: replay on request id, refuse a duplicate
-- external reference, allocate the next number of the region and year, store
-- the dispute, index it and publish DisputeRegistered, all or nothing.
--
-- The number exists only here, so Go sends the Dispute and the Event envelope
-- marshalled WITHOUT the fields that carry it, and this script appends them:
-- protobuf parsers accept fields in any order, and a field appended to a
-- message's bytes is part of that message (the concatenation rule).
--
-- KEYS[1] request id -> dispute id
-- KEYS[2] sequence of the region and year
-- KEYS[3] index by registration time (score: unix ms; member: year-%09d)
-- KEYS[4] the region's event stream
-- KEYS[5] external reference of the channel -> dispute id (only when given)
-- ARGV[1] dispute key prefix (the dispute id is appended; same hash tag)
-- ARGV[2] region
-- ARGV[3] year
-- ARGV[4] Dispute bytes without fields 1 (name) and 2 (number)
-- ARGV[5] Event bytes without field 3 (dispute)
-- ARGV[6] event id
-- ARGV[7] event type
-- ARGV[8] index score (registration time, unix ms)
--
-- Returns {"replayed", id, dispute bytes}, {"duplicate", id} or
-- {"created", id, dispute bytes}.

local function varint(n)
  local out = {}
  while n >= 128 do
    out[#out + 1] = string.char(n % 128 + 128)
    n = math.floor(n / 128)
  end
  out[#out + 1] = string.char(n)
  return table.concat(out)
end

-- field encodes a length-delimited field: tag byte (number << 3 | 2), the
-- length as a varint, the bytes. Only field numbers below 16 fit one byte.
local function field(tag, s)
  return string.char(tag) .. varint(#s) .. s
end

local existing = redis.call('GET', KEYS[1])
if existing then
  local stored = redis.call('GET', ARGV[1] .. existing)
  if not stored then
    return redis.error_reply('request id maps to missing dispute ' .. existing)
  end
  return {'replayed', existing, stored}
end

if KEYS[5] then
  local holder = redis.call('GET', KEYS[5])
  if holder then
    return {'duplicate', holder}
  end
end

local n = redis.call('INCR', KEYS[2])
local id = ARGV[3] .. '-' .. n
local name = 'regions/' .. ARGV[2] .. '/disputes/' .. id
local number = ARGV[3] .. '年第' .. n .. '号'
local dispute = ARGV[4] .. field(0x0A, name) .. field(0x12, number)

redis.call('SET', ARGV[1] .. id, dispute)
redis.call('SET', KEYS[1], id)
redis.call('ZADD', KEYS[3], ARGV[8], string.format('%s-%09d', ARGV[3], n))
if KEYS[5] then
  redis.call('SET', KEYS[5], id, 'NX')
end
redis.call('XADD', KEYS[4], '*',
  'id', ARGV[6], 'type', ARGV[7], 'event', ARGV[5] .. field(0x1A, name))
return {'created', id, dispute}
