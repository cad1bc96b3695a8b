-- Flash grab, batched: answers every grab of one campaign sent in one call, atomically.
-- Runs on Redis 6.2 and 7; every key shares the campaign's hash tag (one Cluster slot).
--
-- KEYS: 1 meta (hash)  2 wins (hash: member -> wins, member:day -> wins that day, `<field>:h` -> the
--       sequences released by expired or cancelled orders, taken again first)  3 eligible (set)
--       4 blocked (set)  5 idem (hash: member:key -> answer)  6 rate (hash: GCRA state)  7 stream
--       8 free slots (list: 'slot' from a rebuild, 'slot:round' given back by release.lua)  9 outcomes (hash: outcome -> count)  10 per-second grabs (hash)
--       11 participants (HyperLogLog)
-- ARGV: channel, then one triple per grab: member id, Idempotency-Key ('' when none), client IP.
-- Returns {status, left, epoch, issued, answer...}: status 0 ok, -1 keys missing, -2 rebuilding.
-- Answers: 'won <ticket> <slot> <sequence> <day> <day sequence> <ms>', 'sold_out', 'limit_reached', 'not_eligible',
--          'not_started', 'ended', 'paused', 'rate_limited <ms>'.
local m = redis.call('HMGET', KEYS[1], 'state', 'start', 'end', 'limit', 'day_limit', 'left', 'next',
  'stock', 'epoch', 'restricted', 'min_member', 'max_member', 'member_rate', 'ip_rate', 'day_offset',
  'cid', 'issued', 'released')
local state = m[1]
if not state then return {-1} end
if state == 'rebuilding' then return {-2} end
local start_ms, end_ms = tonumber(m[2]), tonumber(m[3])
local limit, day_limit = tonumber(m[4]), tonumber(m[5])
local left, next_slot, stock = tonumber(m[6]), tonumber(m[7]), tonumber(m[8])
local epoch, restricted = m[9], m[10] == '1'
local min_member, max_member = tonumber(m[11]), tonumber(m[12])
local member_rate, ip_rate = tonumber(m[13]), tonumber(m[14])
local day_offset, cid, issued = tonumber(m[15]), m[16], tonumber(m[17])
local released = m[18] ~= false and m[18] ~= nil

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local day = math.floor((math.floor(now / 1000) + day_offset) / 86400)

-- GCRA, as in app/ratelimit.lua, kept in the campaign's own hash so the check costs no extra call.
local function limited(field, rate)
  if rate <= 0 then return 0 end
  local interval = 1000 / rate
  local tat = tonumber(redis.call('HGET', KEYS[6], field) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  if new_tat - now > 1000 then return math.ceil(new_tat - now - 1000) end
  redis.call('HSET', KEYS[6], field, new_tat)
  return 0
end

-- A slot and the suffix that keeps its ticket unique when it was given back by an expired order.
local function take_slot()
  if next_slot <= stock then
    next_slot = next_slot + 1
    return next_slot - 1, ''
  end
  local entry = redis.call('LPOP', KEYS[8])
  if not entry then return nil, '' end
  local slot, round = string.match(entry, '^(%d+):?(%d*)$')
  if round ~= '' then round = '-r' .. round end
  return tonumber(slot), round
end

-- Count one more win in a wins field; its sequence is a released one when there is one.
local function next_sequence(field)
  local sequence = redis.call('HINCRBY', KEYS[2], field, 1)
  if not released then return sequence end
  local holes = redis.call('HGET', KEYS[2], field .. ':h')
  if not holes then return sequence end
  local first, rest = string.match(holes, '^(%d+) ?(.*)$')
  if rest == '' then redis.call('HDEL', KEYS[2], field .. ':h') else redis.call('HSET', KEYS[2], field .. ':h', rest) end
  return tonumber(first)
end

local function grab(member, ip, key)
  local wait = limited('m:' .. member, member_rate)
  if wait == 0 then wait = limited('ip:' .. ip, ip_rate) end
  if wait > 0 then return 'rate_limited ' .. wait, false end
  if now < start_ms then return 'not_started', false end
  if state == 'ended' or now >= end_ms then return 'ended', false end
  if state == 'paused' then return 'paused', false end
  if left <= 0 then return 'sold_out', true end
  local id = tonumber(member)
  if (min_member and id < min_member) or (max_member and id > max_member)
      or redis.call('SISMEMBER', KEYS[4], member) == 1
      or (restricted and redis.call('SISMEMBER', KEYS[3], member) == 0) then
    return 'not_eligible', false
  end
  local won = tonumber(redis.call('HGET', KEYS[2], member) or '0')
  local day_field = member .. ':' .. day
  local won_today = tonumber(redis.call('HGET', KEYS[2], day_field) or '0')
  if won >= limit or (day_limit > 0 and won_today >= day_limit) then return 'limit_reached', true end
  local slot, round = take_slot()
  if not slot then
    left = 0
    return 'sold_out', true
  end
  left = left - 1
  issued = issued + 1
  local sequence = next_sequence(member)
  local day_sequence = next_sequence(day_field)
  local ticket = cid .. '-' .. epoch .. '-' .. slot .. round
  redis.call('XADD', KEYS[7], '*', 'm', member, 's', slot, 'q', sequence, 'd', day, 'dq', day_sequence,
    't', ticket, 'ts', now, 'e', epoch, 'k', key)
  if left == 0 then redis.call('PUBLISH', ARGV[1], 'soldout ' .. cid .. ' ' .. epoch) end
  return 'won ' .. ticket .. ' ' .. slot .. ' ' .. sequence .. ' ' .. day .. ' ' .. day_sequence .. ' ' .. now,
    true
end

local out = {0, 0, epoch, 0}
local counts = {}
local members = {}
local n = 0
local left_before = left
for i = 2, #ARGV, 3 do
  local member, key, ip = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local answer = nil
  if key ~= '' then answer = redis.call('HGET', KEYS[5], member .. ':' .. key) end
  if not answer then
    local keep
    answer, keep = grab(member, ip, key)
    if keep and key ~= '' then redis.call('HSET', KEYS[5], member .. ':' .. key, answer) end
  end
  out[#out + 1] = answer
  local outcome = string.match(answer, '^%S+')
  counts[outcome] = (counts[outcome] or 0) + 1
  n = n + 1
  members[n] = member
end
if left ~= left_before then
  redis.call('HSET', KEYS[1], 'left', left, 'next', next_slot, 'issued', issued)
end
for outcome, count in pairs(counts) do redis.call('HINCRBY', KEYS[9], outcome, count) end
redis.call('HINCRBY', KEYS[10], math.floor(now / 1000), n)
redis.call('PFADD', KEYS[11], unpack(members))
out[2] = left
out[4] = issued
return out
