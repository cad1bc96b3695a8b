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
import math
import os
import secrets
import socket
import time
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tortoise.exceptions import IntegrityError

from app.core import audit
from app.core.config import get_settings
from app.core.db import db, dialect, transaction
from app.core.jobs import enqueue
from app.core.redis_client import get_redis
from campaigns.flash import orders as orders_due
from campaigns.flash import rewards
from campaigns.flash.keys import ACTIVE_SET, GROUP, k
from campaigns.flash.rewards import EPOCH_DAY, Terms, Win, terms_of
from campaigns.lifecycle import budget, transitions
from campaigns.models import Campaign, OrderStatus

log = logging.getLogger("linli.campaigns.persist")

__all__ = ["Terms", "Win", "persist_wins", "terms_of", "write_missing"]

ROWS_PER_INSERT = 500
BATCH = 1000
GATHER_SECONDS = 0.1
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
    "status",
    "price_fen",
    "price_points",
    "pay_by",
    "keeps_count",
    "idempotency_key",
)


_UNNEST = (  # PostgreSQL: one array per column, so a batch of any size is one small statement
    f"INSERT INTO campaigns_flash_win ({', '.join(_COLUMNS)}) SELECT * FROM unnest("  # noqa: S608
    "$1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::date[], $6::int[], $7::int[], $8::int[],"
    " $9::int[], $10::varchar[], $11::int[], $12::timestamptz[], $13::timestamptz[], $14::varchar[],"
    " $15::bigint[], $16::bigint[], $17::timestamptz[], $18::boolean[], $19::varchar[])"
    " ON CONFLICT (ticket_id) DO NOTHING RETURNING ticket_id"
)


def _rows(terms: Terms, wins: list[Win]) -> list[tuple[object, ...]]:
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
            (OrderStatus.AWAITING_PAYMENT if terms.priced else OrderStatus.ISSUED).value,
            terms.price_fen,
            terms.price_points,
            (
                datetime.fromtimestamp(win.won_at_ms / 1000, UTC) + timedelta(minutes=terms.payment_minutes)
                if terms.priced
                else None
            ),
            False,
            win.key or None,
        )
        for win in wins
    ]


async def _insert(terms: Terms, wins: list[Win]) -> set[str]:
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


async def _write(campaign: Campaign, terms: Terms, wins: list[Win]) -> int:
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
        if terms.priced:
            # An order awaiting payment: the reward waits for it; the deadline's job expires the rest.
            latest = max(win.won_at_ms for win in fresh) / 1000 + terms.payment_minutes * 60
            deferred = get_settings().flash_order_jobs_deferred
            defer = max(1, math.ceil(latest - time.time()) + 1) if deferred else 0
            await enqueue(orders_due.expire_due, campaign.id, defer_seconds=defer)
        else:
            await rewards.reward(campaign, terms, fresh)
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
        terms = terms_of(campaign)
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
