"""Seed active stores for the nearby benchmark: branches on a square lattice, stores scattered in each grid.

    LINLI_DATABASE_URL=postgres://… LINLI_REDIS_URL=redis://… .venv/bin/python -m loadtests.seed_stores

Bulk inserts (2,000 rows a statement), then the Redis GEO index is rebuilt from the database. Run it
on an empty, migrated database: seeded merchants carry generated credit codes of their own range.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
from datetime import UTC, datetime

from tqdm import tqdm

from app.core.config import get_settings
from app.core.db import close_db, db, dialect, init_db
from app.core.redis_client import close_redis, init_redis
from merchants.discovery import index as discovery
from merchants.models import Branch, Category, Merchant, MerchantStatus, Store
from merchants.validation import credit_code_check_char

CENTRE = (31.2304, 121.4737)
SPACING_M = 4000
BATCH = 2000


def lattice(grids: int) -> list[tuple[float, float]]:
    """Branch coordinates on a square lattice around the centre."""
    side = math.ceil(math.sqrt(grids))
    points = []
    for i in range(grids):
        row, col = divmod(i, side)
        north, east = (row - side / 2) * SPACING_M, (col - side / 2) * SPACING_M
        lat = CENTRE[0] + north / 111_320
        points.append((lat, CENTRE[1] + east / (111_320 * math.cos(math.radians(lat)))))
    return points


def scatter(rng: random.Random, lat: float, lng: float, radius_m: float) -> tuple[float, float]:
    """A uniformly random point within radius_m of a centre."""
    distance, bearing = radius_m * math.sqrt(rng.random()), rng.random() * 2 * math.pi
    north, east = distance * math.cos(bearing), distance * math.sin(bearing)
    return lat + north / 111_320, lng + east / (111_320 * math.cos(math.radians(lat)))


async def _next_id(table: str) -> int:
    rows = await db().execute_query_dict(f"SELECT COALESCE(MAX(id), 0) AS m FROM {table}")  # noqa: S608
    return int(rows[0]["m"]) + 1


async def _fix_sequences() -> None:
    if dialect() != "postgres":
        return
    await db().execute_script("ANALYZE merchants_branch, merchants_merchant, merchants_store")
    for table in ("merchants_branch", "merchants_merchant", "merchants_store"):
        await db().execute_script(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
        )


async def seed(stores: int, grids: int, seed_value: int) -> None:
    """Insert the branches, merchants and stores, then rebuild the nearby index."""
    rng = random.Random(seed_value)
    categories = list(Category)
    now = datetime.now(UTC)
    branch_id = await _next_id("merchants_branch")
    branches = [
        Branch(id=branch_id + i, name=f"Bench branch {branch_id + i}", lat=lat, lng=lng, radius_m=3000)
        for i, (lat, lng) in enumerate(lattice(grids))
    ]
    await Branch.bulk_create(branches)
    merchant_id, store_id = await _next_id("merchants_merchant"), await _next_id("merchants_store")
    with tqdm(total=stores, unit="store", desc="seeding") as bar:
        for start in range(0, stores, BATCH):
            merchants, rows = [], []
            for n in range(start, min(start + BATCH, stores)):
                branch = branches[n % grids]
                lat, lng = scatter(rng, branch.lat, branch.lng, branch.radius_m)
                first17 = f"9{(merchant_id + n) % 10}B{merchant_id + n:014d}"
                merchants.append(
                    Merchant(
                        id=merchant_id + n,
                        name=f"Bench store {merchant_id + n}",
                        status=MerchantStatus.ACTIVE,
                        credit_code=first17 + credit_code_check_char(first17),
                        category=categories[n % len(categories)],
                        grid_id=branch.id,
                        approved_at=now,
                        last_activity_at=now,
                    )
                )
                rows.append(
                    Store(
                        id=store_id + n,
                        merchant_id=merchant_id + n,
                        name=f"Bench store {merchant_id + n}",
                        address=f"{n} Bench Road",
                        lat=lat,
                        lng=lng,
                        hours="09:00-21:00",
                        photos=[f"https://img.example.com/{n}.jpg"],
                        qr_version=1,
                    )
                )
            await Merchant.bulk_create(merchants)
            await Store.bulk_create(rows)
            bar.update(len(rows))
    await _fix_sequences()
    print("rebuilding the nearby index …")
    count = await discovery.rebuild_index()
    print(f"done: {grids} grids, {stores} stores seeded, {count} stores in the index")


async def main() -> None:
    """Parse arguments, open the database and Redis, seed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=50_000)
    parser.add_argument("--grids", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    settings = get_settings()
    await init_db(settings)
    await init_redis(settings)
    try:
        await seed(args.stores, args.grids, args.seed)
    finally:
        await close_redis()
        await close_db()


if __name__ == "__main__":
    asyncio.run(main())
