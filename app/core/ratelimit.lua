-- GCRA rate limit. KEYS[1]: the limiter key. ARGV[1]: period in ms, ARGV[2]: requests per period.
-- Returns 0 when allowed, else milliseconds until the next request would be allowed.
local period = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local interval = period / limit
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > period then
  return math.ceil(new_tat - now - period)
end
redis.call('SET', KEYS[1], math.floor(new_tat), 'PX', math.ceil(new_tat - now))
return 0
