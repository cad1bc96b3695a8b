"""Broadcast benchmark on PostgreSQL: seed a segment of N joined members (a progress bar), then measure how
fast a broadcast walks it (members targeted per second: the batched segment query alone) and how fast it
writes messages (the real `send_batch` jobs run back to back in this process: one delivery row per member
with its rules), for `--seconds` or until the segment is done.

    LINLI_DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_msg \\
    LINLI_REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python -m loadtests.bench_broadcast --members 1000000 --seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime, timedelta

SEED_CHUNK = 50_000


def _bar(done: int, total: int, started: float) -> None:
    width = 40
    filled = int(width * done / max(total, 1))
    rate = done / max(time.perf_counter() - started, 1e-9)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} ({rate:,.0f}/s)")
    sys.stderr.flush()


async def seed(members: int) -> None:
    """Joined members `bench-1` … `bench-N`, one in ten without the marketing consent (idempotent)."""
    from app.core import sql

    have = int(
        (await sql.rows("SELECT count(*) AS n FROM loyalty_member WHERE openid LIKE 'bench-%'"))[0]["n"]
    )
    started = time.perf_counter()
    for start in range(have + 1, members + 1, SEED_CHUNK):
        end = min(start + SEED_CHUNK - 1, members)
        await sql.execute(
            """
            INSERT INTO loyalty_member (openid, nickname, tier, joined_at, share_profile, marketing,
                                        created_at, last_active_at)
            SELECT 'bench-' || g, '', 'regular', now(), false, g % 10 <> 0, now(), now()
            FROM generate_series($1::bigint, $2::bigint) AS g
            ON CONFLICT (openid) DO NOTHING
            """,
            start,
            end,
        )
        _bar(end - have, members - have, started)
    sys.stderr.write("\n")


async def run(members: int, seconds: float, batch: int) -> None:
    """Seed, then measure targeting and sending; prints the figures."""
    from app.core.config import get_settings
    from app.core.db import close_db, init_db
    from app.core.redis_client import close_redis, init_redis
    from loyalty.messages import broadcasts, sending
    from loyalty.models import Broadcast, BroadcastStatus, MessageDelivery, MessageKind

    settings = get_settings()
    settings.message_broadcast_batch = batch
    await init_db(settings)
    await init_redis(settings)
    try:
        await seed(members)
        segment = broadcasts.segment([], [])
        started, after, targeted = time.perf_counter(), 0, 0
        while (
            ids := await segment.filter(id__gt=after).order_by("id").limit(batch).values_list("id", flat=True)
        ):
            targeted += len(ids)
            after = int(str(ids[-1]))
        walk = time.perf_counter() - started
        print(f"segment walk: {targeted:,} members in {walk:.1f} s = {targeted / walk:,.0f} targeted/s")

        noon = datetime.now(settings_tz()).replace(hour=12, minute=0, second=0, microsecond=0)
        broadcast = await Broadcast.create(
            title="Bench", body="Benchmark broadcast", send_at=noon - timedelta(hours=1), created_by=0
        )
        message = await sending.message_for(MessageKind.BROADCAST, f"broadcast:{broadcast.id}")
        await Broadcast.filter(id=broadcast.id).update(status=BroadcastStatus.APPROVED, message_id=message.id)
        started, cursor, sent = time.perf_counter(), 0, 0
        while time.perf_counter() - started < seconds:
            done = await broadcasts.send_batch(broadcast.id, cursor, noon.isoformat())
            if not done:
                break
            sent += done
            cursor = int((await Broadcast.get(id=broadcast.id)).cursor)
            _bar(sent, targeted, started)
        elapsed = time.perf_counter() - started
        sys.stderr.write("\n")
        written = await MessageDelivery.filter(message_id=message.id).count()
        figures = await broadcasts.figures(broadcast.id)
        print(f"send: {sent:,} members processed, {written:,} delivery rows in {elapsed:.1f} s")
        print(f"  = {sent / elapsed:,.0f} members/s, {written / elapsed:,.0f} messages written/s")
        print(f"  figures {figures}")
        if sent < targeted:
            whole = targeted / (sent / elapsed) / 60
            print(f"  (stopped after {seconds:.0f} s; the whole segment at this rate: {whole:,.0f} min)")
    finally:
        await close_redis()
        await close_db()


def settings_tz():  # type: ignore[no-untyped-def]
    """Asia/Shanghai."""
    from app.core.timeutil import BUSINESS_TZ

    return BUSINESS_TZ


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=120.0, help="how long to send")
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(run(args.members, args.seconds, args.batch))


if __name__ == "__main__":
    main()
