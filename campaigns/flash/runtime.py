"""Per-process flash state. It is only ever a cache: it may skip work, never make a grab win.

* campaign views (type, status, window) so a grab needs no database query, refreshed every few seconds
  and dropped at once when a `changed` event arrives;
* a sold-out flag per campaign, set when this process sees stock 0 or a `soldout` event arrives, so
  later grabs are answered without Redis; a flag expires unless re-armed, and a new key generation
  (rebuild) or any change clears it;
* the winners of a sold-out campaign, so that a retried grab (same Idempotency-Key) of a winner still
  reaches Redis and gets its stored "won" back;
* the write-behind journal: wins this process answered. Every second it asks the database which of
  those older than half a second the worker has not written yet (normally none: one indexed read) and
  writes those itself; when a campaign changes (a rebuild begins) it does so at once, for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from app.core.config import get_settings
from app.core.redis_client import get_redis
from campaigns.flash.engine import ENDED, NOT_STARTED, SOLD_OUT, CampaignState, GrabAnswer
from campaigns.flash.install import ensure_loaded
from campaigns.flash.keys import events_channel, k
from campaigns.flash.persistence import Win, write_missing
from campaigns.models import Campaign, CampaignStatus, CampaignType

log = logging.getLogger("linli.campaigns.flash")

# Clock difference tolerated between this host and Redis before answering from the cached window.
SKEW = 2.0
SOLD_OUT_TTL = 2.0
SOLD_OUT_TTL_SYNCED = 30.0
VIEW_TTL = 1.0
VIEW_TTL_SYNCED = 5.0
JOURNAL_MAX = 200_000
# A win is checked once it is WRITE_BEHIND_AGE old (the worker has usually written it by then); the
# worst case, FLUSH_INTERVAL + WRITE_BEHIND_AGE, stays inside flash_recovery_settle_seconds.
FLUSH_INTERVAL = 1.0
WRITE_BEHIND_AGE = 0.5


@dataclass(slots=True)
class View:
    """What the grab path needs to know about a campaign."""

    flash: bool
    status: CampaignStatus
    starts: float
    ends: float
    loaded: float


@dataclass(slots=True)
class SoldOut:
    """A campaign seen with no stock left, in one key generation."""

    until: float
    epoch: int
    winners: frozenset[int] | None = None


class FlashRuntime:
    """The caches, the event follower and the write-behind journal of one API process."""

    def __init__(self) -> None:
        self.views: dict[int, View | None] = {}
        self.view_loaded: dict[int, float] = {}
        self.view_loading: dict[int, asyncio.Future[View | None]] = {}
        self.generation = 0
        self.sold_out: dict[int, SoldOut] = {}
        self.synced = False
        self.journal: list[tuple[float, Win]] = []
        self.journal_on = False
        self.fast_counts: Counter[tuple[int, str]] = Counter()
        self.installing: dict[int, asyncio.Task[object]] = {}
        self.installing_at: dict[int, float] = {}
        self._background: set[asyncio.Task[object]] = set()
        self.flush_soon = asyncio.Event()

    def reset(self) -> None:
        """Forget everything cached (tests, resubscription)."""
        self.generation += 1
        self.view_loading.clear()
        self.views.clear()
        self.view_loaded.clear()
        self.sold_out.clear()

    def forget(self, campaign_id: int) -> None:
        """Drop what is cached about one campaign."""
        self.generation += 1
        self.view_loading.pop(campaign_id, None)
        self.views.pop(campaign_id, None)
        self.view_loaded.pop(campaign_id, None)
        self.sold_out.pop(campaign_id, None)

    async def view(self, campaign_id: int) -> View | None:
        """The campaign's view, from the cache or the database (None: no such campaign)."""
        now = time.monotonic()
        ttl = VIEW_TTL_SYNCED if self.synced else VIEW_TTL
        if campaign_id in self.views and now - self.view_loaded[campaign_id] < ttl:
            return self.views[campaign_id]
        # One query per campaign however many grabs arrive at once (the sale opens, a change lands).
        loading = self.view_loading.get(campaign_id)
        if loading is None:
            loading = self.view_loading[campaign_id] = asyncio.ensure_future(self._load_view(campaign_id))
            loading.add_done_callback(lambda done: self._loaded(campaign_id, done))
        return await asyncio.shield(loading)

    def _loaded(self, campaign_id: int, done: asyncio.Future[View | None]) -> None:
        if self.view_loading.get(campaign_id) is done:
            del self.view_loading[campaign_id]

    async def _load_view(self, campaign_id: int) -> View | None:
        now = time.monotonic()
        generation = self.generation
        rows = await Campaign.filter(id=campaign_id).values_list("type", "status", "starts_at", "ends_at")
        view = None
        if rows:
            type_, status, starts, ends = rows[0]
            view = View(
                CampaignType(type_) == CampaignType.FLASH,
                CampaignStatus(status),
                starts.timestamp(),
                ends.timestamp(),
                now,
            )
        if generation == self.generation:  # no change event arrived meanwhile: safe to cache
            self.views[campaign_id] = view
            self.view_loaded[campaign_id] = now
        return view

    def fast_answer(self, campaign_id: int, view: View, member_id: int, keyed: bool) -> GrabAnswer | None:
        """An answer that needs no Redis call, when the cache is sure of it."""
        wall = time.time()
        if wall < view.starts - SKEW:
            return NOT_STARTED  # nothing is stored before the start, so retries need no Redis either
        if not keyed and (
            view.status in (CampaignStatus.ENDED, CampaignStatus.CANCELLED) or wall > view.ends + SKEW
        ):
            return ENDED
        flag = self.sold_out.get(campaign_id)
        if flag is None or flag.until < time.monotonic():
            return None
        if not keyed or (flag.winners is not None and member_id not in flag.winners):
            # Redis would answer sold_out too (stock is checked before anything member-specific), and a
            # non-winner's stored answer can only be sold_out.
            return SOLD_OUT
        return None

    def note(self, campaign_id: int, state: CampaignState) -> None:
        """Learn from a batch: arm the sold-out flag when the stock is gone."""
        if state.left > 0:
            flag = self.sold_out.get(campaign_id)
            if flag is not None and flag.epoch != state.epoch:
                del self.sold_out[campaign_id]
            return
        self._arm(campaign_id, state.epoch, SOLD_OUT_TTL)

    def _arm(self, campaign_id: int, epoch: int, ttl: float) -> None:
        until = time.monotonic() + ttl
        flag = self.sold_out.get(campaign_id)
        if flag is not None and flag.epoch == epoch:
            flag.until = max(flag.until, until)
            return
        self.sold_out[campaign_id] = SoldOut(until, epoch)
        self._spawn(self._load_winners(campaign_id, epoch))

    async def _load_winners(self, campaign_id: int, epoch: int) -> None:
        fields = await get_redis().hkeys(k(campaign_id, "wins"))  # type: ignore[misc]
        winners = frozenset(int(f) for f in fields if f.isdigit())
        flag = self.sold_out.get(campaign_id)
        if flag is not None and flag.epoch == epoch:
            flag.winners = winners

    def count_sold_out(self, campaign_id: int) -> None:
        """Count a sold-out answer given without Redis, for the campaign's statistics."""
        self.fast_counts[(campaign_id, SOLD_OUT.outcome)] += 1

    def journal_win(self, campaign_id: int, member_id: int, answer: GrabAnswer, key: str = "") -> None:
        """Queue a win this process answered for the write-behind."""
        if not self.journal_on:
            return
        if len(self.journal) >= JOURNAL_MAX:
            log.error("flash write-behind journal full; the stream still carries the wins")
            return
        self.journal.append((time.monotonic(), Win.from_answer(campaign_id, member_id, answer, key)))

    def load_soon(self, campaign_id: int) -> None:
        """Start loading (or rebuilding) a campaign's keys in the background, once per process."""
        task = self.installing.get(campaign_id)
        now = time.monotonic()
        if task is not None and (not task.done() or now - self.installing_at.get(campaign_id, 0) < 0.5):
            return
        self.installing_at[campaign_id] = now
        self.installing[campaign_id] = self._spawn(ensure_loaded(campaign_id))

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        task: asyncio.Task[object] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[object]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("flash background task failed: %r", task.exception())

    # -- background loops (run by the API process's lifespan) ------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Follow campaign events and flush the write-behind journal until `stop`."""
        self.journal_on = get_settings().flash_write_behind
        flusher = asyncio.create_task(self._flush_loop(stop), name="flash-write-behind")
        try:
            await self._follow(stop)
        finally:
            self.journal_on = False
            self.synced = False
            await flusher

    async def _follow(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(events_channel())
                self.reset()  # anything could have happened while we were not listening
                self.synced = True
                while not stop.is_set():
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._on_event(message["data"])
            except (RedisError, OSError) as exc:
                log.warning("campaign event feed interrupted: %r", exc)
                self.synced = False
                await _sleep(stop, 1.0)
            finally:
                self.synced = False
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _on_event(self, data: bytes | str) -> None:
        text = data.decode() if isinstance(data, bytes) else data
        kind, _, rest = text.partition(" ")
        parts = rest.split()
        if not parts or not parts[0].isdigit():
            return
        campaign_id = int(parts[0])
        if kind == "soldout" and len(parts) > 1 and parts[1].isdigit():
            self._spawn(self._confirm_sold_out(campaign_id, int(parts[1])))
        elif kind == "restocked":  # an expired or cancelled order gave its slot back: ask Redis again
            self.sold_out.pop(campaign_id, None)
        elif kind == "changed":
            self.forget(campaign_id)
            if self.journal:
                self.flush_soon.set()

    async def _confirm_sold_out(self, campaign_id: int, epoch: int) -> None:
        """Trust a sold-out message only once Redis itself says so: a message alone (forged, or from
        a deployment that should not reach us) must not make this process refuse grabs."""
        left, current = await get_redis().hmget(k(campaign_id, "meta"), ["left", "epoch"])  # type: ignore[misc]
        if left is not None and int(left) == 0 and current is not None and int(current) == epoch:
            self._arm(campaign_id, epoch, SOLD_OUT_TTL_SYNCED)

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        delay = FLUSH_INTERVAL
        last_counts = time.monotonic()
        while True:
            stopping = stop.is_set()
            urgent = stopping or self.flush_soon.is_set()
            self.flush_soon.clear()
            cutoff = time.monotonic() - (0 if urgent else WRITE_BEHIND_AGE)
            due = [entry for entry in self.journal if entry[0] <= cutoff]
            if due:
                self.journal = self.journal[len(due) :]
                try:
                    await write_missing([win for _, win in due])
                    delay = FLUSH_INTERVAL
                except Exception:
                    log.exception("flash write-behind failed; retrying")
                    self.journal = due + self.journal
                    delay = min(delay * 2, 2.0)
            if self.fast_counts and (stopping or time.monotonic() - last_counts >= 1.0):
                await self._flush_counts()
                last_counts = time.monotonic()
            if stopping:
                return
            # Wake early when a campaign changes: a rebuild waits for our journal before counting wins.
            wakers = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.flush_soon.wait())]
            await asyncio.wait(wakers, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for waker in wakers:
                waker.cancel()

    async def _flush_counts(self) -> None:
        counts, self.fast_counts = self.fast_counts, Counter()
        second = math.floor(time.time())
        try:
            async with get_redis().pipeline(transaction=False) as pipe:
                for (campaign_id, outcome), n in counts.items():
                    pipe.hincrby(k(campaign_id, "outcomes"), outcome, n)
                    pipe.hincrby(k(campaign_id, "per_second"), str(second), n)
                await pipe.execute()
        except RedisError:
            log.warning("could not record fast-path grab counts")


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


runtime = FlashRuntime()
