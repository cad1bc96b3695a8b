"""Benchmark: points earning and voucher redemption over HTTP next to raw asyncpg running the same SQL.

    .venv/bin/python loadtests/bench_loyalty.py \
        --database-url postgres://postgres@127.0.0.1:5432/linli_loyalty \
        --redis-url redis://127.0.0.1:6379/2 --reset --seconds 20 --concurrency 16

It RESETS the given database (drop schema public), migrates it, starts a real `linli serve` (one API
process) and seeds an active merchant, members and vouchers. Then, in the same run and at the same
concurrency, it measures:

- earn over HTTP: `POST /merchant/v1/sales` with a fresh member code and an Idempotency-Key;
- earn, raw: asyncpg running the statements that request runs (captured from the ORM's log), in the
  same transactions and savepoints, without HTTP, authentication, validation or the ORM;
- redeem over HTTP: `POST /merchant/v1/redemptions` with a fresh voucher token (one voucher each);
- redeem, raw: the same for redemption.

It prints transactions per second and latency percentiles, the HTTP/raw ratios, and finally runs
`linli ledger check` over everything both sides wrote.
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
import resource
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "loadtests" / "out"
MEMBERS = 1000
ACTIVITY_RESOLUTION = timedelta(minutes=5)  # merchants.grids.ACTIVITY_RESOLUTION
_SHANGHAI = ZoneInfo("Asia/Shanghai")


def _day_start(at: datetime) -> datetime:
    """The UTC start of the Asia/Shanghai business day of an instant (app.core.timeutil)."""
    local = at.astimezone(_SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def _configure(args: argparse.Namespace) -> dict[str, str]:
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    env = {
        **os.environ,
        "LINLI_ENV": "development",
        "LINLI_DATABASE_URL": args.database_url,
        "LINLI_REDIS_URL": args.redis_url,
        "LINLI_TOKEN_SECRET": key,
        "LINLI_QR_SECRET": key,
        "LINLI_DATA_KEY": key,
        "LINLI_VAR_DIR": str(ROOT / "loadtests" / "out" / "var"),
        "LINLI_LOG_LEVEL": "WARNING",
        "LINLI_ACCESS_LOG": "false",
        "LINLI_EMBEDDED_WORKER": "false",
        "LINLI_WORKERS": str(args.workers),
        "LINLI_PORT": str(args.port),
    }
    os.environ.update(env)
    return env


@dataclass
class Result:
    """One measured scenario; CPU is per transaction, for the API process and the load generator."""

    name: str
    done: int
    errors: int
    tps: float
    p50_ms: float
    p99_ms: float
    api_cpu_ms: float
    client_cpu_ms: float


def _percentile(latencies: list[float], q: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process and its live descendants (API workers) have used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = sum(int(f) for f in fields[11:13]) / os.sysconf("SC_CLK_TCK")
    children = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return own + sum(_cpu_seconds(child) for child in children)


async def _measure(
    name: str, one: Callable[[int], Awaitable[bool]], concurrency: int, seconds: float, warmup: float = 2.0
) -> Result:
    """Run `one(i)` from `concurrency` tasks; count and time the calls that start after the warm-up."""
    counter = iter(range(10**9))
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while (now := time.perf_counter()) < stop_at:
            ok = await one(next(counter))
            if now >= measure_from:
                latencies.append(time.perf_counter() - now)
                errors += not ok

    cpu_before = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    calls = next(counter)
    done = len(latencies) - errors
    return Result(
        name,
        done,
        errors,
        done / seconds,
        _percentile(latencies, 0.5),
        _percentile(latencies, 0.99),
        api_cpu_ms=0.0,
        client_cpu_ms=(time.process_time() - cpu_before) * 1000 / max(1, calls),
    )


def _locust(name: str, user: str, args: argparse.Namespace, env: dict[str, str], server_pid: int) -> Result:
    """Run a locust user class headless against the server for one round (stats reset once all users run)."""
    prefix = OUT / f"locust_{user}"
    command = [
        str(BIN / "locust"),
        *("-f", str(ROOT / "loadtests" / "locustfile_loyalty.py"), "--headless", "--only-summary"),
        *("--reset-stats", "-u", str(args.concurrency), "-r", str(args.concurrency)),
        *(
            "-t",
            f"{args.seconds:.0f}s",
            "--host",
            f"http://127.0.0.1:{args.port}",
            "--csv",
            str(prefix),
            user,
        ),
    ]
    api_before = _cpu_seconds(server_pid)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        command, env={**env, "PYTHONPATH": str(ROOT)}, check=False, capture_output=True, timeout=600
    )
    api_cpu = _cpu_seconds(server_pid) - api_before
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime
    with open(f"{prefix}_stats.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    count, failures = int(row["Request Count"]), int(row["Failure Count"])
    return Result(
        name,
        count - failures,
        failures,
        float(row["Requests/s"]),
        float(row["50%"]),
        float(row["99%"]),
        api_cpu_ms=api_cpu * 1000 / max(1, count),
        client_cpu_ms=client_cpu * 1000 / max(1, count),
    )


async def _seed(args: argparse.Namespace) -> tuple[dict[str, str], int, list[int], list[tuple[int, int]]]:
    import asyncpg
    import httpx

    base = f"http://127.0.0.1:{args.port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(100):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        signup = await client.post(
            "/merchant/v1/auth/signup",
            json={"business_name": "Bench Coffee", "phone": "13900009999", "password": "bench-password-1"},
        )
        signup.raise_for_status()
        staff = {"Authorization": f"Bearer {signup.json()['access_token']}"}
        merchant_id = int((await client.get("/merchant/v1/me", headers=staff)).json()["merchant_id"])

    conn = await asyncpg.connect(args.database_url.replace("postgres://", "postgresql://", 1))
    now = datetime.now(UTC)
    try:
        await conn.execute("UPDATE merchants_merchant SET status = 'active' WHERE id = $1", merchant_id)
        member_ids = [
            r["id"]
            for r in await conn.fetch(
                "INSERT INTO loyalty_member (openid, nickname, tier, joined_at, share_profile, marketing,"
                " created_at, last_active_at) SELECT 'bench_' || g, '', 'regular', $1, true, false, $1, $1"
                " FROM generate_series(1, $2) g RETURNING id",
                now,
                MEMBERS,
            )
        ]
        await conn.execute(
            "INSERT INTO loyalty_points_account (member_id, balance, updated_at) SELECT id, 0, $1"
            " FROM loyalty_member WHERE openid LIKE 'bench_%'",
            now,
        )
        benefit_id = await conn.fetchval(
            "INSERT INTO loyalty_benefit (name, description, kind, face_value_fen, min_spend_fen, funder,"
            " eligibility, categories, valid_days, per_member_limit, price_points, status, reject_reason,"
            " created_at, updated_at) VALUES ('¥5 off', '', 'cash', 500, 0, 'bank', 'all', '[]', 30, 1000000,"
            " 0, 'active', '', $1, $1) RETURNING id",
            now,
        )
        count = args.vouchers
        vouchers = await conn.fetch(
            "INSERT INTO loyalty_voucher (benefit_id, member_id, seq, member_limit, source, source_reference,"
            " status, valid_from, valid_until, issued_at)"
            " SELECT $1, m.id, g, 1000000, 'ops', 'bench:' || m.id || ':' || g, 'active', $2, $3, $2"
            " FROM generate_series(1, $4) g"
            " CROSS JOIN (SELECT id FROM loyalty_member WHERE openid LIKE 'bench_%') m"
            " RETURNING id, member_id",
            benefit_id,
            now - timedelta(minutes=1),
            now + timedelta(days=30),
            count // MEMBERS + 1,
        )
    finally:
        await conn.close()
    pairs = [(int(v["id"]), int(v["member_id"])) for v in vouchers]
    random.shuffle(pairs)
    return staff, merchant_id, member_ids, pairs


class RawLoyalty:
    """The SQL the two endpoints run, on a plain asyncpg pool (statements as the ORM's log shows them)."""

    def __init__(self, pool: object, merchant_id: int, staff_scope: str) -> None:
        self.pool = pool
        self.merchant_id = merchant_id
        self.scope = staff_scope

    async def _claim(self, key: str) -> None:
        now = datetime.now(UTC)
        await self.pool.fetchval(  # type: ignore[attr-defined]
            "INSERT INTO core_idempotency (scope, key, fingerprint, locked_until, expires_at, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, key) DO NOTHING RETURNING id",
            self.scope, key, secrets.token_hex(32), now + timedelta(seconds=60), now + timedelta(days=1), now,
        )  # fmt: skip

    async def _answer(self, key: str, status: int, body: dict[str, object]) -> None:
        await self.pool.execute(  # type: ignore[attr-defined]
            "UPDATE core_idempotency SET status_code = $1, response_body = $2, content_type = $3"
            " WHERE scope = $4 AND key = $5",
            status, json.dumps(body, default=str).encode(), "application/json", self.scope, key,
        )  # fmt: skip

    async def _terms(self, target: object) -> datetime | None:
        """The merchant's terms; returns its last activity (as loyalty.till.sales.merchant_terms)."""
        row = await target.fetchrow(  # type: ignore[attr-defined]
            "SELECT m.status, m.category, m.last_activity_at, p.earn_rate, p.point_value_fen"
            " FROM merchants_merchant m LEFT JOIN loyalty_merchant_program p ON p.merchant_id = m.id"
            " WHERE m.id = $1",
            self.merchant_id,
        )
        return row["last_activity_at"]  # type: ignore[no-any-return]

    async def _known(
        self,
        conn: object,
        member_id: int,
        at: datetime,
        spend: int,
        points: int,
        used: int,
        member_active: datetime | None,
        merchant_active: datetime | None,
    ) -> None:
        await conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO loyalty_merchant_member (merchant_id, member_id, first_seen_at, last_seen_at,"
            " visits,"
            " spend_fen, points_earned, redemptions) VALUES ($1, $2, $3, $3, 1, $4, $5, $6)"
            " ON CONFLICT (merchant_id, member_id) DO UPDATE SET last_seen_at = excluded.last_seen_at,"
            " visits = loyalty_merchant_member.visits + 1,"
            " spend_fen = loyalty_merchant_member.spend_fen + excluded.spend_fen,"
            " points_earned = loyalty_merchant_member.points_earned + excluded.points_earned,"
            " redemptions = loyalty_merchant_member.redemptions + excluded.redemptions",
            self.merchant_id, member_id, at, spend, points, used,
        )  # fmt: skip
        # The member's last active day and the merchant's last activity, as loyalty.members.pool.note_visit:
        # written only when what the transaction read is out of date.
        if member_active is None or member_active < _day_start(at):
            await conn.execute(  # type: ignore[attr-defined]
                "UPDATE loyalty_member SET last_active_at = $1 WHERE id = $2 AND last_active_at < $3",
                at, member_id, _day_start(at),
            )  # fmt: skip
        if merchant_active is None or merchant_active < at - ACTIVITY_RESOLUTION:
            await conn.execute(  # type: ignore[attr-defined]
                "UPDATE merchants_merchant SET last_activity_at = $1"
                " WHERE id = $2 AND (last_activity_at IS NULL OR last_activity_at < $3)",
                at, self.merchant_id, at - ACTIVITY_RESOLUTION,
            )  # fmt: skip

    async def earn(self, member_id: int, amount: int) -> bool:
        """One sale: claim the key, read terms and member, post the journal, record the sale, answer."""
        key = uuid.uuid4().hex
        await self._claim(key)
        merchant_active = await self._terms(self.pool)
        member = await self.pool.fetchrow(  # type: ignore[attr-defined]
            "SELECT tier, joined_at, last_active_at FROM loyalty_member WHERE id = $1", member_id
        )
        assert member["joined_at"] is not None
        points = amount // 100
        now = datetime.now(UTC)
        reference = f"idem:{self.scope}:{key}"
        async with self.pool.acquire() as conn, conn.transaction():  # type: ignore[attr-defined]
            await conn.execute(
                "UPDATE loyalty_points_account SET balance = balance + $1, updated_at = $2"
                " WHERE member_id = $3",
                points, now, member_id,
            )  # fmt: skip
            journal_id = await conn.fetchval(
                "INSERT INTO loyalty_journal (reference, kind, source, member_id, merchant_id, points,"
                " settlement_fen, reverses_id, memo, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                f"sale:{self.merchant_id}:{reference}", "earn", "sale", member_id, self.merchant_id, points,
                -points, None, "", now,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO loyalty_entry (journal_id, account_kind, account_id, amount)"
                " VALUES ($1, $2, $3, $4), ($1, $5, $6, $7)",
                journal_id, "member", member_id, points, "merchant", self.merchant_id, -points,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO loyalty_points_lot (member_id, journal_id, points, remaining, reversed_points,"
                " expires_at, created_at) VALUES ($1, $2, $3, $3, 0, $4, $5)",
                member_id, journal_id, points, now + timedelta(days=380), now,
            )  # fmt: skip
            await conn.execute(
                "UPDATE loyalty_member SET tier = t.tier FROM ("
                " SELECT CASE WHEN s.earned >= $3 THEN 'gold' WHEN s.earned >= $4 THEN 'silver'"
                " ELSE 'regular' END AS tier"
                " FROM (SELECT COALESCE(SUM(points - reversed_points), 0) AS earned"
                " FROM loyalty_points_lot WHERE member_id = $1 AND created_at > $2) AS s) AS t"
                " WHERE loyalty_member.id = $1 AND loyalty_member.tier <> t.tier",
                member_id, now - timedelta(days=365), 10_000, 2_000,
            )  # fmt: skip
            sale_id = await conn.fetchval(
                "INSERT INTO loyalty_sale (merchant_id, member_id, staff_id, reference, amount_fen, points,"
                " journal_id, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                self.merchant_id, member_id, 1, reference, amount, points, journal_id, "completed", now,
            )  # fmt: skip
            await self._known(
                conn, member_id, now, amount, points, 0, member["last_active_at"], merchant_active
            )
        await self._answer(key, 201, {"id": sale_id, "amount_fen": amount, "points": points})
        return True

    async def redeem(self, voucher_id: int, member_id: int, bill: int) -> bool:
        """One redemption: claim the key; in one transaction read terms and voucher, flip it, record it."""
        key = uuid.uuid4().hex
        await self._claim(key)
        now = datetime.now(UTC)
        async with self.pool.acquire() as conn, conn.transaction():  # type: ignore[attr-defined]
            read = await conn.fetchrow(
                "SELECT m.status, m.category, m.last_activity_at, p.earn_rate, p.point_value_fen,"
                " v.id AS voucher_id, v.benefit_id, v.member_id, v.status AS voucher_status, v.valid_from,"
                " v.valid_until, b.kind, b.face_value_fen, b.discount_percent, b.discount_cap_fen,"
                " b.min_spend_fen, b.funder, b.funder_merchant_id, b.eligibility, b.categories,"
                " mem.last_active_at"
                " FROM merchants_merchant m LEFT JOIN loyalty_merchant_program p ON p.merchant_id = m.id"
                " LEFT JOIN loyalty_voucher v ON v.id = $2 AND v.member_id = $3"
                " LEFT JOIN loyalty_benefit b ON b.id = v.benefit_id"
                " LEFT JOIN loyalty_member mem ON mem.id = v.member_id WHERE m.id = $1",
                self.merchant_id, voucher_id, member_id,
            )  # fmt: skip
            flipped = await conn.execute(
                "UPDATE loyalty_voucher SET status = $1, used_at = $2 WHERE id = $3 AND status = $4",
                "used", now, voucher_id, "active",
            )  # fmt: skip
            if flipped != "UPDATE 1":
                return False
            redemption_id = await conn.fetchval(
                "INSERT INTO loyalty_voucher_redemption (voucher_id, merchant_id, channel, reference, nonce,"
                " staff_id, bill_amount_fen, discount_fen, settlement_fen, status, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                voucher_id, self.merchant_id, "till", f"till:{self.merchant_id}:{self.scope}:{key}",
                secrets.token_urlsafe(9), 1, bill, 500, 500, "redeemed", now,
            )  # fmt: skip
            await self._known(conn, member_id, now, 0, 0, 1, read["last_active_at"], read["last_activity_at"])
        await self._answer(key, 201, {"id": redemption_id, "voucher_id": voucher_id})
        return True


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _report(rounds: dict[str, list[Result]], args: argparse.Namespace, load_before: tuple[float, ...]) -> str:
    lines = [
        f"machine: {os.cpu_count()} CPUs, {_cpu_model()}, load average before the run "
        f"{' '.join(f'{x:.2f}' for x in load_before)}",
        f"command: {' '.join(sys.argv)}",
        f"{args.concurrency} concurrent clients (locust FastHttpUser users / asyncpg tasks),"
        f" {args.rounds} rounds"
        f" of {args.seconds:.0f} s alternating HTTP and raw, {args.workers} API process(es)",
        "",
        "| scenario | tx/s | p50 ms | p99 ms | errors | API CPU ms/tx | client CPU ms/tx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, results in rounds.items():
        tps = statistics.fmean(r.tps for r in results)
        p50, p99 = _median([r.p50_ms for r in results]), _median([r.p99_ms for r in results])
        api, client = _median([r.api_cpu_ms for r in results]), _median([r.client_cpu_ms for r in results])
        errors = sum(r.errors for r in results)
        lines.append(f"| {name} | {tps:.0f} | {p50:.1f} | {p99:.1f} | {errors} | {api:.2f} | {client:.2f} |")
    lines.append("")
    for what in ("earn", "redeem"):
        http, raw = rounds[f"{what} over HTTP"], rounds[f"{what}, raw asyncpg"]
        ratios = [h.tps / r.tps for h, r in zip(http, raw, strict=True)]
        # Throughputs, not counts: locust's count excludes its ramp-up, so it covers less than a round.
        total = sum(h.tps for h in http) / sum(r.tps for r in raw)
        lines.append(
            f"{what}: HTTP/raw throughput {total:.2f} overall"
            f" (rounds: {', '.join(f'{x:.2f}' for x in ratios)}),"
            f" p99 {_median([h.p99_ms for h in http]):.1f} ms vs {_median([r.p99_ms for r in raw]):.1f} ms"
        )
    return "\n".join(lines)


async def _run(args: argparse.Namespace, env: dict[str, str], server_pid: int) -> int:
    import asyncpg

    from app.core.db import keep_session

    load_before = os.getloadavg()
    staff, merchant_id, member_ids, vouchers = await _seed(args)
    half = len(vouchers) // 2
    http_vouchers, raw_vouchers = vouchers[:half], vouchers[half:]
    per_round = half // args.rounds
    OUT.mkdir(parents=True, exist_ok=True)
    pool = await asyncpg.create_pool(
        args.database_url.replace("postgres://", "postgresql://", 1),
        reset=keep_session,  # as the API's pool (app.core.db): no reset round trip on release
        min_size=args.concurrency,
        max_size=args.concurrency,
    )
    raw = RawLoyalty(pool, merchant_id, f"merchant:{merchant_id}")
    rounds: dict[str, list[Result]] = {
        name: []
        for name in ("earn over HTTP", "earn, raw asyncpg", "redeem over HTTP", "redeem, raw asyncpg")
    }
    try:
        for what, user in (("earn", "EarnUser"), ("redeem", "RedeemUser")):
            for n in range(args.rounds):
                data = OUT / f"bench_data_{n}.json"
                chunk = http_vouchers[n * per_round : (n + 1) * per_round]
                data.write_text(
                    json.dumps({"staff": staff["Authorization"], "members": member_ids, "vouchers": chunk})
                )
                round_env = {**env, "LINLI_BENCH_DATA": str(data)}
                rounds[f"{what} over HTTP"].append(
                    await asyncio.to_thread(_locust, f"{what} over HTTP", user, args, round_env, server_pid)
                )
                own = raw_vouchers[n * per_round : (n + 1) * per_round]

                async def one(i: int, own: list[tuple[int, int]] = own, what: str = what) -> bool:
                    if what == "earn":
                        return await raw.earn(random.choice(member_ids), random.randint(100, 20_000))
                    return await raw.redeem(*own[i], 2000)

                rounds[f"{what}, raw asyncpg"].append(
                    await _measure(f"{what}, raw asyncpg", one, args.concurrency, args.seconds)
                )
    finally:
        await pool.close()
    report = _report(rounds, args, load_before)
    print(report)
    (OUT / "bench_loyalty.md").write_text(report + "\n")
    check = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "linli"), "ledger", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(check.stdout.strip() or check.stderr.strip())
    failed = any(r.errors for results in rounds.values() for r in results)
    return 0 if check.returncode == 0 and not failed else 1


def main() -> int:
    """Parse arguments, reset and migrate the database, serve, seed, measure."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", required=True, help="a PostgreSQL database this benchmark may reset"
    )
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--reset", action="store_true", help="confirm: drop and recreate the schema")
    parser.add_argument("--seconds", type=float, default=10, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3, help="HTTP and raw alternate this many times")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--vouchers", type=int, default=240_000, help="vouchers to seed for both redeem runs")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres") or not args.reset:
        parser.error("needs a PostgreSQL --database-url and --reset (the schema is dropped)")
    env = _configure(args)
    sys.path.insert(0, str(ROOT))
    import asyncpg

    async def reset() -> None:
        conn = await asyncpg.connect(args.database_url.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    asyncio.run(reset())
    subprocess.run([str(BIN / "linli"), "migrate"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([str(BIN / "linli"), "serve"], env=env, cwd=ROOT)
    try:
        return asyncio.run(_run(args, env, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
