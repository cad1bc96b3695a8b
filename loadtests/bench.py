"""Grab benchmarks for docs/benchmarks.md, all measured in the same run against one `linli serve` process
and one `linli worker` on PostgreSQL and Redis (`LINLI_DATABASE_URL`, `LINLI_REDIS_URL`):

1. throughput (64 back-to-back users) of the trivial endpoint, a one-Redis-call endpoint, won grabs and
   sold-out grabs, in interleaved rounds so that load from other users of the machine hits all alike;
2. latency of the same four at the same paced load (40% of the trivial endpoint's throughput);
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loadtests.run_flash import BIN, ROOT, start, wait_ready

TARGETS = ("trivial", "redis", "grab_won", "grab_sold_out")
USERS = 64
PERSIST_GRABS = 10_000
PACE = 0.4  # paced runs send this share of the trivial endpoint's throughput, below every saturation


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "loadtests" / "out" / "bench")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=4, help="per endpoint and round")
    parser.add_argument("--port", type=int, default=8768)
    return parser.parse_args()


async def prepare(out: Path) -> dict[str, Any]:
    """Campaigns (won, sold out, persistence) and member tokens, written where the locust users read them."""
    from app.core.config import get_settings
    from app.core.db import close_db, init_db
    from app.core.redis_client import close_redis, init_redis
    from campaigns.flash import grabs as flash
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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def locust(
    out: Path, port: int, target: str, seconds: int, rate: float, tag: str, pids: dict[str, int]
) -> dict[str, float]:
    """One locust run: requests per second, p50/p99 in ms, and CPU µs per request of the server processes."""
    prefix = out / f"{tag}-{target}"
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
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
    used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    with open(f"{prefix}_stats.csv") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    requests = max(1.0, float(row["Request Count"]))
    return {
        "rps": float(row["Requests/s"]),
        "p50_ms": float(row["50%"]),
        "p99_ms": float(row["99%"]),
        "requests": requests,
        "failures": float(row["Failure Count"]),
        **{f"{name}_cpu_us_per_request": round(cpu / requests * 1e6, 1) for name, cpu in used.items()},
    }


async def persist_10k(out: Path, port: int, data: dict[str, Any]) -> dict[str, float]:
    """10,000 members grab once each, as fast as locust sends; when is every win in the database?"""
    from tortoise.functions import Max, Min

    from app.core.config import get_settings
    from app.core.db import close_db, init_db
    from campaigns.models import FlashWin

    campaign = data["persist_campaign"]
    await init_db(get_settings())
    try:
        crowd = await asyncio.create_subprocess_exec(
            str(BIN / "locust"), "-f", str(ROOT / "loadtests" / "bench_locustfile.py"), "--headless",
            "-u", str(USERS), "-r", str(USERS), "-t", "120s", "--host", f"http://127.0.0.1:{port}",
            "--csv", str(out / "persist"), "--only-summary",
            env=os.environ | {"BENCH_DATA": str(out / "data.json"), "BENCH_TARGET": "persist"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while await FlashWin.filter(campaign_id=campaign).count() < PERSIST_GRABS:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            done = datetime.now(UTC)
        finally:
            crowd.terminate()
            await crowd.wait()
        span = await (
            FlashWin.filter(campaign_id=campaign)
            .annotate(first=Min("won_at"), last=Max("won_at"))
            .values("first", "last")
        )
        first, last = span[0]["first"], span[0]["last"]
    finally:
        await close_db()
    return {
        "wins": PERSIST_GRABS,
        "seconds_from_first_win_to_all_persisted": round((done - first).total_seconds(), 2),
        "seconds_grabbing": round((last - first).total_seconds(), 2),
        "seconds_from_last_win_to_all_persisted": round((done - last).total_seconds(), 2),
    }


async def script_capacity(out: Path) -> dict[str, float]:
    """grab.lua under redis-benchmark: single grabs and batches of 32, on a campaign no persister follows."""
    from app.core.config import get_settings
    from app.core.db import close_db, init_db
    from app.core.redis_client import close_redis, get_redis, init_redis
    from campaigns.flash.engine import GRAB_SCRIPT
    from campaigns.flash.keys import ACTIVE_SET, campaign_keys, events_channel, grab_keys
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
        channel = events_channel()
        url = urlsplit(os.environ["LINLI_REDIS_URL"])
        keys = grab_keys(campaign.id)
        results: dict[str, float] = {}
        for batch in (1, 32):
            grabs = [arg for _ in range(batch) for arg in ("__rand_int__", "", "10.0.0.1")]
            command = [
                "redis-benchmark", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379),
                "--dbnum", (url.path.strip("/") or "0"), "-n", str(200_000 // batch), "-c", "32",
                "-r", "100000", "-q", "--csv", "EVALSHA", sha, str(len(keys)), *keys, channel, *grabs,
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


def medians(rounds: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per target, the median of every measure over the rounds."""
    return {t: {k: statistics.median(r[k] for r in rows) for k in rows[0]} for t, rows in rounds.items()}


def round_ratios(rounds: dict[str, list[dict[str, float]]], target: str, measure: str) -> dict[str, float]:
    """target/trivial of one measure within each round (same background load), as median, min and max."""
    ratios = [
        row[measure] / max(1e-9, base[measure])
        for row, base in zip(rounds[target], rounds["trivial"], strict=True)
    ]
    return {
        "median": round(statistics.median(ratios), 3),
        "min": round(min(ratios), 3),
        "max": round(max(ratios), 3),
    }


async def end_bench_campaigns() -> None:
    """The benchmark's campaigns end with it (the script's random members never reach the database)."""
    from app.core.config import get_settings
    from app.core.db import close_db, init_db
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
        pids = {"api": server.pid, "worker": worker.pid}
        rounds: dict[str, list[dict[str, float]]] = {t: [] for t in TARGETS}
        for n in range(args.rounds):
            for target in TARGETS:
                rounds[target].append(locust(args.out, args.port, target, args.seconds, 0, f"round{n}", pids))
                print(target, rounds[target][-1], flush=True)
        report["throughput"] = medians(rounds)
        report["throughput_rounds"] = rounds
        pace = report["throughput"]["trivial"]["rps"] * PACE
        report["paced_total_rps"] = pace
        paced: dict[str, list[dict[str, float]]] = {t: [] for t in TARGETS}
        for n in range(args.rounds):
            for target in TARGETS:
                run = locust(args.out, args.port, target, args.seconds, pace / USERS, f"paced{n}", pids)
                paced[target].append(run)
                print("paced", target, run, flush=True)
        report["paced"] = medians(paced)
        report["paced_rounds"] = paced
        report["persist_10k"] = asyncio.run(persist_10k(args.out, args.port, data))
        print("persist", report["persist_10k"], flush=True)
    finally:
        for process in (server, worker):
            process.terminate()
        for name, process in (("server", server), ("worker", worker)):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # Reported, not fatal: the figures are in (a slow worker stop is its own issue).
                process.kill()
                report[f"{name}_stop"] = "killed: still running 30 s after SIGTERM"
                print(name, "still running 30 s after SIGTERM: killed", flush=True)
    report["script_capacity"] = asyncio.run(script_capacity(args.out))
    asyncio.run(end_bench_campaigns())
    rounds, paced = report["throughput_rounds"], report["paced_rounds"]
    report["ratios"] = {
        "grab_won_rps / trivial_rps": round_ratios(rounds, "grab_won", "rps"),
        "grab_sold_out_rps / trivial_rps": round_ratios(rounds, "grab_sold_out", "rps"),
        "redis_rps / trivial_rps": round_ratios(rounds, "redis", "rps"),
        "grab_won_p99 / trivial_p99 (paced)": round_ratios(paced, "grab_won", "p99_ms"),
        "grab_sold_out_p99 / trivial_p99 (paced)": round_ratios(paced, "grab_sold_out", "p99_ms"),
        "grab_won_api_cpu / trivial_api_cpu": round_ratios(rounds, "grab_won", "api_cpu_us_per_request"),
    }
    report["finished"] = datetime.now(UTC).isoformat()
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    print(
        json.dumps({k: report[k] for k in ("ratios", "persist_10k", "script_capacity", "machine")}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
