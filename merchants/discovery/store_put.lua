-- Put one store into the nearby index, or take it out, atomically. The GEO keys hold each store's
-- JSON summary as their member, so the summary they hold now (kept by store id in the hash) must
-- leave every key before the new one enters.
-- KEYS[1] summaries hash (store id -> summary), KEYS[2] all-stores GEO key, KEYS[3..] category GEO keys
-- ARGV store id, new summary ('' takes the store out), lng, lat, position of its category's key in
-- KEYS (0: none)
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  for i = 2, #KEYS do
    redis.call('ZREM', KEYS[i], old)
  end
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('GEOADD', KEYS[2], ARGV[3], ARGV[4], ARGV[2])
local category = tonumber(ARGV[5])
if category > 0 then
  redis.call('GEOADD', KEYS[category], ARGV[3], ARGV[4], ARGV[2])
end
return 1
