"""Customer discovery: the Redis GEO index of active stores, kept in step with the database.

One GEO key holds every visible store and one per category, so a category filter is still a single
GEOSEARCH. The members of those keys are the stores' public JSON summaries themselves, so the hot path
reads nothing else and does no SQL; a hash maps store ids to the summary each key holds now, which is
what an edit must take out. All keys share the hash tag `{stores:geo-v2}` (one Cluster slot, so the Lua
scripts and the atomic rebuild work there too). A marker key says the index was built: when Redis loses
it, nearby answers from the database and asks for a rebuild, and a cron rebuilds it as well.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from app.core import redis_autopipeline as autopipeline
from app.core.jobs import enqueue, job
from app.core.redis_client import LuaScript, get_redis, key
from app.core.timeutil import utcnow
from merchants.models import Category, Merchant, MerchantStatus, Store
from merchants.validation import haversine_m

log = logging.getLogger("linli.merchants.discovery")

# The index's layout has a version in its keys: a deploy that changes the layout starts on keys of its
# own (missing, so nearby answers from the database and a rebuild fills them) while processes still
# running the old code keep reading theirs. v2: the GEO members are the summaries, not store ids.
_INDEX = "geo-v2"
GEO_ALL = key("stores", _INDEX, "all")
SUMMARIES = key("stores", _INDEX, "summary")
BUILT = key("stores", _INDEX, "built")
REBUILD_LOCK = key("stores", _INDEX, "rebuild-lock")
REBUILD_ASKED = key("stores", _INDEX, "rebuild-asked")
DIRTY = key("stores", _INDEX, "dirty")
VISIBLE = (MerchantStatus.ACTIVE,)
_BATCH = 5000
_STORE_PUT = LuaScript.from_file(Path(__file__).with_name("store_put.lua"))


def category_key(category: Category | str) -> str:
    """The GEO key of one category's visible stores."""
    return key("stores", _INDEX, "cat", str(category))


CATEGORY_KEYS = [category_key(c) for c in Category]


def _tmp(name: str) -> str:
    return name + ":rebuilding"


def _laid_out(name: str) -> str:
    return name + ":laid-out"


SUMMARY_FIELDS = (
    "id",
    "merchant_id",
    "name",
    "address",
    "lat",
    "lng",
    "hours",
    "photos",
    "merchant__category",
)


def summary_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """What nearby shows of a store (public fields only), from a row of SUMMARY_FIELDS."""
    category = row["merchant__category"]
    photos = row["photos"]
    return {
        "id": row["id"],
        "merchant_id": row["merchant_id"],
        "name": row["name"],
        "category": str(category.value if isinstance(category, Category) else category) if category else None,
        "address": row["address"],
        # Six decimals are ~0.1 m, finer than any map SDK's fix; the full float would add ~20 bytes a store.
        "lat": round(row["lat"], 6),
        "lng": round(row["lng"], 6),
        "hours": row["hours"],
        "photo": photos[0] if photos else None,
    }


def summary_of(store: Store, merchant: Merchant) -> dict[str, Any]:
    """What nearby shows of a store (public fields only)."""
    row = {f: getattr(store, f) for f in SUMMARY_FIELDS if f != "merchant__category"}
    return summary_from_row(row | {"merchant__category": merchant.category})


def is_visible(merchant: Merchant, store: Store) -> bool:
    """Whether customers may find this store."""
    return merchant.status in VISIBLE and store.lat is not None and store.lng is not None


async def sync_merchant(merchant_id: int) -> None:
    """Put a merchant's stores in the index or take them out, from the current database state."""
    redis = get_redis()
    if await redis.exists(REBUILD_LOCK):
        await redis.sadd(DIRTY, str(merchant_id))  # type: ignore[misc]
    merchant = await Merchant.get_or_none(id=merchant_id)
    stores = await Store.filter(merchant_id=merchant_id) if merchant else []
    pipe = redis.pipeline(transaction=True)
    keys = [SUMMARIES, GEO_ALL, *CATEGORY_KEYS]
    for store in stores:
        assert merchant is not None
        if is_visible(merchant, store):
            assert store.lat is not None and store.lng is not None
            summary = orjson.dumps(summary_of(store, merchant)).decode()
            position = keys.index(category_key(merchant.category)) + 1 if merchant.category else 0
            await _STORE_PUT(keys, [store.id, summary, store.lng, store.lat, position], client=pipe)
        else:
            await _STORE_PUT(keys, [store.id, "", 0, 0, 0], client=pipe)
    await pipe.execute()


async def _visible_batches() -> AsyncIterator[list[dict[str, Any]]]:
    last = 0
    while True:
        rows = (
            await Store.filter(id__gt=last, merchant__status__in=list(VISIBLE), lat__isnull=False)
            .order_by("id")
            .limit(_BATCH)
            .values(*SUMMARY_FIELDS)
        )
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


async def rebuild_index() -> int | None:
    """Rebuild the whole index from the database; None when another process is rebuilding it.

    The new index is built under temporary keys and swapped in atomically. Merchants whose stores
    changed while it was built (their sync marked them dirty) are synced again after the swap.
    """
    redis = get_redis()
    if not await redis.set(REBUILD_LOCK, "1", nx=True, ex=600):
        return None
    names = [GEO_ALL, SUMMARIES, *(category_key(c) for c in Category)]
    try:
        await redis.delete(DIRTY, *(_tmp(n) for n in names), *(_laid_out(n) for n in names))
        count = 0
        filled: set[str] = set()
        async for rows in _visible_batches():
            pipe = redis.pipeline(transaction=False)
            for row in rows:
                summary = summary_from_row(row)
                member = orjson.dumps(summary).decode()
                point = (row["lng"], row["lat"], member)
                pipe.geoadd(_tmp(GEO_ALL), point)
                if summary["category"]:
                    pipe.geoadd(_tmp(category_key(summary["category"])), point)
                    filled.add(category_key(summary["category"]))
                pipe.hset(_tmp(SUMMARIES), str(row["id"]), member)
            await pipe.execute()
            count += len(rows)
        filled.add(GEO_ALL)
        for name in filled:
            await _lay_out(redis, _tmp(name), _laid_out(name))
        swap = redis.pipeline(transaction=True)
        for name in names:
            if count and name in filled:
                swap.rename(_laid_out(name), name)
            elif count and name == SUMMARIES:
                swap.rename(_tmp(name), name)
            else:
                swap.delete(name)
        swap.set(BUILT, utcnow().isoformat())
        swap.delete(REBUILD_ASKED)
        await swap.execute()
    finally:
        await redis.delete(REBUILD_LOCK)
    while merchant_id := await redis.spop(DIRTY):  # type: ignore[misc]
        await sync_merchant(int(merchant_id))
    log.info("store geo index rebuilt", extra={"stores": count})
    return count


# A GEO key's sorted set keeps its members where they were allocated, in insertion order. Copied in
# geohash (score) order, stores near each other sit near each other in Redis's memory, and a nearby
# search, which walks neighbouring members, costs less than half as much (measured: 17 against 43 µs
# a GEOSEARCH over 50,000 stores). Edits since the last rebuild are allocated wherever; the nightly
# rebuild lays the whole index out again.
async def _lay_out(redis: Any, source: str, target: str) -> None:
    """Copy a GEO key into a new key in geohash order (chunked, so Redis never blocks for long)."""
    start = 0
    while chunk := await redis.zrange(source, start, start + _BATCH - 1, withscores=True):
        await redis.zadd(target, dict(chunk))
        start += len(chunk)
    await redis.delete(source)


async def index_present() -> bool:
    """Whether the index is built (False after Redis lost it)."""
    return bool(await get_redis().exists(BUILT))


@dataclass(frozen=True)
class NearbyHit:
    """A store found near a point, with its distance."""

    store_id: int
    distance_m: float
    summary: dict[str, Any]


class SearchReach:
    """Where a nearby search starts: a running quantile of the distances searches needed, per GEO key.

    A circle that holds `count` stores is widened no further, so starting where the count-th store
    is for most searches saves them a second round trip, and starting no farther keeps the circle
    cheap. Stores are spread unevenly (dense streets, empty parks), so the start tracks a high
    quantile of the needed distance rather than its mean. It is a guess only (`nearby` widens a short
    circle, so the answer never depends on it), which is why each process may keep its own.
    """

    QUANTILE = 0.9  # the share of searches whose first circle should hold enough stores
    STEP = 0.05  # how far one search moves the estimate (relative)

    def __init__(self, first_guess_m: float = 500.0, reference_count: int = 21) -> None:
        # Kept per store of the count, since in an even spread the count-th store's distance grows
        # with the square root of the count.
        self._first = first_guess_m / math.sqrt(reference_count)
        self._per_key: dict[str, float] = {}

    def start(self, geo: str, count: int) -> float:
        """The radius to search first for `count` stores in `geo`."""
        return self._per_key.get(geo, self._first) * math.sqrt(count)

    def learn(self, geo: str, count: int, farthest_m: float) -> None:
        """Record that the count-th nearest store was farthest_m away."""
        known = self._per_key.get(geo, self._first)
        # Up by q steps when the estimate fell short, down by (1 - q) when it reached: it settles
        # where a share q of searches reach (a stochastic quantile estimate).
        if farthest_m / math.sqrt(count) > known:
            self._per_key[geo] = known * (1 + self.STEP * self.QUANTILE)
        else:
            self._per_key[geo] = known * (1 - self.STEP * (1 - self.QUANTILE))


reach = SearchReach()


async def nearby(
    lat: float, lng: float, radius_m: int, category: Category | None, offset: int, limit: int
) -> tuple[bytes, int, bool]:
    """Visible stores within radius_m, nearest first: one page as a JSON array, its length, more to come."""
    geo = category_key(category) if category else GEO_ALL
    count = offset + limit + 1
    pipeline = autopipeline.shared()
    r = max(1, min(radius_m, round(reach.start(geo, count))))
    # Adjacent in one round trip: the marker that the index is whole, then the first circle. Not one
    # atomic step: a FLUSHALL landing between the two would cost one empty answer, then the fallback.
    built, first = pipeline.command("EXISTS", BUILT), pipeline.command(*_search(geo, lng, lat, r, count))
    hits = await first
    if not await built:
        await ask_rebuild()
        return await _nearby_from_database_page(lat, lng, radius_m, category, offset, limit)
    # GEOSEARCH costs grow with the stores in the circle, so it starts near where the count-th store
    # usually is and widens only when short: once a circle holds `count` stores they are the nearest
    # ones of the whole radius, so the answer never depends on the guess. A short circle widens by the
    # density it showed, or doubles when it held too few stores to tell.
    while len(hits) < count and r < radius_m:
        r = min(radius_m, round(r * math.sqrt(count / len(hits)) * 1.15) if len(hits) >= 4 else r * 2)
        hits = await pipeline.command(*_search(geo, lng, lat, r, count))
    more = len(hits) >= count
    page = hits[offset : count - 1]
    if more and page:
        reach.learn(geo, offset + len(page), float(page[-1][1]))  # the page's last store's distance
    items = [summary[:-1] + b',"distance_m":%d}' % round(float(distance)) for summary, distance in page]
    return b"[" + b",".join(items) + b"]", len(items), more


def _search(geo: str, lng: float, lat: float, radius_m: int, count: int) -> tuple[Any, ...]:
    """GEOSEARCH for the `count` nearest stores within radius_m: [[summary, distance], ...]."""
    return (
        "GEOSEARCH",
        geo,
        "FROMLONLAT",
        lng,
        lat,
        "BYRADIUS",
        radius_m,
        "m",
        "ASC",
        "COUNT",
        count,
        "WITHDIST",
    )


async def _nearby_from_database_page(
    lat: float, lng: float, radius_m: int, category: Category | None, offset: int, limit: int
) -> tuple[bytes, int, bool]:
    hits = (await nearby_from_database(lat, lng, radius_m, category, offset + limit + 1))[offset:]
    page = [h.summary | {"distance_m": round(h.distance_m)} for h in hits[:limit]]
    return orjson.dumps(page), len(page), len(hits) > limit


async def ask_rebuild() -> None:
    """Ask a worker to rebuild the index (at most once a minute, however many requests notice)."""

    if await get_redis().set(REBUILD_ASKED, "1", nx=True, ex=60):
        await enqueue(rebuild_geo_index)


async def nearby_from_database(
    lat: float, lng: float, radius_m: int, category: Category | None, count: int
) -> list[NearbyHit]:
    """The same answer as the index, from the database (used while the index is missing)."""
    dlat = radius_m / 111_320
    dlng = radius_m / (111_320 * max(0.01, math.cos(math.radians(lat))))
    query = Store.filter(
        merchant__status__in=list(VISIBLE),
        lat__gte=lat - dlat,
        lat__lte=lat + dlat,
        lng__gte=lng - dlng,
        lng__lte=lng + dlng,
    ).select_related("merchant")
    if category:
        query = query.filter(merchant__category=category)
    hits = []
    for store in await query:
        assert store.lat is not None and store.lng is not None
        distance = haversine_m(lat, lng, store.lat, store.lng)
        if distance <= radius_m:
            hits.append(NearbyHit(store.id, distance, summary_of(store, store.merchant)))
    hits.sort(key=lambda h: (h.distance_m, h.store_id))
    return hits[:count]


async def summaries(store_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Cached summaries of visible stores."""
    ids = list(store_ids)
    if not ids:
        return {}
    raw = await get_redis().hmget(SUMMARIES, [str(i) for i in ids])  # type: ignore[misc]
    return {i: orjson.loads(r) for i, r in zip(ids, raw, strict=True) if r}


@job("merchants.sync_store_index")
async def sync_store_index(merchant_id: int) -> None:
    """Re-read a merchant's stores and put them in (or take them out of) the nearby index."""
    await sync_merchant(merchant_id)


@job("merchants.rebuild_geo_index", max_tries=3)
async def rebuild_geo_index() -> int | None:
    """Rebuild the whole nearby index from the database."""
    return await rebuild_index()
