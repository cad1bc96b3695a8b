-- Nearby stores in one round trip: each hit is {store's JSON summary, distance} (the GEO keys hold the
-- summaries themselves as members, so no second lookup).
-- KEYS[1] geo index, KEYS[2] "index built" marker
-- ARGV lng, lat, radius_m, count (offset + page + 1), offset, start radius (the caller's guess)
-- Returns false when the index is missing (Redis lost it), else {hits found (<= count), the page's hits}.
--
-- GEOSEARCH costs grow with the stores in the searched circle, so the circle starts at the caller's
-- guess and widens until it holds `count` stores or reaches radius_m: when a smaller circle already
-- holds `count` stores they are the nearest ones of the whole radius, so the answer is the same
-- whatever the guess. A short circle is widened by the density it showed, or doubled when it held
-- too few stores to tell.
if redis.call('EXISTS', KEYS[2]) == 0 then
  return false
end
local radius = tonumber(ARGV[3])
local count = tonumber(ARGV[4])
local offset = tonumber(ARGV[5])
local r = math.max(1, math.min(radius, tonumber(ARGV[6])))
local hits
while true do
  hits = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],
    'BYRADIUS', r, 'm', 'ASC', 'COUNT', count, 'WITHDIST')
  if #hits >= count or r >= radius then
    break
  end
  if #hits >= 4 then
    r = math.min(radius, r * math.sqrt(count / #hits) * 1.15)
  else
    r = math.min(radius, r * 2)
  end
end
local page = {}
for i = offset + 1, math.min(#hits, count - 1) do
  page[#page + 1] = hits[i]
end
return {#hits, page}
