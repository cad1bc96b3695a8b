-- Give the slot of an expired or cancelled flash order back to the sale, once per ticket.
-- KEYS: 1 meta  2 wins  3 free slots (list)
-- ARGV: 1 ticket  2 slot  3 member  4 business day (days since 1970-01-01)  5 sequence  6 day sequence
--       7 '1' to release the member's count too  8 the win's epoch  9 events channel  10 campaign id
-- Returns 1 released, 0 already released, -1 not loaded or rebuilding, -2 another key generation (the
-- rebuild loaded the slot from the database, where the release is recorded).
local m = redis.call('HMGET', KEYS[1], 'state', 'epoch')
if not m[1] or m[1] == 'rebuilding' then return -1 end
if m[2] ~= ARGV[8] then return -2 end
if redis.call('HSETNX', KEYS[1], 'rel:' .. ARGV[1], 1) == 0 then return 0 end
local round = redis.call('HINCRBY', KEYS[1], 'released', 1)
-- The round makes the next winner's ticket differ from the released one's.
redis.call('RPUSH', KEYS[3], ARGV[2] .. ':' .. round)
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
redis.call('HINCRBY', KEYS[1], 'left', 1)
if ARGV[7] == '1' then
  -- The member's released sequences are taken again first, so held sequences stay unique.
  local fields = {ARGV[3], ARGV[3] .. ':' .. ARGV[4]}
  local sequences = {ARGV[5], ARGV[6]}
  for i = 1, 2 do
    redis.call('HINCRBY', KEYS[2], fields[i], -1)
    local holes = redis.call('HGET', KEYS[2], fields[i] .. ':h')
    redis.call('HSET', KEYS[2], fields[i] .. ':h', (holes and (holes .. ' ') or '') .. sequences[i])
  end
end
redis.call('PUBLISH', ARGV[9], 'restocked ' .. ARGV[10])
return 1
