"""Server time of the ops console's heaviest pages with realistic data: 50,000 stores in 200 grids,
100 campaigns, a month of settlement statements (3,000 merchants a day), 20,000 audit entries,
200,000 members who joined over a year and 300,000 sales over the month.

    LINLI_DATABASE_URL=postgres://…/db LINLI_REDIS_URL=redis://…/n .venv/bin/python -m loadtests.bench_console

The database is emptied and migrated first (never point it at one you need). Pages are rendered
in-process through the ASGI app (no network, no browser), each ROUNDS times after a warm-up, as an
admin signed in through the console's own login form; the table is docs/benchmarks.md's.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import timedelta

import httpx

from app.core.auth import operators
from app.core.auth.deps import OperatorRole
from app.core.auth.tokens import Audience, Principal
from app.core.config import get_settings
from app.core.db import close_db, db, dialect, init_db, migrate
from app.core.models import AuditEntry
from app.core.redis_client import close_redis, get_redis, init_redis
from app.core.timeutil import business_day, utcnow
from app.main import create_app
from app.wiring import wire
from campaigns.management import create_campaign
from campaigns.schemas import CampaignIn
from loadtests.seed_stores import seed as seed_stores
from loyalty.models import DailyRun, Member, Sale, SettlementStatement, StatementStatus
from merchants.models import Branch, Merchant

PASSWORD = "bench-console-passphrase"
ROUNDS = 30
BATCH = 5000


async def reset() -> None:
    """Drop and re-create the schema (PostgreSQL only: the benchmark's numbers are PostgreSQL's)."""
    if dialect() != "postgres":
        raise SystemExit("run against PostgreSQL (LINLI_DATABASE_URL=postgres://…)")
    await db().execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await close_db()
    await migrate(get_settings())
    await init_db(get_settings())
    await get_redis().flushdb()


async def seed(
    stores: int, grids: int, campaigns: int, merchants_a_day: int, days: int, members: int, sales: int
) -> None:
    """Everything the pages read, in bulk."""
    await seed_stores(stores, grids, 7)
    admin = await operators.create_operator(None, "bench-admin", PASSWORD, [OperatorRole.ADMIN])
    actor = Principal(Audience.OPERATOR, admin.id, "bench", ("admin",))
    start = utcnow() + timedelta(days=1)
    for n in range(campaigns):
        body = {
            "name": f"Bench campaign {n}",
            "starts_at": (start + timedelta(hours=n)).isoformat(),
            "ends_at": (start + timedelta(hours=n + 2)).isoformat(),
            "config": {
                "type": "flash",
                "stock": 1000,
                "price_fen": 100,
                "reward": {"kind": "points", "title": "Points", "points": 100},
            },
        }
        await create_campaign(actor, CampaignIn.model_validate(body))
    merchant_ids = [int(i) for i in await Merchant.all().order_by("id").values_list("id", flat=True)]
    rng = random.Random(7)
    today = business_day()
    rows = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        for merchant_id in rng.sample(merchant_ids, merchants_a_day):
            payable, receivable = rng.randint(0, 200_000), rng.randint(0, 50_000)
            rows.append(
                SettlementStatement(
                    merchant_id=merchant_id,
                    business_day=day,
                    status=StatementStatus.DRAFT,
                    payable_fen=payable,
                    receivable_fen=receivable,
                    net_fen=payable - receivable,
                    line_count=rng.randint(1, 40),
                )
            )
        await DailyRun.create(name="settlement", business_day=day, finished_at=utcnow())
    for i in range(0, len(rows), BATCH):
        await SettlementStatement.bulk_create(rows[i : i + BATCH])
    entries = [
        AuditEntry(
            actor_type="ops",
            actor_id=admin.id,
            action="merchant.approve",
            target_type="merchant",
            target_id=str(rng.choice(merchant_ids)),
        )
        for _ in range(20_000)
    ]
    for i in range(0, len(entries), BATCH):
        await AuditEntry.bulk_create(entries[i : i + BATCH])
    await seed_loyalty(merchant_ids, members, sales, days)
    await db().execute_script("ANALYZE")


async def seed_loyalty(merchant_ids: list[int], members: int, sales: int, days: int) -> None:
    """Members who joined over a year and sales spread over the last `days` days (the home page's figures)."""
    rng = random.Random(11)
    now = utcnow()
    rows = [
        Member(openid=f"bench-{n}", joined_at=now - timedelta(seconds=rng.randint(0, 365 * 86400)))
        for n in range(members)
    ]
    for i in range(0, len(rows), BATCH):
        await Member.bulk_create(rows[i : i + BATCH])
    first = int((await Member.all().order_by("id").first().values_list("id", flat=True)) or 1)
    batch = []
    for n in range(sales):
        batch.append(
            Sale(
                merchant_id=rng.choice(merchant_ids),
                member_id=first + rng.randrange(members),
                reference=f"bench-{n}",
                amount_fen=rng.randint(1_000, 50_000),
                points=rng.randint(10, 500),
            )
        )
        if len(batch) == BATCH:
            await Sale.bulk_create(batch)
            batch = []
    if batch:
        await Sale.bulk_create(batch)
    await db().execute_script(
        f"UPDATE loyalty_sale SET created_at = now() - random() * interval '{days} days'"  # noqa: S608
    )


async def signed_in(client: httpx.AsyncClient) -> None:
    """Log in through the console's form (its login CSRF cookie first)."""
    form = await client.get("/console/login")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = await client.post(
        "/console/login", data={"username": "bench-admin", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.text


async def measure(client: httpx.AsyncClient, path: str) -> tuple[float, float, int]:
    """(median ms, p95 ms, bytes) of ROUNDS renderings after two warm-ups."""
    for _ in range(2):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    times = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        response = await client.get(path)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(response.content)


async def main() -> None:
    """Seed, sign in, render each page and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=50_000)
    parser.add_argument("--grids", type=int, default=200)
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--merchants-a-day", type=int, default=3_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--sales", type=int, default=300_000)
    args = parser.parse_args()
    settings = get_settings()
    wire()
    await init_db(settings)
    await init_redis(settings)
    try:
        await reset()
        await seed(
            args.stores, args.grids, args.campaigns, args.merchants_a_day, args.days, args.members, args.sales
        )
        grid = await Branch.all().order_by("id").first()
        assert grid is not None
        yesterday = (business_day() - timedelta(days=1)).isoformat()
        pages = [
            ("home", "/console/"),
            ("grid dashboard + SVG (≈250 stores)", f"/console/grids/{grid.id}"),
            ("grids list", "/console/grids"),
            ("merchants, active (first 50 of 50,000)", "/console/merchants?status=active"),
            ("campaigns (first 50 of 100)", "/console/campaigns"),
            ("settlement, a day (first 50 of 3,000)", f"/console/settlement?day={yesterday}"),
            ("audit log (first 50 of 20,000)", "/console/audit"),
            ("audit log filtered by action", "/console/audit?action=merchant.approve&target_type=merchant"),
        ]
        app = create_app(settings, manage_resources=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await signed_in(client)
            print("| page | median ms | p95 ms | HTML bytes |\n|---|---|---|---|")
            for label, path in pages:
                median, p95, size = await measure(client, path)
                print(f"| {label} | {median:.1f} | {p95:.1f} | {size:,} |")
    finally:
        await close_redis()
        await close_db()


if __name__ == "__main__":
    asyncio.run(main())
