-- Nearby stores in one round trip: distances and the stores' cached JSON summaries.
-- KEYS[1] geo index, KEYS[2] summaries hash (JSON objects), KEYS[3] "index built" marker
-- ARGV lng, lat, radius_m, count (offset + page + 1), offset
-- Returns false when the index is missing (Redis lost it), else {hits found (<= count), distances, summaries}.
--
-- GEOSEARCH costs grow with the stores in the searched circle, so the circle starts small and
-- doubles until it holds `count` stores or reaches radius_m: when a smaller circle already holds
-- `count` stores they are the nearest ones of the whole radius, so the answer is the same.
if redis.call('EXISTS', KEYS[3]) == 0 then
  return false
end
local radius = tonumber(ARGV[3])
local count = tonumber(ARGV[4])
local offset = tonumber(ARGV[5])
local r = math.min(radius, 500)
local hits
while true do
  hits = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],
    'BYRADIUS', r, 'm', 'ASC', 'COUNT', count, 'WITHDIST')
  if #hits >= count or r >= radius then
    break
  end
  r = math.min(radius, r * 2)
end
local ids, distances = {}, {}
for i = offset + 1, math.min(#hits, count - 1) do
  ids[#ids + 1] = hits[i][1]
  distances[#distances + 1] = hits[i][2]
end
if #ids == 0 then
  return {#hits, {}, {}}
end
return {#hits, distances, redis.call('HMGET', KEYS[2], unpack(ids))}
