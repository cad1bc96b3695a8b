-- Nearby stores in one round trip: GEOSEARCH nearest first, then each store's cached summary.
-- KEYS[1] geo index, KEYS[2] summaries hash, KEYS[3] "index built" marker
-- ARGV lng, lat, radius_m, count (offset + page + 1), offset
-- Returns false when the index is missing (Redis lost it), else a flat list id, distance, summary.
if redis.call('EXISTS', KEYS[3]) == 0 then
  return false
end
local hits = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],
  'BYRADIUS', ARGV[3], 'm', 'ASC', 'COUNT', ARGV[4], 'WITHDIST')
local out = {}
for i = tonumber(ARGV[5]) + 1, #hits do
  local id = hits[i][1]
  out[#out + 1] = id
  out[#out + 1] = hits[i][2]
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return out
