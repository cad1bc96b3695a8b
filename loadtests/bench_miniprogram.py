"""Benchmark: the mini-program home and bill-order creation next to `/healthz`, in one run, against a
real `linli serve` on PostgreSQL and Redis.

    .venv/bin/python -m loadtests.bench_miniprogram \\
        --database-url postgres://postgres@127.0.0.1:5432/linli_bench \\
        --redis-url redis://127.0.0.1:6379/3 --reset --seconds 30 --users 32

With `--reset` it DROPS the database's public schema and the Redis database's keys, then migrates.
Realistic data for the home screen: 5,000 stores in 25 grids (the nearby index rebuilt), 40 published
campaigns (live and upcoming, a third limited to grids, some to audience lists), members with points
earned in several lots; and the bill-payment seed of `bench_billpay` (a simulated biller without
added latency). Locust runs headless once per endpoint at the same concurrency, each user in a closed
loop, and the script prints requests per second and latency percentiles with ratios to `/healthz` as a
Markdown table (also `loadtests/out/miniprogram_bench.json`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import subprocess
import sys
from datetime import timedelta
from typing import Any

from loadtests import bench_billpay as billpay
from loadtests import seed_stores

OUT = billpay.OUT
SCENARIOS = {
    "healthz": "GET /healthz",
    "home": "GET /mp/v1/home",
    "create": "POST /mp/v1/bills/orders",
}


async def seed_home(members_with_points: int) -> dict[str, Any]:
    """Stores and grids, published campaigns and points for the first members; the locations to ask from."""
    from app.core.config import get_settings
    from app.core.db import close_db, init_db
    from app.core.redis_client import close_redis, init_redis
    from app.core.timeutil import utcnow
    from campaigns.models import AudienceMember, Campaign, CampaignStatus, CampaignType
    from loyalty.ledger import earn_points
    from loyalty.ledger.postings import EarnSource
    from loyalty.members.pool import join
    from loyalty.models import Member, PointsAccount
    from merchants.models import Branch

    settings = get_settings()
    await init_db(settings)
    await init_redis(settings)
    try:
        await seed_stores.seed(stores=5_000, grids=25, seed_value=11)
        branches = await Branch.all().values_list("id", "lat", "lng")
        now, rng = utcnow(), random.Random(3)
        members = await Member.all().order_by("id").limit(members_with_points).values_list("id", flat=True)
        # Seeded members never logged in: give them the points account a first login creates.
        await PointsAccount.bulk_create([PointsAccount(member_id=mid, balance=0) for mid in members])
        campaigns = [
            Campaign(
                type=CampaignType.MULTIPLIER if n % 2 else CampaignType.FLASH,
                status=CampaignStatus.LIVE if n % 3 else CampaignStatus.APPROVED,
                name=f"Bench campaign {n}",
                starts_at=now - timedelta(days=1) if n % 3 else now + timedelta(days=n),
                ends_at=now + timedelta(days=30 + n),
                grid_ids=[branches[n % len(branches)][0]] if n % 3 == 0 else [],
                audience={"member_list": True} if n % 7 == 0 else {},
                config={"type": "multiplier", "multiplier": "2"} if n % 2 else {"type": "flash"},
                stock=0 if n % 2 else 100,
                created_by=1,
                updated_by=1,
                approved_by=2,
                approved_at=now,
            )
            for n in range(40)
        ]
        await Campaign.bulk_create(campaigns)
        listed = await Campaign.filter(name__startswith="Bench campaign").values_list("id", "audience")
        await AudienceMember.bulk_create(
            [
                AudienceMember(campaign_id=cid, member_id=mid)
                for cid, audience in listed
                if audience.get("member_list")
                for mid in members[::2]
            ]
        )
        for mid in members:
            await join(mid, share_profile=True, marketing=False)
            for lot in range(3):
                await earn_points(
                    mid, rng.randint(50, 500), source=EarnSource.OPS_GRANT, reference=f"bench-{mid}-{lot}"
                )
        return {"locations": [[lat, lng] for _, lat, lng in branches]}
    finally:
        await close_redis()
        await close_db()


def main() -> int:
    """Seed, serve, measure, report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--reset", action="store_true", help="drop the schema and flush Redis first")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="API processes")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=5000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    env = billpay.configure(args) | {"PYTHONPATH": str(billpay.ROOT)}  # locust imports loadtests.*
    if args.reset:
        asyncio.run(billpay.reset(args.database_url, args.redis_url))
    subprocess.run([str(billpay.BIN / "linli"), "migrate"], env=env, check=True, capture_output=True)
    seeded = asyncio.run(billpay.seed(args.members, args.accounts))
    seeded |= asyncio.run(seed_home(args.members))
    seed_file = OUT / "miniprogram_seed.json"
    seed_file.write_text(json.dumps(seeded))

    port = billpay.free_port()
    log = (OUT / "miniprogram_serve.log").open("wb")
    server = subprocess.Popen(
        [str(billpay.BIN / "linli"), "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=log,
        stderr=log,
    )
    load_before = os.getloadavg()
    try:
        billpay.wait_ready(port, server)
        results = [
            billpay.run_locust(
                scenario,
                args,
                env,
                port,
                seed_file,
                locustfile="locustfile_miniprogram.py",
                names=SCENARIOS,
                prefix="miniprogram",
            )
            for scenario in SCENARIOS
        ]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        log.close()
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "users": args.users,
        "seconds": args.seconds,
        "workers": args.workers,
        "results": results,
    }
    (OUT / "miniprogram_bench.json").write_text(json.dumps(report, indent=2))
    print(report["machine"], "| load average before/after:", load_before, report["load_after"])
    print(billpay.table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
