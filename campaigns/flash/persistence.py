"""Writing flash wins to the database: the stream consumer of the worker and the shared batch writer.

Wins reach the database by two independent paths, both idempotent on the ticket id:

* the worker consumes each campaign's Redis stream through a consumer group, writes batches and
  acknowledges entries only after the commit; entries of a dead worker are claimed (XAUTOCLAIM);
* the API process that answered "won" writes the win too, a few milliseconds later (write-behind,
  `flash_runtime`), so a win survives Redis losing the stream before the worker got to it.

Whatever either path writes, the slot and sequence constraints keep the table within the stock and
the member limits; a win the database refuses is audited and counted, never silently dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tortoise.exceptions import IntegrityError

from app.core import audit
from app.core.config import get_settings
from app.core.db import db, dialect, on_commit, transaction
from app.core.errors import ProblemError
from app.core.redis_client import get_redis
from campaigns.flash.engine import GrabAnswer
from campaigns.flash.keys import ACTIVE_SET, GROUP, k
from campaigns.lifecycle import budget, transitions
from campaigns.models import Campaign, Funder
from loyalty import ledger as loyalty_ledger
from loyalty import vouchers as loyalty_vouchers
from loyalty.vouchers import IssueOutcome, VoucherGrant

log = logging.getLogger("linli.campaigns.persist")

EPOCH_DAY = date(1970, 1, 1)
VOUCHER_KINDS = ("voucher", "gift")  # rewards handed out as a loyalty voucher of the reward's benefit
ROWS_PER_INSERT = 500
BATCH = 1000
GATHER_SECONDS = 0.1
MAX_GRANTS = 1000  # loyalty's largest voucher batch
_COLUMNS = (
    "campaign_id",
    "member_id",
    "slot",
    "sequence",
    "business_day",
    "day_sequence",
    "stock",
    "member_limit",
    "member_day_limit",
    "ticket_id",
    "epoch",
    "won_at",
    "created_at",
    "idempotency_key",
)


@dataclass(frozen=True, slots=True)
class Win:
    """One win as the grab script recorded it."""

    campaign_id: int
    member_id: int
    slot: int
    sequence: int
    day: int
    day_sequence: int
    ticket_id: str
    won_at_ms: int
    epoch: int
    key: str = ""  # the grab's Idempotency-Key ('' without one): a rebuild answers its retries again

    @classmethod
    def from_stream(cls, campaign_id: int, fields: dict[bytes, bytes]) -> Win:
        """From a stream entry written by grab.lua."""
        return cls(
            campaign_id=campaign_id,
            member_id=int(fields[b"m"]),
            slot=int(fields[b"s"]),
            sequence=int(fields[b"q"]),
            day=int(fields[b"d"]),
            day_sequence=int(fields[b"dq"]),
            ticket_id=fields[b"t"].decode(),
            won_at_ms=int(fields[b"ts"]),
            epoch=int(fields[b"e"]),
            key=fields.get(b"k", b"").decode(),
        )

    @classmethod
    def from_answer(cls, campaign_id: int, member_id: int, answer: GrabAnswer, key: str = "") -> Win:
        """From the answer the API process gave the member."""
        assert answer.ticket_id is not None
        return cls(
            campaign_id=campaign_id,
            member_id=member_id,
            slot=answer.slot,
            sequence=answer.sequence,
            day=answer.business_day,
            day_sequence=answer.day_sequence,
            ticket_id=answer.ticket_id,
            won_at_ms=answer.won_at_ms,
            epoch=int(answer.ticket_id.split("-")[1]),
            key=key,
        )


@dataclass(frozen=True, slots=True)
class _Terms:
    stock: int
    member_limit: int
    member_day_limit: int
    unit_cost_fen: int
    benefit_id: int | None
    points: int  # credited per win when the reward is points


def _terms(campaign: Campaign) -> _Terms:
    reward = campaign.config.get("reward") or {}
    benefit_id = reward.get("benefit_id") if reward.get("kind") in VOUCHER_KINDS else None
    return _Terms(
        campaign.stock,
        campaign.member_limit,
        campaign.member_day_limit,
        int(reward.get("cost_fen", 0)),
        int(benefit_id) if benefit_id else None,
        int(reward.get("points", 0)) if reward.get("kind") == "points" else 0,
    )


_UNNEST = (  # PostgreSQL: one array per column, so a batch of any size is one small statement
    f"INSERT INTO campaigns_flash_win ({', '.join(_COLUMNS)}) SELECT * FROM unnest("  # noqa: S608
    "$1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::date[], $6::int[], $7::int[], $8::int[],"
    " $9::int[], $10::varchar[], $11::int[], $12::timestamptz[], $13::timestamptz[], $14::varchar[])"
    " ON CONFLICT (ticket_id) DO NOTHING RETURNING ticket_id"
)


def _rows(terms: _Terms, wins: list[Win]) -> list[tuple[object, ...]]:
    now = datetime.now(UTC)
    return [
        (
            win.campaign_id,
            win.member_id,
            win.slot,
            win.sequence,
            EPOCH_DAY + timedelta(days=win.day),
            win.day_sequence,
            terms.stock,
            terms.member_limit,
            terms.member_day_limit,
            win.ticket_id,
            win.epoch,
            datetime.fromtimestamp(win.won_at_ms / 1000, UTC),
            now,
            win.key or None,
        )
        for win in wins
    ]


async def _insert(terms: _Terms, wins: list[Win]) -> set[str]:
    """Insert wins not yet present (by ticket); the tickets actually inserted."""
    rows = _rows(terms, wins)
    # RETURNING rows, not the driver's row count: asyncpg reports an INSERT's oid where Tortoise
    # expects the count.
    if dialect() == "postgres":
        found = await db().execute_query_dict(_UNNEST, [list(column) for column in zip(*rows, strict=True)])
        return {str(row["ticket_id"]) for row in found}
    inserted: set[str] = set()
    width = len(_COLUMNS)
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        marks = ", ".join("(" + ", ".join(["?"] * width) + ")" for _ in chunk)
        sql = (
            f"INSERT INTO campaigns_flash_win ({', '.join(_COLUMNS)}) VALUES {marks}"  # noqa: S608
            " ON CONFLICT (ticket_id) DO NOTHING RETURNING ticket_id"
        )
        found = await db().execute_query_dict(sql, [v for row in chunk for v in row])
        inserted |= {str(row["ticket_id"]) for row in found}
    return inserted


async def _issue_vouchers(campaign_id: int, benefit_id: int, wins: list[Win]) -> int:
    """One loyalty voucher per new win, its ticket as the reference, in the caller's transaction.

    Loyalty refusing (the benefit paused, out of stock, a member at its limit) does not undo the wins:
    the members won them. The refusal is audited for ops to compensate, never dropped silently.
    """
    issued = 0
    refused: list[tuple[Win, str]] = []
    for start in range(0, len(wins), MAX_GRANTS):
        chunk = wins[start : start + MAX_GRANTS]
        grants = [VoucherGrant(win.member_id, win.ticket_id) for win in chunk]
        try:
            outcomes = await loyalty_vouchers.issue_vouchers(benefit_id, grants, source="campaign")
        except ProblemError as exc:
            refused += [(win, exc.code or type(exc).__name__) for win in chunk]
            continue
        for win, outcome in zip(chunk, outcomes, strict=True):
            if outcome.outcome == IssueOutcome.LIMIT_REACHED:
                refused.append((win, "benefit.limit_reached"))
            else:
                issued += 1
    for win, why in refused:
        log.error("flash win without its voucher", extra={"win": asdict(win), "reason": why})
        await audit.record(
            None, "flash.voucher_refused", "campaign", campaign_id, after=asdict(win) | {"reason": why}
        )
    if refused:
        count = len(refused)

        async def note() -> None:
            with contextlib.suppress(RedisError):
                await get_redis().hincrby(k(campaign_id, "outcomes"), "voucher_refused", count)  # type: ignore[misc]

        on_commit(note)
    return issued


async def _credit_points(campaign: Campaign, points: int, wins: list[Win]) -> None:
    """The points of each new win, its ticket as the ledger reference, in the caller's transaction.

    As with vouchers, loyalty refusing (a member gone) does not undo the win: it is audited for ops.
    """
    by_merchant = campaign.funder == Funder.MERCHANT
    for win in wins:
        try:
            async with transaction():  # a savepoint: a refused credit leaves the batch intact
                await loyalty_ledger.earn_points(
                    win.member_id,
                    points,
                    source=loyalty_ledger.EarnSource.CAMPAIGN,
                    reference=win.ticket_id,
                    merchant_id=campaign.funder_merchant_id if by_merchant else None,
                    funded_by_merchant=by_merchant,
                    memo=f"{campaign.name}: flash win",
                )
        except ProblemError as exc:
            log.error("flash win without its points", extra={"win": asdict(win), "reason": exc.code})
            await audit.record(
                None,
                "flash.points_refused",
                "campaign",
                campaign.id,
                after=asdict(win) | {"reason": exc.code},
            )


async def _write(campaign: Campaign, terms: _Terms, wins: list[Win]) -> int:
    """One transaction: the new wins, their vouchers and the budget they spend (ending the campaign
    when it runs out)."""
    async with transaction():
        tickets = await _insert(terms, wins)
        inserted = len(tickets)
        if not inserted:
            return 0
        if not await budget.spend(campaign.id, inserted, inserted * terms.unit_cost_fen):
            raise IntegrityError(f"campaign {campaign.id}: wins exceed the budget")
        # One reward per inserted ticket (a batch never names a ticket twice, but be sure).
        fresh = list({win.ticket_id: win for win in wins if win.ticket_id in tickets}.values())
        if terms.benefit_id is not None:
            await _issue_vouchers(campaign.id, terms.benefit_id, fresh)
        elif terms.points:
            await _credit_points(campaign, terms.points, fresh)
        current = await Campaign.get(id=campaign.id)
        if budget.exhausted(current, terms.unit_cost_fen):
            await transitions.end_for_budget(campaign.id)
    return inserted


async def _refuse(win: Win, error: Exception) -> None:
    log.error("flash win refused by the database", extra={"win": asdict(win), "error": str(error)[:500]})
    async with transaction():
        await audit.record(
            None,
            "flash.win_refused",
            "campaign",
            win.campaign_id,
            after=asdict(win) | {"error": str(error)[:500]},
        )
    with contextlib.suppress(RedisError):
        await get_redis().hincrby(k(win.campaign_id, "outcomes"), "refused", 1)  # type: ignore[misc]


async def persist_wins(wins: Iterable[Win]) -> int:
    """Write wins idempotently, spending the budget; returns how many were new."""
    by_campaign: dict[int, list[Win]] = {}
    for win in wins:
        by_campaign.setdefault(win.campaign_id, []).append(win)
    written = 0
    for campaign_id, unordered in by_campaign.items():
        # Rows in one order for every writer (the persister, the write-behind of each API process), so
        # overlapping batches wait for each other instead of deadlocking on the unique indexes.
        batch = sorted(unordered, key=lambda w: (w.epoch, w.slot, w.ticket_id))
        campaign = await Campaign.get_or_none(id=campaign_id)
        if campaign is None:
            log.error("wins for an unknown campaign", extra={"campaign_id": campaign_id, "count": len(batch)})
            continue
        terms = _terms(campaign)
        try:
            written += await _write(campaign, terms, batch)
        except IntegrityError:
            # Some win conflicts with what the database holds: write one by one, refuse the offenders.
            for win in batch:
                try:
                    written += await _write(campaign, terms, [win])
                except IntegrityError as exc:
                    await _refuse(win, exc)
    return written


async def write_missing(wins: list[Win]) -> int:
    """Write the wins the database does not hold yet (the write-behind's check: normally one read)."""
    tickets = [win.ticket_id for win in wins]
    present: set[str] = set()
    if dialect() == "postgres":
        rows = await db().execute_query_dict(
            "SELECT ticket_id FROM campaigns_flash_win WHERE ticket_id = ANY($1::varchar[])", [tickets]
        )
        present = {row["ticket_id"] for row in rows}
    else:
        for start in range(0, len(tickets), ROWS_PER_INSERT):
            chunk = tickets[start : start + ROWS_PER_INSERT]
            marks = ", ".join(["?"] * len(chunk))
            sql = f"SELECT ticket_id FROM campaigns_flash_win WHERE ticket_id IN ({marks})"  # noqa: S608
            present |= {row["ticket_id"] for row in await db().execute_query_dict(sql, chunk)}
    missing = [win for win in wins if win.ticket_id not in present]
    return await persist_wins(missing) if missing else 0


# -- the stream consumer ---------------------------------------------------------------------------


def consumer_name() -> str:
    """A name unique to this worker process (its pending entries are claimed by others if it dies)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _wins_of(campaign_id: int, entries: list[Any]) -> tuple[list[Win], list[bytes]]:
    wins, ids = [], []
    for entry_id, fields in entries:
        ids.append(entry_id)
        if fields:  # a claimed entry deleted meanwhile comes back without fields
            wins.append(Win.from_stream(campaign_id, fields))
    return wins, ids


async def _handle(campaign_id: int, entries: list[Any]) -> int:
    if not entries:
        return 0
    wins, ids = _wins_of(campaign_id, entries)
    await persist_wins(wins)
    await get_redis().xack(k(campaign_id, "stream"), GROUP, *ids)
    return len(ids)


async def consume_once(
    campaign_id: int, consumer: str, *, count: int = 500, block_ms: int | None = None
) -> int:
    """Persist this consumer's pending entries, claim idle ones of dead consumers, then read new ones."""
    redis = get_redis()
    stream = k(campaign_id, "stream")
    handled = 0
    own = await redis.xreadgroup(GROUP, consumer, {stream: "0"}, count=count)
    for _, entries in own or []:
        handled += await _handle(campaign_id, entries)
    if handled:
        return handled
    cursor: bytes | str = "0-0"
    idle = get_settings().flash_claim_idle_ms
    while True:
        reply = await redis.xautoclaim(stream, GROUP, consumer, idle, start_id=cursor, count=count)
        cursor, claimed = reply[0], reply[1]
        handled += await _handle(campaign_id, claimed)
        if cursor in (b"0-0", "0-0") or not claimed:
            break
    if handled:
        return handled
    fresh = await redis.xreadgroup(GROUP, consumer, {stream: ">"}, count=count, block=block_ms)
    for _, entries in fresh or []:
        handled += await _handle(campaign_id, entries)
    return handled


async def stream_backlog(campaign_id: int) -> int:
    """Entries not yet acknowledged: pending in the group plus not yet delivered (0 without a stream)."""
    redis = get_redis()
    stream = k(campaign_id, "stream")
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return 0
    for group in groups:
        if group["name"] in (GROUP, GROUP.encode()):
            undelivered = 0
            last = group.get("last-delivered-id")
            tail = await redis.xrevrange(stream, count=1)
            if tail and last is not None and tail[0][0] != last:
                undelivered = len(await redis.xrange(stream, min=f"({_text(last)}", count=1_000_000))
            return int(group["pending"]) + undelivered
    return int(await redis.xlen(stream))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _stream_lost(exc: ResponseError) -> bool:
    """The stream or its group is gone: NOGROUP, or (Redis 7) a blocked read ended by the key's deletion."""
    text = str(exc)
    return "NOGROUP" in text or "UNBLOCKED" in text


async def _recreate_group(campaign_id: int) -> None:
    """Give a stream that came back without its group (written to after a loss) the group again, from its
    first entry (persisting is idempotent); a missing stream is left to the rebuild, which sets its expiry."""
    with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists; no such key: nothing to read yet
        await get_redis().xgroup_create(k(campaign_id, "stream"), GROUP, id="0", mkstream=False)


async def _consume_campaign(campaign_id: int, consumer: str, stop: asyncio.Event) -> None:
    delay = 0.1
    lost = False
    while not stop.is_set():
        try:
            handled = await consume_once(campaign_id, consumer, count=BATCH, block_ms=200)
            delay = 0.1
            lost = False
            if 0 < handled < BATCH:
                # A trickle: let wins accumulate a moment, so a peak is written in a few large batches.
                await _sleep(stop, GATHER_SECONDS)
        except ResponseError as exc:
            if not _stream_lost(exc):
                log.exception("flash persister failed", extra={"campaign_id": campaign_id})
            elif not lost:  # once per loss, quietly: Redis was flushed or restarted, the rebuild follows
                log.warning(
                    "flash stream or its group is gone; waiting for it to come back",
                    extra={"campaign_id": campaign_id, "error": str(exc)},
                )
                lost = True
            with contextlib.suppress(RedisError):
                await _recreate_group(campaign_id)
            await _sleep(stop, 1.0)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.warning(
                "flash persister: redis unavailable; retrying",
                extra={"campaign_id": campaign_id, "error": repr(exc)},
            )
            await _sleep(stop, delay)
            delay = min(delay * 2, 5.0)
        except Exception:
            log.exception("flash persister failed; retrying", extra={"campaign_id": campaign_id})
            await _sleep(stop, delay)
            delay = min(delay * 2, 5.0)
        try:
            if not await get_redis().sismember(ACTIVE_SET, str(campaign_id)):  # type: ignore[misc]
                return
        except RedisError:
            await _sleep(stop, delay)  # unreachable: the next read will say more


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def persist_loop(stop: asyncio.Event) -> None:
    """Worker background loop: one consumer per active flash campaign stream, until `stop`."""
    consumer = consumer_name()
    tasks: dict[int, asyncio.Task[None]] = {}
    try:
        while not stop.is_set():
            try:
                active = {int(x) for x in await get_redis().smembers(ACTIVE_SET)}  # type: ignore[misc]
            except RedisError:
                active = set()
            for campaign_id in active - tasks.keys():
                tasks[campaign_id] = asyncio.create_task(
                    _consume_campaign(campaign_id, consumer, stop), name=f"flash-persist-{campaign_id}"
                )
            for campaign_id, task in list(tasks.items()):
                if task.done():
                    del tasks[campaign_id]
            await _sleep(stop, 0.5)
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
