"""Benchmark: bill lookup and bill-order creation next to `/healthz`, in one run, against a real
`linli serve` on PostgreSQL and Redis.

    .venv/bin/python loadtests/bench_billpay.py \\
        --database-url postgres://postgres@127.0.0.1:5432/linli_billpay \\
        --redis-url redis://127.0.0.1:6379/3 --reset --seconds 30 --users 32

With `--reset` it DROPS the database's public schema and the Redis database's keys, then migrates.
It seeds a simulated electricity biller (no added latency: the numbers are the platform's own cost),
members with access tokens and account numbers with their amounts due, starts `linli serve`, and runs
locust headless three times at the same concurrency, each user in a closed loop: `GET /healthz`,
`POST /mp/v1/bills/lookup`, `POST /mp/v1/bills/orders` (fresh Idempotency-Key each). It prints requests
per second and latency percentiles of each, with ratios to `/healthz`, as a Markdown table, and writes
`loadtests/out/billpay_bench.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import json
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "loadtests" / "out"
SCENARIOS = {
    "healthz": "GET /healthz",
    "lookup": "POST /mp/v1/bills/lookup",
    "create": "POST /mp/v1/bills/orders",
}


def configure(args: argparse.Namespace) -> dict[str, str]:
    """The environment shared by this script, the server and the seed (same secrets)."""
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    env = {
        "LINLI_ENV": "development",
        "LINLI_DATABASE_URL": args.database_url,
        "LINLI_REDIS_URL": args.redis_url,
        "LINLI_TOKEN_SECRET": key,
        "LINLI_QR_SECRET": key,
        "LINLI_DATA_KEY": key,
        "LINLI_VAR_DIR": str(OUT / "var"),
        "LINLI_LOG_LEVEL": "WARNING",
        "LINLI_ACCESS_LOG": "false",
        "LINLI_EMBEDDED_WORKER": "false",
        "LINLI_ACCESS_TOKEN_TTL": "7200",
    }
    os.environ.update(env)
    return {**os.environ, **env}


async def reset(database_url: str, redis_url: str) -> None:
    """Drop the public schema and flush the Redis database."""
    import asyncpg
    import redis.asyncio as aioredis

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()


async def seed(members: int, accounts: int) -> dict[str, Any]:
    """A simulated biller, members with access tokens, and accounts with their amounts due."""
    from app.core.auth.sessions import open_session
    from app.core.auth.tokens import Audience
    from app.core.config import get_settings
    from app.core.db import close_db, init_db
    from loyalty.models import Member
    from miniprogram_api.billpay.adapters.biller import BillerProfile
    from miniprogram_api.billpay.adapters.simulated_biller import SimulatedBiller
    from miniprogram_api.billpay.models import Biller, BillerType

    await init_db(get_settings())
    try:
        biller = await Biller.create(
            code=f"bench-{secrets.token_hex(3)}",
            type=BillerType.ELECTRICITY,
            name="国网上海电力",
            region="上海市",
            adapter="simulated",
        )
        prefix = secrets.token_hex(4)
        await Member.bulk_create([Member(openid=f"bench-{prefix}-{i}") for i in range(members)])
        rows = await Member.filter(openid__startswith=f"bench-{prefix}-")
        tokens = [(await open_session(Audience.MEMBER, m.id)).access_token for m in rows]
        sim = SimulatedBiller(BillerProfile(biller.code, biller.type, {}))
        pool = random.Random(7)
        numbers = sorted({f"31{pool.randrange(10**8):08d}" for _ in range(accounts)})
        bills = [(n, (await sim.lookup(n)).amount_due) for n in numbers]
        return {"biller_id": biller.id, "tokens": tokens, "accounts": bills}
    finally:
        await close_db()


def free_port() -> int:
    """An unused local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    """Block until /readyz answers 200."""
    import httpx

    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError("server exited; see loadtests/out/billpay_serve.log")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server never became ready")


def run_locust(
    scenario: str,
    args: argparse.Namespace,
    env: dict[str, str],
    port: int,
    seed_file: Path,
    *,
    locustfile: str = "locustfile_billpay.py",
    names: dict[str, str] = SCENARIOS,
    prefix: str = "billpay",
) -> dict:
    """One headless locust run of a scenario; its stats row."""
    stats = OUT / f"{prefix}_{scenario}"
    cmd = [
        str(BIN / "locust"),
        *("-f", str(ROOT / "loadtests" / locustfile)),
        *("--headless", "--only-summary", "--reset-stats"),
        *("-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds}s"),
        *("--host", f"http://127.0.0.1:{port}", "--csv", str(stats)),
    ]
    run_env = env | {"BILLPAY_SCENARIO": scenario, "BILLPAY_SEED": str(seed_file)}
    # locust exits 1 when any request failed: the failures are reported, not fatal
    done = subprocess.run(cmd, env=run_env, capture_output=True, timeout=args.seconds + 120)
    if not Path(f"{stats}_stats.csv").exists():
        raise RuntimeError(f"locust failed: {done.stderr.decode(errors='replace')[-3000:]}")
    with open(f"{stats}_stats.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == names[scenario])
    return {
        "endpoint": names[scenario],
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50_ms": float(row["50%"]),
        "p99_ms": float(row["99%"]),
    }


def table(results: list[dict]) -> str:
    """Markdown table with ratios to the reference endpoint."""
    ref = results[0]
    lines = [
        "| endpoint | requests | failures | req/s | p50 ms | p99 ms | req/s vs /healthz | p99 vs /healthz |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| `{r['endpoint']}` | {r['requests']} | {r['failures']} | {r['rps']:.0f} | {r['p50_ms']:.0f} "
            f"| {r['p99_ms']:.0f} | {r['rps'] / ref['rps']:.2f} | {r['p99_ms'] / ref['p99_ms']:.1f}x |"
        )
    return "\n".join(lines)


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
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--accounts", type=int, default=5000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    env = configure(args)
    if args.reset:
        asyncio.run(reset(args.database_url, args.redis_url))
    subprocess.run([str(BIN / "linli"), "migrate"], env=env, check=True, capture_output=True)
    seed_file = OUT / "billpay_seed.json"
    seed_file.write_text(json.dumps(asyncio.run(seed(args.members, args.accounts))))

    port = free_port()
    log = (OUT / "billpay_serve.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "linli"), "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=log,
        stderr=log,
    )
    load_before = os.getloadavg()
    try:
        wait_ready(port, server)
        results = [run_locust(s, args, env, port, seed_file) for s in SCENARIOS]
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
    (OUT / "billpay_bench.json").write_text(json.dumps(report, indent=2))
    print(report["machine"], "| load average before/after:", load_before, report["load_after"])
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
