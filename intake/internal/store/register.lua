-- Registers a dispute atomically: replay on request id, refuse a duplicate
-- external reference, allocate the next number of the region and year, store
-- the dispute, index it, link it to the claimant's open disputes of the same
-- category, count the open disputes against its employer, and publish
-- DisputeRegistered, DisputesLinked and MassDisputeWarning, all or nothing.
--
-- The number exists only here, so Go sends the Dispute and the Event
-- envelopes marshalled WITHOUT the fields that depend on it, and this script
-- appends them: protobuf parsers accept fields in any order, and a field
-- appended to a message's bytes is part of that message (the concatenation
-- rule). The payloads of DisputesLinked and MassDisputeWarning depend on what
-- the script finds, so it encodes them itself (wrapped in a
-- google.protobuf.Any) and appends them to their envelopes.
--
-- KEYS[1] request id -> dispute id
-- KEYS[2] sequence of the region and year
-- KEYS[3] index by registration time (score: unix ms; member: year-%09d)
-- KEYS[4] the region's event stream
-- KEYS[5] the registering department's index (same scores and members)
-- then, as counted by ARGV[10..12]:
--   the external reference of the channel -> dispute id (0 or 1 key)
--   the claimant's open disputes of the category, one per identifier
--     (score: unix ms; member: dispute id)
--   the open disputes against the employer (0 or 1 key; same layout)
-- ARGV[1]  dispute key prefix (the dispute id is appended; same hash tag)
-- ARGV[2]  region
-- ARGV[3]  year
-- ARGV[4]  Dispute bytes without fields 1 (name) and 2 (number)
-- ARGV[5]  DisputeRegistered Event bytes without field 3 (dispute)
-- ARGV[6]  event id
-- ARGV[7]  event type
-- ARGV[8]  index score (registration time, unix ms)
-- ARGV[9]  key prefix of the per-dispute link sets ("links:" + id)
-- ARGV[10] number of external reference keys (0 or 1)
-- ARGV[11] number of claimant keys
-- ARGV[12] number of employer keys (0 or 1)
-- ARGV[13] most disputes to link
-- ARGV[14] people involved
-- ARGV[15] people threshold (0: off)
-- ARGV[16] employer threshold (0: off)
-- ARGV[17] start of the employer window (unix ms, inclusive)
-- ARGV[18] DisputesLinked Event bytes without fields 3 and 5 (payload)
-- ARGV[19] its event id
-- ARGV[20] its event type
-- ARGV[21] its payload type URL
-- ARGV[22] MassDisputeWarning Event bytes without fields 3 and 5
-- ARGV[23] its event id
-- ARGV[24] its event type
-- ARGV[25] its payload type URL
-- ARGV[26..] departments the warning is addressed to
--
-- Returns {"replayed", id, dispute bytes}, {"duplicate", id} or
-- {"created", id, dispute bytes, trigger, employer count, linked names...}.

local function varint(n)
  if n < 128 then
    return string.char(n)
  end
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

-- number encodes a varint field (tag byte number << 3 | 0); zero is left
-- out as proto3 does.
local function number(tag, n)
  if n == 0 then
    return ''
  end
  return string.char(tag) .. varint(n)
end

-- publish appends the dispute name (Event field 3) and the payload wrapped
-- in an Any (Event field 5: type_url 1, value 2) to an envelope and adds it
-- to the stream.
local function publish(stream, envelope, id, type, typeURL, name, payload)
  local any = field(0x0A, typeURL) .. field(0x12, payload)
  redis.call('XADD', stream, '*', 'id', id, 'type', type,
    'event', envelope .. field(0x1A, name) .. field(0x2A, any))
end

local nExtref, nClaimant, nEmployer = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local extrefKey = nil
if nExtref == 1 then
  extrefKey = KEYS[6]
end

-- The request id, then the external reference: one read for both.
local existing, holder
if extrefKey then
  local got = redis.call('MGET', KEYS[1], extrefKey)
  existing, holder = got[1], got[2]
else
  existing = redis.call('GET', KEYS[1])
end
if existing then
  local stored = redis.call('GET', ARGV[1] .. existing)
  if not stored then
    return redis.error_reply('request id maps to missing dispute ' .. existing)
  end
  return {'replayed', existing, stored}
end
if holder then
  return {'duplicate', holder}
end
local claimantKeys = {}
for i = 1, nClaimant do
  claimantKeys[i] = KEYS[5 + nExtref + i]
end
local employerKey = nil
if nEmployer == 1 then
  employerKey = KEYS[6 + nExtref + nClaimant]
end

local n = tostring(redis.call('INCR', KEYS[2]))
local id = ARGV[3] .. '-' .. n
local name = 'regions/' .. ARGV[2] .. '/disputes/' .. id
local dispute = ARGV[4] .. field(0x0A, name) .. field(0x12, ARGV[3] .. '年第' .. n .. '号')
local score = ARGV[8]
-- The index member: the number zero-padded to nine digits.
local member = ARGV[3] .. '-' .. string.rep('0', 9 - #n) .. n

-- Links: the newest open disputes of the claimant (by any identifier) in
-- the category, oldest first in the reply.
local maxLinks = tonumber(ARGV[13])
local seen, found = {}, {}
for _, key in ipairs(claimantKeys) do
  local zs = redis.call('ZREVRANGE', key, 0, maxLinks - 1, 'WITHSCORES')
  for i = 1, #zs, 2 do
    if not seen[zs[i]] then
      seen[zs[i]] = true
      found[#found + 1] = {id = zs[i], score = tonumber(zs[i + 1])}
    end
  end
end
if #found > 1 then
  table.sort(found, function(a, b)
    if a.score ~= b.score then
      return a.score > b.score
    end
    return a.id > b.id
  end)
end
local linked = {}
for i = math.min(#found, maxLinks), 1, -1 do
  linked[#linked + 1] = 'regions/' .. ARGV[2] .. '/disputes/' .. found[i].id
  redis.call('SADD', ARGV[9] .. 'links:' .. found[i].id, name)
end
for _, key in ipairs(claimantKeys) do
  redis.call('ZADD', key, score, id)
end
if #linked > 0 then
  redis.call('SADD', ARGV[9] .. 'links:' .. id, unpack(linked))
end

-- Mass-dispute warning: many people, or many open disputes against one
-- employer within the window (this one included).
local employerCount = 0
if employerKey then
  redis.call('ZREMRANGEBYSCORE', employerKey, '-inf', '(' .. ARGV[17])
  redis.call('ZADD', employerKey, score, id)
  employerCount = redis.call('ZCOUNT', employerKey, ARGV[17], '+inf')
end
local people, peopleMin, employerMin = tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16])
local trigger = ''
if peopleMin > 0 and people >= peopleMin then
  trigger = 'people_involved'
elseif employerKey and employerMin > 0 and employerCount >= employerMin then
  trigger = 'same_employer'
end
if trigger ~= '' then
  -- mass_dispute = true: field 17, varint, tag bytes 0x88 0x01.
  dispute = dispute .. string.char(0x88, 0x01, 0x01)
end

-- One write for the dispute, its request id and its external reference
-- (free: checked above, in this same atomic script).
if extrefKey then
  redis.call('MSET', ARGV[1] .. id, dispute, KEYS[1], id, extrefKey, id)
else
  redis.call('MSET', ARGV[1] .. id, dispute, KEYS[1], id)
end
redis.call('ZADD', KEYS[3], score, member)
redis.call('ZADD', KEYS[5], score, member)
redis.call('XADD', KEYS[4], '*',
  'id', ARGV[6], 'type', ARGV[7], 'event', ARGV[5] .. field(0x1A, name))
if #linked > 0 then
  local payload = {}
  for i, l in ipairs(linked) do
    payload[i] = field(0x0A, l)
  end
  publish(KEYS[4], ARGV[18], ARGV[19], ARGV[20], ARGV[21], name, table.concat(payload))
end
if trigger ~= '' then
  local payload = {field(0x0A, trigger), number(0x10, people), number(0x18, employerCount)}
  for i = 26, #ARGV do
    payload[#payload + 1] = field(0x22, ARGV[i])
  end
  publish(KEYS[4], ARGV[22], ARGV[23], ARGV[24], ARGV[25], name, table.concat(payload))
end

local reply = {'created', id, dispute, trigger, tostring(employerCount)}
for _, l in ipairs(linked) do
  reply[#reply + 1] = l
end
return reply
