-- Registers a batch of disputes of one region and year, in order, each as
-- if registered alone: replay on request id (of the same department, with
-- the same form; the same request id with another form is refused as
-- reused), refuse a duplicate external
-- reference, allocate the next number, store the dispute, index it, link it
-- to the claimant's open disputes of the same category, count the open
-- disputes against its employer, raise or add to the employer's warning,
-- and publish DisputeRegistered, DisputesLinked and MassDisputeWarning. The whole batch is one script, so
-- no other command sees a part of it, and Redis appends it to the AOF as
-- one MULTI/EXEC. Registrations of one batch see each other as they would
-- in sequence: a request id or external reference repeated in the batch
-- replays or is refused, and a claimant's second registration links to the
-- first. Writes of the same kind are made once for the batch (one INCRBY,
-- one MSET, one ZADD per index); only the per-claimant reads and the
-- events go one per registration.
--
-- The number exists only here, so Go sends each form marshalled WITHOUT the
-- fields that depend on it, and this script appends them: protobuf parsers
-- accept fields in any order, and a field appended to a message's bytes is
-- part of that message (the concatenation rule). The same holds for the
-- events, which it assembles from the envelope fields they share, their id
-- and type, the dispute's name, and their payload wrapped in a
-- google.protobuf.Any: DisputeRegistered's is the form as sent (less the
-- lookup code), those of DisputesLinked and MassDisputeWarning depend on
-- what the script finds.
--
-- KEYS[1] sequence of the region and year
-- KEYS[2] index by registration time (score: unix ms; member: year-%09d)
-- KEYS[3] the region's event stream
-- then for each registration, in order:
--   its department's request id -> "<dispute id> <form digest>"
--   the registering department's index (same scores and members)
--   the external reference of the channel -> dispute id (0 or 1 key)
--   the claimant's open disputes of the category, one per identifier
--     (score: unix ms; member: dispute id)
--   the open disputes against the employer (same layout) and the
--     employer's open warning episode (a hash: id, n), both or neither
-- ARGV[1] dispute key prefix (the dispute id is appended; same hash tag)
-- ARGV[2] region
-- ARGV[3] year
-- ARGV[4] key prefix of the per-dispute link sets ("links:" + id)
-- ARGV[5] most disputes to link
-- ARGV[6] number of registrations
-- ARGV[7..12] type and payload type URL of DisputeRegistered,
--   DisputesLinked and MassDisputeWarning
-- then for each registration a block of FIXED fields:
--   +0  number of external reference keys (0 or 1)
--   +1  number of claimant keys
--   +2  1 when the employer's two keys are given, else 0
--   +3  Dispute bytes without fields 1 (name), 2 (number) and the lookup code
--   +4  the lookup code field's bytes ("" for none)
--   +5  Event bytes of the fields all its events share (region, actor,
--       time, source)
--   +6  id of its DisputeRegistered event
--   +7  id of its DisputesLinked event (if raised)
--   +8  id of its same-employer MassDisputeWarning event (if published;
--       the warning's id when it raises the warning)
--   +9  index score (registration time, unix ms)
--   +10 people involved
--   +11 people threshold (0: off)
--   +12 employer threshold (0: off)
--   +13 start of the employer window (unix ms, inclusive)
--   +14 id of its people-involved MassDisputeWarning event (if raised)
--   +15 digest of the form as the caller sent it (hex)
--   +16 MassDisputeWarning bytes of the fields Go knows of a
--       people-involved warning (trigger, people, addressed, employer)
--   +17 the same of a same-employer warning
--   +18 how long an episode lasts without a registration (ms; the window)
--   +19 most disputes a warning lists when raised
--
-- An employer's warning episode opens when a registration finds at least
-- the threshold of open disputes against it in the window: it takes that
-- registration's event id as the warning's id and lists those disputes.
-- Each later registration that finds the threshold reached adds its
-- dispute to the episode's warning; one that finds fewer ends the episode,
-- and so does a window without registrations (the key expires).
--
-- Keys not in KEYS: the disputes (ARGV[1] .. id) and their link sets
-- (ARGV[4] .. "links:" .. id). Their names depend on the number this
-- script allocates, or on what it reads (a replayed request's dispute, the
-- claimant's open disputes), so no caller can name them beforehand. Both
-- prefixes carry KEYS[1]'s hash tag, the region, which the script checks
-- first: in a Redis Cluster every key it touches is in the one slot it runs
-- on (docs/ARCHITECTURE.md, "Scale").
--
-- Returns one reply per registration, in order: {"replayed", id, dispute
-- bytes}, {"reused", ""} (the request id was used for another form),
-- {"duplicate", id}, {"created", id, number, trigger, employer count,
-- linked names...} or {"error", message}.

local FIXED = 20

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

-- publish adds an event to the stream: id (Event field 1), type (4), the
-- shared fields, the dispute name (3) and the payload wrapped in an Any
-- (5: type_url 1, value 2).
local function publish(stream, id, type, typeURL, shared, name, payload)
  local any = field(0x0A, typeURL) .. field(0x12, payload)
  redis.call('XADD', stream, '*', 'id', id, 'type', type,
    'event', field(0x0A, id) .. field(0x22, type) .. shared .. field(0x1A, name) .. field(0x2A, any))
end

local seqKey, timeIndex, stream = KEYS[1], KEYS[2], KEYS[3]

-- tag returns a key's hash tag as Redis Cluster reads it: between the
-- first '{' and the next '}', when not empty.
local function tag(key)
  local t = string.match(key, '^[^{]*{([^}]*)}')
  if t == '' then
    return nil
  end
  return t
end

local slot = tag(KEYS[1])
for i = 2, #KEYS do
  if tag(KEYS[i]) ~= slot then
    return redis.error_reply('register: key ' .. KEYS[i] .. ' outside the hash slot of ' .. KEYS[1])
  end
end
if slot == nil or tag(ARGV[1]) ~= slot or tag(ARGV[4]) ~= slot then
  return redis.error_reply('register: key prefixes outside the hash slot of ' .. KEYS[1])
end

local prefix, region, year, setPrefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local maxLinks, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local registeredType, registeredURL = ARGV[7], ARGV[8]
local linkedType, linkedURL = ARGV[9], ARGV[10]
local massType, massURL = ARGV[11], ARGV[12]

-- Parse the registrations.
local regs = {}
local k, a = 4, 13
for i = 1, count do
  local nExtref, nClaimant, nEmployer = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local r = {arg = a, reqKey = KEYS[k], deptKey = KEYS[k + 1], claimantKeys = {}, digest = ARGV[a + 15]}
  k = k + 2
  if nExtref == 1 then
    r.extrefKey = KEYS[k]
    k = k + 1
  end
  for j = 1, nClaimant do
    r.claimantKeys[j] = KEYS[k]
    k = k + 1
  end
  if nEmployer == 1 then
    r.employerKey, r.episodeKey = KEYS[k], KEYS[k + 1]
    k = k + 2
  end
  regs[i] = r
  a = a + FIXED
end

-- The request ids and external references: one read for the batch.
local readKeys = {}
for _, r in ipairs(regs) do
  readKeys[#readKeys + 1] = r.reqKey
  if r.extrefKey then
    readKeys[#readKeys + 1] = r.extrefKey
  end
end
local got = redis.call('MGET', unpack(readKeys))
local g = 1
for _, r in ipairs(regs) do
  r.existing = got[g]
  g = g + 1
  if r.extrefKey then
    r.holder = got[g]
    g = g + 1
  end
end

-- Decide each registration in order; those of this batch count as
-- registered for the ones after them.
local byRequest, byExtref = {}, {}
local created = 0
for _, r in ipairs(regs) do
  local earlier = byRequest[r.reqKey]
  local storedID, storedDigest
  if r.existing then
    storedID, storedDigest = string.match(r.existing, '^(%S+) (%S+)$')
  end
  if earlier then
    if earlier.digest == r.digest then
      r.kind, r.same = 'replayed', earlier
    else
      r.kind = 'reused'
    end
  elseif r.existing then
    if not storedID then
      r.kind, r.message = 'error', 'malformed request id record'
    elseif storedDigest ~= r.digest then
      r.kind = 'reused'
    else
      local stored = redis.call('GET', prefix .. storedID)
      if stored then
        r.kind, r.id, r.dispute = 'replayed', storedID, stored
      else
        r.kind, r.message = 'error', 'request id maps to missing dispute ' .. storedID
      end
    end
  elseif r.extrefKey and (r.holder or byExtref[r.extrefKey]) then
    r.kind, r.id, r.same = 'duplicate', r.holder, byExtref[r.extrefKey]
  else
    r.kind = 'created'
    created = created + 1
    byRequest[r.reqKey] = r
    if r.extrefKey then
      byExtref[r.extrefKey] = r
    end
  end
  if r.kind == 'replayed' and not r.same then
    byRequest[r.reqKey] = r
  end
end

local n = 0
if created > 0 then
  n = redis.call('INCRBY', seqKey, created) - created
end

local writes = {}
local timeMembers = {}
local deptMembers, deptOrder = {}, {}
for _, r in ipairs(regs) do
  if r.kind == 'created' then
    local a = r.arg
    n = n + 1
    local num = tostring(n)
    local id = year .. '-' .. num
    local name = 'regions/' .. region .. '/disputes/' .. id
    r.id, r.name = id, name
    local score = ARGV[a + 9]
    local member = year .. '-' .. string.rep('0', 9 - #num) .. num

    -- Links: the newest open disputes of the claimant (by any identifier)
    -- in the category, oldest first in the reply.
    local seen, found = {}, {}
    for _, key in ipairs(r.claimantKeys) do
      local zs = redis.call('ZREVRANGE', key, 0, maxLinks - 1, 'WITHSCORES')
      for i = 1, #zs, 2 do
        if not seen[zs[i]] then
          seen[zs[i]] = true
          found[#found + 1] = {id = zs[i], score = tonumber(zs[i + 1])}
        end
      end
    end
    if #found > 1 then
      table.sort(found, function(x, y)
        if x.score ~= y.score then
          return x.score > y.score
        end
        return x.id > y.id
      end)
    end
    local linked = {}
    for i = math.min(#found, maxLinks), 1, -1 do
      linked[#linked + 1] = 'regions/' .. region .. '/disputes/' .. found[i].id
      redis.call('SADD', setPrefix .. 'links:' .. found[i].id, name)
    end
    for _, key in ipairs(r.claimantKeys) do
      redis.call('ZADD', key, score, id)
    end
    if #linked > 0 then
      redis.call('SADD', setPrefix .. 'links:' .. id, unpack(linked))
    end
    r.linked = linked

    -- Mass-dispute warnings: many people (a warning of this dispute's
    -- own), or many open disputes against one employer within the window
    -- (this one included: the employer's episode warning).
    local employerCount = 0
    local people, peopleMin, employerMin = tonumber(ARGV[a + 10]), tonumber(ARGV[a + 11]), tonumber(ARGV[a + 12])
    if r.employerKey then
      redis.call('ZREMRANGEBYSCORE', r.employerKey, '-inf', '(' .. ARGV[a + 13])
      redis.call('ZADD', r.employerKey, score, id)
      employerCount = redis.call('ZCOUNT', r.employerKey, ARGV[a + 13], '+inf')
      if employerMin > 0 and employerCount >= employerMin then
        local ep = redis.call('HMGET', r.episodeKey, 'id', 'n')
        local w = {}
        if ep[1] then
          w.id, w.disputes = ep[1], {name}
          w.n = redis.call('HINCRBY', r.episodeKey, 'n', 1)
        else
          local most = tonumber(ARGV[a + 19])
          local ids = redis.call('ZRANGEBYSCORE', r.employerKey, ARGV[a + 13], '+inf', 'LIMIT', math.max(0, employerCount - most), most)
          w.id, w.disputes, w.n = ARGV[a + 8], {}, #ids
          for j, open in ipairs(ids) do
            w.disputes[j] = 'regions/' .. region .. '/disputes/' .. open
          end
          redis.call('HSET', r.episodeKey, 'id', w.id, 'n', w.n)
        end
        if tonumber(ARGV[a + 18]) > 0 then
          redis.call('PEXPIRE', r.episodeKey, ARGV[a + 18])
        end
        r.employerWarning = w
      else
        redis.call('DEL', r.episodeKey)
      end
    end
    local trigger = ''
    if peopleMin > 0 and people >= peopleMin then
      trigger = 'people_involved'
    elseif r.employerWarning then
      trigger = 'same_employer'
    end
    local numbered = year .. '年第' .. num .. '号'
    local dispute = ARGV[a + 3] .. ARGV[a + 4] .. field(0x0A, name) .. field(0x12, numbered)
    if trigger ~= '' then
      -- mass_dispute = true: field 17, varint, tag bytes 0x88 0x01.
      dispute = dispute .. string.char(0x88, 0x01, 0x01)
    end
    r.dispute, r.number, r.trigger, r.employerCount, r.people = dispute, numbered, trigger, employerCount, people

    writes[#writes + 1] = prefix .. id
    writes[#writes + 1] = dispute
    writes[#writes + 1] = r.reqKey
    writes[#writes + 1] = id .. ' ' .. r.digest
    if r.extrefKey then
      writes[#writes + 1] = r.extrefKey
      writes[#writes + 1] = id
    end
    timeMembers[#timeMembers + 1] = score
    timeMembers[#timeMembers + 1] = member
    local dm = deptMembers[r.deptKey]
    if not dm then
      dm = {}
      deptMembers[r.deptKey] = dm
      deptOrder[#deptOrder + 1] = r.deptKey
    end
    dm[#dm + 1] = score
    dm[#dm + 1] = member
  end
end

-- One write for the disputes, their request ids and external references
-- (free: checked above, in this same atomic script), one per index.
if created > 0 then
  redis.call('MSET', unpack(writes))
  redis.call('ZADD', timeIndex, unpack(timeMembers))
  for _, key in ipairs(deptOrder) do
    redis.call('ZADD', key, unpack(deptMembers[key]))
  end
end

-- The events, registration by registration.
local replies = {}
for i, r in ipairs(regs) do
  if r.kind == 'created' then
    local a = r.arg
    local shared = ARGV[a + 5]
    publish(stream, ARGV[a + 6], registeredType, registeredURL, shared, r.name, field(0x0A, ARGV[a + 3]))
    if #r.linked > 0 then
      local payload = {}
      for j, l in ipairs(r.linked) do
        payload[j] = field(0x0A, l)
      end
      publish(stream, ARGV[a + 7], linkedType, linkedURL, shared, r.name, table.concat(payload))
    end
    -- MassDisputeWarning: Go's part, then open_disputes_same_employer
    -- (3, varint), warning_id (5), disputes (6) and warning_disputes (7,
    -- varint).
    local w = r.employerWarning
    if w then
      local payload = {ARGV[a + 17], number(0x18, r.employerCount), field(0x2A, w.id)}
      for _, d in ipairs(w.disputes) do
        payload[#payload + 1] = field(0x32, d)
      end
      payload[#payload + 1] = number(0x38, w.n)
      publish(stream, ARGV[a + 8], massType, massURL, shared, r.name, table.concat(payload))
    end
    if r.trigger == 'people_involved' then
      local payload = {ARGV[a + 16], number(0x18, r.employerCount), field(0x2A, ARGV[a + 14]), field(0x32, r.name), number(0x38, 1)}
      publish(stream, ARGV[a + 14], massType, massURL, shared, r.name, table.concat(payload))
    end
    local reply = {'created', r.id, r.number, r.trigger, tostring(r.employerCount)}
    for _, l in ipairs(r.linked) do
      reply[#reply + 1] = l
    end
    replies[i] = reply
  elseif r.kind == 'replayed' then
    local src = r.same or r
    replies[i] = {'replayed', src.id, src.dispute}
  elseif r.kind == 'reused' then
    replies[i] = {'reused', ''}
  elseif r.kind == 'duplicate' then
    replies[i] = {'duplicate', r.id or r.same.id}
  else
    replies[i] = {'error', r.message}
  end
end
return replies
