"""Grab benchmarks for docs/benchmarks.md, all measured in the same run against one `linli serve` process
and one `linli worker` on PostgreSQL and Redis (`LINLI_DATABASE_URL`, `LINLI_REDIS_URL`):

1. throughput (64 back-to-back users) of the trivial endpoint, a one-Redis-call endpoint, won grabs and
   sold-out grabs, in interleaved rounds so that load from other users of the machine hits all alike;
2. latency of the same four at the same paced load (half the trivial endpoint's throughput);
3. 10,000 won grabs (10,000 members) and the time until all of them are in the database;
4. the grab script's own capacity from `redis-benchmark` (EVALSHA, one and 32 grabs per call).

    python -m loadtests.bench --out loadtests/out/bench
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from loadtests.run_flash import BIN, ROOT, start, wait_ready

TARGETS = ("trivial", "redis", "grab_won", "grab_sold_out")
USERS = 64
PERSIST_GRABS = 10_000


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "loadtests" / "out" / "bench")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=6, help="per endpoint and round")
    parser.add_argument("--port", type=int, default=8768)
    return parser.parse_args()


async def prepare(out: Path) -> dict[str, Any]:
    """Campaigns (won, sold out, persistence) and member tokens, written where the locust users read them."""
    from app.config import get_settings
    from app.db import close_db, init_db
    from app.redis_client import close_redis, init_redis
    from campaigns import flash
    from loadtests import setup

    await init_db(get_settings())
    await init_redis(get_settings())
    try:
        now = datetime.now(UTC) - timedelta(seconds=5)
        hour = timedelta(hours=1)
        won = await setup.flash_campaign(
            stock=1_000_000, limit=10_000, starts_at=now, lasts=hour, name="bench won"
        )
        sold = await setup.flash_campaign(stock=1, limit=1, starts_at=now, lasts=hour, name="bench sold out")
        persist = await setup.flash_campaign(
            stock=PERSIST_GRABS, limit=1, starts_at=now, lasts=hour, name="bench 10k"
        )
        tokens = await setup.member_tokens(USERS * 4)
        answer = await flash.grab(sold.id, tokens[-1][0], "", "10.0.0.1")  # a member no bench user is
        assert answer.won, answer
        persist_tokens = await setup.member_tokens(PERSIST_GRABS)
    finally:
        await close_redis()
        await close_db()
    data = {
        "won_campaign": won.id,
        "sold_out_campaign": sold.id,
        "persist_campaign": persist.id,
        "tokens": [t for _, t in tokens],
        "persist_tokens": [t for _, t in persist_tokens],
    }
    (out / "data.json").write_text(json.dumps(data))
    return data


def locust(out: Path, port: int, target: str, seconds: int, rate: float, tag: str) -> dict[str, float]:
    """One locust run; its requests per second and p50/p99 in ms."""
    prefix = out / f"{tag}-{target}"
    subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "loadtests" / "bench_locustfile.py"),
            "--headless",
            "-u",
            str(USERS),
            "-r",
            str(USERS),
            "-t",
            f"{seconds}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(prefix),
            "--only-summary",
        ],
        env=os.environ
        | {"BENCH_DATA": str(out / "data.json"), "BENCH_TARGET": target, "BENCH_RATE": str(rate)},
        cwd=ROOT,
        check=False,
        capture_output=True,
    )
    with open(f"{prefix}_stats.csv") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    return {
        "rps": float(row["Requests/s"]),
        "p50_ms": float(row["50%"]),
        "p99_ms": float(row["99%"]),
        "requests": float(row["Request Count"]),
        "failures": float(row["Failure Count"]),
    }


async def persist_10k(port: int, data: dict[str, Any]) -> dict[str, float]:
    """10,000 members grab once each (200 at a time); seconds until the database holds every win."""
    from app.config import get_settings
    from app.db import close_db, init_db
    from campaigns.models import FlashWin

    campaign = data["persist_campaign"]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for token in data["persist_tokens"]:
        queue.put_nowait(token)
    won = 0
    last_win = 0.0

    async def member(client: httpx.AsyncClient, n: int) -> None:
        nonlocal won, last_win
        while not queue.empty():
            token = queue.get_nowait()
            response = await client.post(
                f"/mp/v1/campaigns/{campaign}/grab",
                headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": f"10.8.{n}.1"},
            )
            if response.status_code == 200 and response.json()["outcome"] == "won":
                won += 1
                last_win = time.monotonic()

    await init_db(get_settings())
    try:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30
        ) as client:
            started = time.monotonic()
            await asyncio.gather(*(member(client, n) for n in range(200)))
        while await FlashWin.filter(campaign_id=campaign).count() < won:  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.05)
        persisted = time.monotonic()
    finally:
        await close_db()
    return {
        "won": won,
        "grab_seconds": round(last_win - started, 2),
        "persisted_seconds_after_first_grab": round(persisted - started, 2),
        "persisted_seconds_after_last_win": round(persisted - last_win, 2),
    }


async def script_capacity(out: Path) -> dict[str, float]:
    """grab.lua under redis-benchmark: single grabs and batches of 32, on a campaign no persister follows."""
    from app.config import get_settings
    from app.db import close_db, init_db
    from app.redis_client import close_redis, get_redis, init_redis
    from campaigns.flash_engine import GRAB_SCRIPT
    from campaigns.flash_keys import ACTIVE_SET, EVENTS_CHANNEL, campaign_keys, grab_keys
    from loadtests import setup

    await init_redis(get_settings())
    await init_db(get_settings())
    try:
        now = datetime.now(UTC) - timedelta(seconds=5)
        campaign = await setup.flash_campaign(
            stock=1_000_000, limit=10_000, starts_at=now, lasts=timedelta(hours=1), name="bench script"
        )
        redis = get_redis()
        await redis.srem(ACTIVE_SET, campaign.id)  # type: ignore[misc]
        sha = await redis.script_load(GRAB_SCRIPT.source)
        url = urlsplit(os.environ["LINLI_REDIS_URL"])
        keys = grab_keys(campaign.id)
        results: dict[str, float] = {}
        for batch in (1, 32):
            grabs = [arg for _ in range(batch) for arg in ("__rand_int__", "", "10.0.0.1")]
            command = [
                "redis-benchmark", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379),
                "--dbnum", (url.path.strip("/") or "0"), "-n", str(200_000 // batch), "-c", "32",
                "-r", "100000", "-q", "--csv", "EVALSHA", sha, str(len(keys)), *keys, EVENTS_CHANNEL, *grabs,
            ]  # fmt: skip
            done = await asyncio.to_thread(
                subprocess.run, command, capture_output=True, text=True, check=True
            )
            output = done.stdout
            calls = float(list(csv.reader(output.strip().splitlines()))[-1][1])
            results[f"calls_per_second_batch_{batch}"] = calls
            results[f"grabs_per_second_batch_{batch}"] = calls * batch
        await redis.delete(*campaign_keys(campaign.id))
        return results | {"campaign_id": campaign.id}
    finally:
        await close_redis()
        await close_db()


async def end_bench_campaigns() -> None:
    """The benchmark's campaigns end with it (the script's random members never reach the database)."""
    from app.config import get_settings
    from app.db import close_db, init_db
    from campaigns.models import Campaign, CampaignStatus

    await init_db(get_settings())
    try:
        await Campaign.filter(name__startswith="bench ", status=CampaignStatus.LIVE).update(
            status=CampaignStatus.ENDED, end_reason="benchmark_over"
        )
    finally:
        await close_db()


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "system": platform.platform(),
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main() -> int:
    """Run every benchmark and write bench.json."""
    args = parse_args()
    if not (os.environ.get("LINLI_DATABASE_URL") and os.environ.get("LINLI_REDIS_URL")):
        raise SystemExit(
            "set LINLI_DATABASE_URL and LINLI_REDIS_URL: the benchmarks run on PostgreSQL and Redis"
        )
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    # Every benchmark user sends from its own address; one member's grabs come back to back.
    env = dict(os.environ) | {
        "LINLI_LOG_LEVEL": "WARNING",
        "LINLI_ACCESS_LOG": "false",
        "LINLI_FLASH_MEMBER_RATE": "0",
    }
    os.environ.update(env)
    subprocess.run([str(BIN / "linli"), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    report: dict[str, Any] = {"machine": machine(), "started": datetime.now(UTC).isoformat(), "users": USERS}
    server = start(["serve", "--port", str(args.port)], env, args.out / "serve.log")
    worker = start(["worker"], env, args.out / "worker.log")
    try:
        wait_ready(args.port, server)
        data = asyncio.run(prepare(args.out))
        rounds: dict[str, list[dict[str, float]]] = {t: [] for t in TARGETS}
        for n in range(args.rounds):
            for target in TARGETS:
                rounds[target].append(locust(args.out, args.port, target, args.seconds, 0, f"round{n}"))
                print(target, rounds[target][-1], flush=True)
        throughput = {
            t: {k: statistics.median(r[k] for r in rows) for k in rows[0]} for t, rows in rounds.items()
        }
        report["throughput"] = throughput
        report["throughput_rounds"] = rounds
        pace = throughput["trivial"]["rps"] * 0.5
        report["paced_total_rps"] = pace
        report["paced"] = {
            t: locust(args.out, args.port, t, args.seconds * 2, pace / USERS, "paced") for t in TARGETS
        }
        print("paced", report["paced"], flush=True)
        report["persist_10k"] = asyncio.run(persist_10k(args.port, data))
        print("persist", report["persist_10k"], flush=True)
    finally:
        for process in (server, worker):
            process.terminate()
            process.wait(timeout=30)
    report["script_capacity"] = asyncio.run(script_capacity(args.out))
    asyncio.run(end_bench_campaigns())
    trivial = report["throughput"]["trivial"]
    report["ratios"] = {
        "grab_won_rps / trivial_rps": report["throughput"]["grab_won"]["rps"] / trivial["rps"],
        "grab_sold_out_rps / trivial_rps": report["throughput"]["grab_sold_out"]["rps"] / trivial["rps"],
        "redis_rps / trivial_rps": report["throughput"]["redis"]["rps"] / trivial["rps"],
        "grab_won_p99 / trivial_p99 (paced)": report["paced"]["grab_won"]["p99_ms"]
        / max(1.0, report["paced"]["trivial"]["p99_ms"]),
        "grab_sold_out_p99 / trivial_p99 (paced)": report["paced"]["grab_sold_out"]["p99_ms"]
        / max(1.0, report["paced"]["trivial"]["p99_ms"]),
    }
    report["finished"] = datetime.now(UTC).isoformat()
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    print(
        json.dumps({k: report[k] for k in ("ratios", "persist_10k", "script_capacity", "machine")}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
