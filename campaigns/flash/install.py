"""Loading a flash campaign into Redis: preheat before the start, rebuild after Redis lost it, refresh.

* **Preheat** (first load, a scheduled job shortly before the start, or on demand) writes the stock,
  window, limits and eligibility under the campaign's hash tag and creates the stream's consumer group.
* **Rebuild** (the keys vanished while the database says the campaign runs): grabs are answered 503
  while the engine waits for wins still in flight (the write-behind of API processes), persists what
  is left of the stream, then loads stock left = total - issued, every winner's count and the unused
  slots from the database, under a new key generation (epoch) so tickets never repeat.
* **Refresh** (keys present) updates only what may change while running: state, eligibility
  watermarks, the blocklist and rate limits. Stock and wins are never touched then.

One process at a time holds `{campaign:<id>}:lock`; the epoch bump is a conditional update, so even
two rebuilds racing past an expired lock cannot both install.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import date, datetime
from typing import Any

from tortoise.expressions import Q

from app.core.config import get_settings
from app.core.redis_client import LuaScript, get_redis
from app.core.sql import column
from app.core.timeutil import BUSINESS_TZ, utcnow
from campaigns.audience import eligibility
from campaigns.flash import persistence as flash_persist
from campaigns.flash.keys import ACTIVE_SET, GROUP, PLACEHOLDER, campaign_keys, events_channel, k, lock_key
from campaigns.lifecycle import budget
from campaigns.lifecycle.table import RUNNING
from campaigns.models import BlockedMember, Campaign, CampaignStats, CampaignStatus, CampaignType, FlashWin

log = logging.getLogger("linli.campaigns.flash")

LOCK_MS = 60_000
EPOCH_DAY = date(1970, 1, 1)
CHUNK = 5000
ENGINE_STATE = {
    CampaignStatus.APPROVED: "ready",
    CampaignStatus.LIVE: "ready",
    CampaignStatus.PAUSED: "paused",
    CampaignStatus.ENDED: "ended",
    CampaignStatus.CANCELLED: "ended",
}

_RELEASE = LuaScript(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)
# HSET only on an existing meta hash: a partial meta would look loaded without stock.
_SET_IF_LOADED = LuaScript(
    "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], unpack(ARGV)) return 1 end"
    " return 0"
)
_SET_MEMBER = LuaScript(
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end"
    " if ARGV[1] == 'add' then return redis.call('SADD', KEYS[2], ARGV[2]) end"
    " return redis.call('SREM', KEYS[2], ARGV[2])"
)
# Forget a campaign that never issued anything (sent back for approval or cancelled before its start).
_UNLOAD = LuaScript(
    "local issued = redis.call('HGET', KEYS[1], 'issued')"
    " if issued and issued ~= '0' then return 0 end"
    " redis.call('DEL', unpack(KEYS)) return 1"
)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _day_offset() -> int:
    offset = utcnow().astimezone(BUSINESS_TZ).utcoffset()
    return int(offset.total_seconds()) if offset else 0


async def publish_changed(campaign_id: int) -> None:
    """Tell every API process to drop what it cached about the campaign."""
    await get_redis().publish(events_channel(), f"changed {campaign_id}")


async def ensure_loaded(campaign_id: int) -> str:
    """Preheat, rebuild or refresh a running flash campaign's keys: `installed`, `rebuilt`, `refreshed`,
    `busy` (another process holds the lock) or `skipped` (not a running flash campaign)."""
    redis = get_redis()
    token = secrets.token_hex(8)
    if not await redis.set(lock_key(campaign_id), token, nx=True, px=LOCK_MS):
        return "busy"
    try:
        return await _load(campaign_id)
    finally:
        await _RELEASE([lock_key(campaign_id)], [token])


async def _load(campaign_id: int) -> str:
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None or campaign.type != CampaignType.FLASH or campaign.status not in RUNNING:
        return "skipped"
    state = await get_redis().hget(k(campaign_id, "meta"), "state")  # type: ignore[misc]
    if state is not None and state != b"rebuilding":
        await refresh(campaign)
        return "refreshed"
    recovering = campaign.flash_epoch > 0
    if recovering:
        await _hold_grabs(campaign_id)
        await asyncio.sleep(get_settings().flash_recovery_settle_seconds)
        await _persist_stream_leftovers(campaign_id)
    bumped = await Campaign.filter(id=campaign_id, flash_epoch=campaign.flash_epoch).update(
        flash_epoch=campaign.flash_epoch + 1
    )
    if not bumped:
        return "busy"
    campaign = await Campaign.get(id=campaign_id)
    if campaign.status not in RUNNING:
        return "skipped"
    await _install(campaign)
    log.info(
        "flash campaign %s", "rebuilt" if recovering else "installed",
        extra={"campaign_id": campaign_id, "epoch": campaign.flash_epoch},
    )  # fmt: skip
    return "rebuilt" if recovering else "installed"


async def _hold_grabs(campaign_id: int) -> None:
    redis = get_redis()
    meta = k(campaign_id, "meta")
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(meta, mapping={"state": "rebuilding", "cid": campaign_id})
        pipe.pexpire(meta, LOCK_MS * 2)
        await pipe.execute()
    await publish_changed(campaign_id)


async def _persist_stream_leftovers(campaign_id: int) -> None:
    """Wins still in the stream (a partial loss) go to the database before stock is counted there."""
    redis = get_redis()
    stream = k(campaign_id, "stream")
    start = "-"
    while True:
        entries = await redis.xrange(stream, min=start, count=1000)
        if not entries:
            return
        await flash_persist.persist_wins(
            flash_persist.Win.from_stream(campaign_id, fields) for _, fields in entries
        )
        last = entries[-1][0]
        start = "(" + (last.decode() if isinstance(last, bytes) else str(last))


async def _install(campaign: Campaign) -> None:
    cid = campaign.id
    # Wins still held take their slot; those and released wins that still count take the member's
    # sequences (a sequence below the highest that nothing holds is a hole, handed out again first).
    wins = (
        await FlashWin.filter(campaign_id=cid)
        .filter(Q(released_at__isnull=True) | Q(keeps_count=True))
        .values_list(
            "slot",
            "member_id",
            "sequence",
            "business_day",
            "day_sequence",
            "released_at",
            "ticket_id",
            "won_at",
            "idempotency_key",
        )
    )
    taken = {int(w[0]) for w in wins if w[5] is None}
    top = max(taken, default=0)
    free = [slot for slot in range(1, top + 1) if slot not in taken]
    held: dict[str, set[int]] = {}
    answered: dict[str, str] = {}  # member:key -> the answer its grab got, for the retries still to come
    for slot, member_id, sequence, day, day_sequence, _released, ticket, won_at, key in wins:
        day_number = (day - EPOCH_DAY).days
        held.setdefault(str(member_id), set()).add(int(sequence))
        held.setdefault(f"{member_id}:{day_number}", set()).add(int(day_sequence))
        if key:
            won_ms = round(won_at.timestamp() * 1000)
            answered[f"{member_id}:{key}"] = (
                f"won {ticket} {slot} {sequence} {day_number} {day_sequence} {won_ms}"
            )
    member_wins: dict[str, int | str] = {}
    for field, sequences in held.items():
        member_wins[field] = len(sequences)
        holes = [str(n) for n in range(1, max(sequences)) if n not in sequences]
        if holes:
            member_wins[f"{field}:h"] = " ".join(holes)
    issued = len(taken)
    unit_cost = int((campaign.config.get("reward") or {}).get("cost_fen", 0))
    # Spent budget already counts the persisted wins, so it limits what is left, not the total.
    by_budget = budget.remaining_items(campaign, unit_cost)
    left = campaign.stock - issued if by_budget is None else min(campaign.stock - issued, by_budget)
    eligible = await eligibility.eligible_member_ids(campaign)
    blocked = await column(BlockedMember.all().values_list("member_id", flat=True))
    stats = await CampaignStats.get_or_none(campaign_id=cid)
    meta = await _scalars(campaign) | {
        "left": max(0, left),
        "next": top + 1,
        "stock": campaign.stock,
        "epoch": campaign.flash_epoch,
        "cid": cid,
        "issued": issued,
    }
    if any(field.endswith(":h") for field in member_wins):
        meta["released"] = 1  # the grab script looks for released sequences only when some exist
    expire_at = _ms(campaign.ends_at) + get_settings().flash_key_retention * 1000
    redis = get_redis()
    async with redis.pipeline(transaction=True) as pipe:
        keys = campaign_keys(cid)
        pipe.delete(*keys)
        pipe.hset(k(cid, "meta"), mapping=meta)
        pipe.hset(k(cid, "wins"), PLACEHOLDER, "0")
        _hset_chunks(pipe, k(cid, "wins"), member_wins)
        pipe.sadd(k(cid, "eligible"), PLACEHOLDER)
        sadd_chunks(pipe, k(cid, "eligible"), sorted(eligible or ()))
        pipe.sadd(k(cid, "blocked"), PLACEHOLDER)
        sadd_chunks(pipe, k(cid, "blocked"), [int(b) for b in blocked])
        pipe.hset(k(cid, "idem"), PLACEHOLDER, "0")
        answers = list(answered.items())
        for start in range(0, len(answers), CHUNK):
            pipe.hset(k(cid, "idem"), mapping=dict(answers[start : start + CHUNK]))
        pipe.hset(k(cid, "rate"), PLACEHOLDER, "0")
        pipe.xgroup_create(k(cid, "stream"), GROUP, id="0", mkstream=True)
        for start in range(0, len(free), CHUNK):
            pipe.rpush(k(cid, "free"), *free[start : start + CHUNK])
        pipe.hset(k(cid, "outcomes"), mapping={PLACEHOLDER: 0, **(stats.outcomes if stats else {})})
        pipe.hset(k(cid, "per_second"), PLACEHOLDER, "0")
        pipe.pfadd(k(cid, "participants"))
        for key in keys:
            pipe.pexpireat(key, expire_at)
        await pipe.execute()
    await get_redis().sadd(ACTIVE_SET, cid)  # type: ignore[misc]
    await publish_changed(cid)


def _hset_chunks(pipe: Any, key: str, mapping: dict[str, int | str]) -> None:
    items = list(mapping.items())
    for start in range(0, len(items), CHUNK):
        pipe.hset(key, mapping=dict(items[start : start + CHUNK]))


def sadd_chunks(pipe: Any, key: str, members: list[int]) -> None:
    """Queue SADDs of `members` into `key` on a pipeline, CHUNK members a command."""
    for start in range(0, len(members), CHUNK):
        pipe.sadd(key, *members[start : start + CHUNK])


async def _scalars(campaign: Campaign) -> dict[str, Any]:
    """The meta fields that follow the database while the campaign runs."""
    settings = get_settings()
    min_member, max_member = await eligibility.watermarks(campaign.audience, utcnow())
    return {
        "state": ENGINE_STATE[campaign.status],
        "start": _ms(campaign.starts_at),
        "end": _ms(campaign.ends_at),
        "limit": campaign.member_limit,
        "day_limit": campaign.member_day_limit,
        "restricted": 1 if eligibility.restricted(eligibility.criteria(campaign)) else 0,
        "min_member": "" if min_member is None else min_member,
        "max_member": "" if max_member is None else max_member,
        "member_rate": settings.flash_member_rate,
        "ip_rate": settings.flash_ip_rate,
        "day_offset": _day_offset(),
    }


async def refresh(campaign: Campaign) -> None:
    """Update the running campaign's state, watermarks and blocklist copy (never stock or wins)."""
    cid = campaign.id
    fields = await _scalars(campaign)
    flat: list[Any] = [item for pair in fields.items() for item in pair]
    if not await _SET_IF_LOADED([k(cid, "meta")], flat):
        return
    redis = get_redis()
    blocked = {str(b) for b in await column(BlockedMember.all().values_list("member_id", flat=True))}
    present = {m.decode() for m in await redis.smembers(k(cid, "blocked"))} - {PLACEHOLDER}  # type: ignore[misc]
    async with redis.pipeline(transaction=False) as pipe:
        if blocked - present:
            pipe.sadd(k(cid, "blocked"), *(blocked - present))
        if present - blocked:
            pipe.srem(k(cid, "blocked"), *(present - blocked))
        pipe.sadd(ACTIVE_SET, cid)
        await pipe.execute()


async def sync_state(campaign_id: int, status: CampaignStatus) -> None:
    """Tell the engine a campaign was paused, resumed or ended (no-op when it is not loaded)."""
    if status in ENGINE_STATE:
        await _SET_IF_LOADED([k(campaign_id, "meta")], ["state", ENGINE_STATE[status]])
    await publish_changed(campaign_id)


async def unload(campaign_id: int) -> bool:
    """Forget the keys of a campaign that issued nothing (sent back for approval, cancelled)."""
    removed = bool(await _UNLOAD(campaign_keys(campaign_id), []))
    if removed:
        await get_redis().srem(ACTIVE_SET, campaign_id)  # type: ignore[misc]
    await publish_changed(campaign_id)
    return removed


async def block(member_id: int, blocked: bool) -> None:
    """Copy a blocklist change into every loaded flash campaign at once."""
    ids = [int(x) for x in await get_redis().smembers(ACTIVE_SET)]  # type: ignore[misc]
    for cid in ids:
        await _SET_MEMBER([k(cid, "meta"), k(cid, "blocked")], ["add" if blocked else "rem", member_id])


async def engine_snapshot(campaign_id: int) -> dict[str, Any] | None:
    """The meta hash as text (None when not loaded)."""
    raw = await get_redis().hgetall(k(campaign_id, "meta"))  # type: ignore[misc]
    if not raw:
        return None
    return {key.decode(): value.decode() for key, value in raw.items()}
