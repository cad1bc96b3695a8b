"""`make chaos`: a flash sale and a till burst on PostgreSQL and Redis while everything breaks under them.

One `linli serve` and two `linli worker` processes run against PostgreSQL (`LINLI_DATABASE_URL`, the
local `test` database by default) and a Redis server this script starts on a spare port (it is killed
and restarted, so never the shared one). While a crowd grabs, each member retrying its Idempotency-Key
until answered, as a mini-program honouring Retry-After does:

* both workers are killed with SIGKILL (1 s and 2 s into the sale) and replaced,
* Redis is flushed (FLUSHALL, 3 s), then killed and restarted empty (5 s, down for 1 s),
* every PostgreSQL backend of the database is terminated every 2 s.

Then 20 cashiers record sales with Idempotency-Keys while PostgreSQL backends are terminated every
0.3 s. Each part ends with its figures (requests, answers by code, wins = vouchers = answered wins,
lost, duplicated, wrong answers, seconds to recover) printed as JSON; the exit code is 0 only when
every check held. docs/reliability.md keeps a run's figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from loadtests.run_flash import BIN, ROOT, start, wait_ready

FAULT_WINDOW = 8.0  # seconds of the sale during which members arrive and faults happen


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=600, help="members in the crowd")
    parser.add_argument("--stock", type=int, default=500)
    parser.add_argument("--cashiers", type=int, default=20)
    parser.add_argument("--port", type=int, default=0, help="API port (default: a free one)")
    parser.add_argument("--out", type=Path, default=ROOT / "loadtests" / "out" / "chaos")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LINLI_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/test",
    )
    return parser.parse_args()


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnRedis:
    """A redis-server of this run only, on a spare port, keeping nothing on disk (a restart is empty)."""

    def __init__(self, port: int, out: Path) -> None:
        self.port, self.out = port, out
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers."""
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.out,
            stdout=(self.out / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def kill(self) -> None:
        """SIGKILL the server."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


async def terminate_backends(dsn: str) -> int:
    """Terminate every other backend of the database; how many ended."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return len(rows)
    finally:
        await conn.close()


async def keep_terminating(dsn: str, every: float, until: float, log: list[float]) -> None:
    """Terminate the database's backends every `every` seconds until the monotonic time `until`."""
    while time.monotonic() < until:
        await asyncio.sleep(every)
        ended = await terminate_backends(dsn)
        log.append(ended)


async def seed(members: int, stock: int, opens_in: float) -> tuple[int, list[tuple[int, str]]]:
    """The flash campaign (preheated) and its crowd, written straight to the database and Redis."""
    from app.core.config import get_settings
    from app.core.db import close_db, init_db
    from app.core.redis_client import close_redis, init_redis
    from loadtests import setup

    await init_db(get_settings())
    await init_redis(get_settings())
    try:
        starts_at = datetime.now(UTC) + timedelta(seconds=opens_in)
        campaign = await setup.flash_campaign(
            stock=stock,
            limit=1,
            starts_at=starts_at,
            lasts=timedelta(minutes=30),
            name=f"chaos {uuid.uuid4().hex[:6]}",
        )
        return campaign.id, await setup.member_tokens(members)
    finally:
        await close_redis()
        await close_db()


async def crowd(base: str, campaign_id: int, tokens: list[tuple[int, str]]) -> dict[str, Any]:
    """Every member grabs once, retrying the same key until answered; what each was answered."""
    statuses: Counter[int] = Counter()
    answers: dict[int, dict[str, Any]] = {}
    requests = 0
    first_answer_after: dict[str, float] = {}
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def member(member_id: int, token: str) -> None:
            nonlocal requests
            await asyncio.sleep(random.uniform(0, FAULT_WINDOW))
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"chaos-{member_id}"}
            while True:
                requests += 1
                try:
                    answer = await client.post(f"/mp/v1/campaigns/{campaign_id}/grab", headers=headers)
                except httpx.TransportError:
                    statuses[0] += 1  # no HTTP answer at all (counted as code 0)
                    await asyncio.sleep(0.2)
                    continue
                statuses[answer.status_code] += 1
                if answer.status_code == 200 and answer.json()["outcome"] != "not_started":
                    answers[member_id] = answer.json()
                    for fault, at in FAULT_TIMES.items():
                        if fault not in first_answer_after and time.monotonic() > at:
                            first_answer_after[fault] = time.monotonic() - at
                    return
                if answer.status_code not in (200, 409, 503):
                    raise AssertionError(f"unexpected answer {answer.status_code}: {answer.text}")
                await asyncio.sleep(0.1 if answer.status_code == 200 else 0.2)

        await asyncio.gather(*(member(m, t) for m, t in tokens))
        # Everything healed: the same key asked again gives the same answer.
        changed = 0
        for member_id, token in tokens:
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"chaos-{member_id}"}
            again = (await client.post(f"/mp/v1/campaigns/{campaign_id}/grab", headers=headers)).json()
            first = answers[member_id]
            if (again["outcome"], again.get("ticket_id")) != (first["outcome"], first.get("ticket_id")):
                changed += 1
                print("changed on retry:", first, again)
    return {
        "requests": requests,
        "answers_by_code": {str(code): n for code, n in sorted(statuses.items())},
        "answers": answers,
        "changed_on_retry": changed,
        "seconds_to_first_answer_after": {k: round(v, 2) for k, v in first_answer_after.items()},
    }


FAULT_TIMES: dict[str, float] = {}  # fault name -> monotonic time it happened (read by the crowd)


async def faults(
    opens_at: float, redis: OwnRedis, workers: list[subprocess.Popen[bytes]], env: dict[str, str], out: Path
) -> None:
    """The fault schedule of the sale, relative to its opening."""
    from redis.asyncio import Redis

    async def at(seconds: float) -> None:
        await asyncio.sleep(max(0.0, opens_at + seconds - time.monotonic()))

    for n, moment in enumerate((1.0, 2.0)):
        await at(moment)
        workers[n].kill()
        FAULT_TIMES[f"worker {n + 1} SIGKILL"] = time.monotonic()
        workers.append(start(["worker"], env, out / f"worker-{n + 3}.log"))
    await at(3.0)
    client = Redis(port=redis.port)
    await client.flushall()
    await client.aclose()
    FAULT_TIMES["FLUSHALL"] = time.monotonic()
    await at(5.0)
    redis.kill()
    FAULT_TIMES["Redis killed"] = time.monotonic()
    await asyncio.sleep(1.0)
    redis.start()
    FAULT_TIMES["Redis restarted empty"] = time.monotonic()


async def verify_sale(campaign_id: int, result: dict[str, Any]) -> dict[str, Any]:
    """The sale's figures and checks, against the database."""
    from app.core.config import get_settings
    from app.core.db import close_db, init_db
    from app.core.redis_client import close_redis, init_redis
    from campaigns.models import FlashWin
    from loadtests.verify import verify
    from loyalty.models import Voucher

    await init_db(get_settings())
    await init_redis(get_settings())
    try:
        answers = result["answers"]
        tickets = [a["ticket_id"] for a in answers.values() if a["outcome"] == "won"]
        verdict = await verify(
            campaign_id,
            {
                "tickets": tickets,
                "grabbers": len(answers),
                "outcomes": Counter(a["outcome"] for a in answers.values()),
            },
            drain_timeout=60,
        )
        wins = await FlashWin.filter(campaign_id=campaign_id).values_list("ticket_id", "member_id")
        won_members = {m for m, a in answers.items() if a["outcome"] == "won"}
        per_member = Counter(m for _, m in wins)
        vouchers = await Voucher.filter(
            source="campaign", source_reference__startswith=f"{campaign_id}-"
        ).count()
        figures = {
            "requests": result["requests"],
            "answers_by_code": result["answers_by_code"],
            "members": len(answers),
            "answered_wins": len(tickets),
            "wins_in_database": len(wins),
            "vouchers": vouchers,
            "lost": len(set(tickets) - {t for t, _ in wins}),
            "duplicated": sum(n - 1 for n in per_member.values() if n > 1),
            "wrong_answers": len({m for _, m in wins} ^ won_members),
            "changed_on_retry": result["changed_on_retry"],
            "seconds_to_first_answer_after": result["seconds_to_first_answer_after"],
            "drain_seconds": verdict.facts["drain_seconds"],
        }
        checks = verdict.checks | {
            "lost 0": figures["lost"] == 0,
            "duplicated 0": figures["duplicated"] == 0,
            "wrong answers 0": figures["wrong_answers"] == 0,
            "every retry answered the same": figures["changed_on_retry"] == 0,
        }
        return {"figures": figures, "checks": checks}
    finally:
        await close_redis()
        await close_db()


async def till_burst(base: str, dsn: str, cashiers: int) -> dict[str, Any]:
    """Cashiers record sales with Idempotency-Keys while PostgreSQL backends die every 0.3 s."""
    from app.core.config import get_settings
    from app.core.db import close_db, init_db
    from app.core.redis_client import close_redis, init_redis
    from loyalty.ledger.check import run_checks
    from loyalty.models import Sale
    from merchants.models import Merchant, MerchantStatus

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        phone = f"139{random.randint(10_000_000, 99_999_999)}"
        signup = await client.post(
            "/merchant/v1/auth/signup",
            json={"business_name": "Chaos Coffee", "phone": phone, "password": "chaos-password-1"},
        )
        signup.raise_for_status()
        staff = {"Authorization": f"Bearer {signup.json()['access_token']}"}
        merchant_id = int((await client.get("/merchant/v1/me", headers=staff)).json()["merchant_id"])
        await init_db(get_settings())
        await init_redis(get_settings())
        try:
            await Merchant.filter(id=merchant_id).update(status=MerchantStatus.ACTIVE)
        finally:
            await close_redis()
            await close_db()
        members = []
        for n in range(cashiers):
            login = await client.post(
                "/mp/v1/auth/login", json={"code": f"dev:chaos-{uuid.uuid4().hex[:8]}-{n}"}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            joined = await client.post("/mp/v1/me/join", json={"share_profile": True}, headers=headers)
            members.append((headers, int(joined.json()["id"])))
        statuses: Counter[int] = Counter()
        finals: dict[str, dict[str, Any]] = {}
        bodies: dict[str, dict[str, Any]] = {}
        kills: list[float] = []
        stop_at = time.monotonic() + 5.0
        killer = asyncio.create_task(keep_terminating(dsn, 0.3, stop_at, kills))

        async def cashier(n: int) -> None:
            headers, _ = members[n]
            while time.monotonic() < stop_at:
                code = await member_code(client, headers)
                key = f"chaos-till-{merchant_id}-{n}-{len(bodies)}"
                bodies[key] = {"member_code": code, "amount_fen": 1000 + n}
                while True:
                    try:
                        answer = await client.post(
                            "/merchant/v1/sales", json=bodies[key], headers=staff | {"Idempotency-Key": key}
                        )
                    except httpx.TransportError:
                        statuses[0] += 1
                        await asyncio.sleep(0.05)
                        continue
                    statuses[answer.status_code] += 1
                    if answer.status_code in (201, 410):
                        finals[key] = {"status": answer.status_code, "body": answer.json()}
                        break
                    if answer.status_code not in (503, 409):
                        raise AssertionError(f"unexpected answer {answer.status_code}: {answer.text}")
                    await asyncio.sleep(0.05)

        started = time.monotonic()
        await asyncio.gather(*(cashier(n) for n in range(cashiers)))
        await killer
        healed_at = time.monotonic()
        changed = 0
        for key, body in bodies.items():
            again = await client.post(
                "/merchant/v1/sales", json=body, headers=staff | {"Idempotency-Key": key}
            )
            changed += (again.status_code, again.json()) != (finals[key]["status"], finals[key]["body"])
        retried_in = time.monotonic() - healed_at
    await init_db(get_settings())
    await init_redis(get_settings())
    try:
        sales = await Sale.filter(merchant_id=merchant_id).values_list("id", flat=True)
        answered = [f["body"]["id"] for f in finals.values() if f["status"] == 201]
        breaks = await run_checks()
    finally:
        await close_redis()
        await close_db()
    figures = {
        "seconds": round(healed_at - started, 1),
        "backend_kills": len(kills),
        "sales_asked": len(bodies),
        "answers_by_code": {str(c): n for c, n in sorted(statuses.items())},
        "answered_sales": len(answered),
        "sales_in_database": len(sales),
        "lost": len(set(answered) - set(sales)),
        "duplicated": len(set(sales) - set(answered)),
        "wrong_answers": changed,
        "seconds_to_replay_every_key_after": round(retried_in, 2),
        "ledger_check_breaks": len(breaks),
    }
    checks = {
        "answered sales = sales in the database": sorted(answered) == sorted(sales),
        "every retry answered the same": changed == 0,
        "ledger check passes": not breaks,
        "the faults met requests": statuses[503] > 0,
    }
    return {"figures": figures, "checks": checks}


async def member_code(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    """A fresh member code, asked again while the database is out of reach (503)."""
    while True:
        answer = await client.post("/mp/v1/me/code", headers=headers)
        if answer.status_code == 200:
            return str(answer.json()["code"])
        assert answer.status_code == 503, answer.text
        await asyncio.sleep(0.05)


async def run(args: argparse.Namespace, env: dict[str, str], redis: OwnRedis) -> dict[str, Any]:
    """The two parts, one after the other, on one server and its workers."""
    dsn = args.database_url.replace("postgres://", "postgresql://", 1)
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    processes = [start(["serve", "--port", str(port)], env, args.out / "serve.log")]
    workers = [start(["worker"], env, args.out / f"worker-{n}.log") for n in (1, 2)]
    try:
        wait_ready(port, processes[0])
        opens_in = 3.0
        campaign_id, tokens = await seed(args.members, args.stock, opens_in)
        opens_at = time.monotonic() + opens_in
        kills: list[float] = []
        pg_killer = asyncio.create_task(keep_terminating(dsn, 2.0, opens_at + FAULT_WINDOW, kills))
        schedule = asyncio.create_task(faults(opens_at, redis, workers, env, args.out))
        await asyncio.sleep(opens_in)
        sale = await crowd(base, campaign_id, tokens)
        await schedule
        await pg_killer
        flash = await verify_sale(campaign_id, sale)
        flash["figures"]["backend_kill_rounds"] = len(kills)
        till = await till_burst(base, dsn, args.cashiers)
        return {"flash_sale": flash, "till_burst": till}
    finally:
        for process in processes + workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes + workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> int:
    """Run the chaos scenario; the exit code is the verdict."""
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    redis = OwnRedis(free_port(), args.out)
    redis.start()
    env = dict(os.environ) | {
        "LINLI_DATABASE_URL": args.database_url,
        "LINLI_REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
        "LINLI_ENV": "development",
        "LINLI_LOG_LEVEL": "WARNING",
        "LINLI_ACCESS_LOG": "false",
        "LINLI_FLASH_CLAIM_IDLE_MS": "500",
        "LINLI_FLASH_IP_RATE": "0",
        "LINLI_FLASH_MEMBER_RATE": "0",
    }
    os.environ.update(env)  # seeding and verification talk to the same database and Redis
    try:
        subprocess.run([str(BIN / "linli"), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
        report = asyncio.run(run(args, env, redis))
    finally:
        redis.kill()
    (args.out / "chaos.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    ok = all(all(part["checks"].values()) for part in report.values())
    print("chaos: every check held" if ok else "chaos: CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
