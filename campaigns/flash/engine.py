"""The grab call: concurrent grabs of one campaign leave as one EVALSHA per event-loop turn.

Every grab waiting in this process for the same campaign joins the batch that is sent on the next
turn of the event loop, so under load one Redis round trip answers dozens of grabs and the per-call
client overhead is paid once. A lone grab still costs exactly one round trip.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from app.core.redis_client import LuaScript
from campaigns.flash.keys import events_channel, grab_keys

GRAB_SCRIPT = LuaScript.from_file(Path(__file__).with_name("grab.lua"))
MAX_BATCH = 256

OK, MISSING, REBUILDING = 0, -1, -2


@dataclass(frozen=True, slots=True)
class GrabAnswer:
    """The engine's answer to one grab."""

    outcome: str
    ticket_id: str | None = None
    slot: int = 0
    sequence: int = 0
    business_day: int = 0
    day_sequence: int = 0
    won_at_ms: int = 0
    retry_after_ms: int = 0

    @property
    def won(self) -> bool:
        """Whether this grab took an item."""
        return self.outcome == "won"


SOLD_OUT = GrabAnswer("sold_out")
NOT_STARTED = GrabAnswer("not_started")
ENDED = GrabAnswer("ended")
LIMIT_REACHED = GrabAnswer("limit_reached")
NOT_ELIGIBLE = GrabAnswer("not_eligible")
PAUSED = GrabAnswer("paused")
_SIMPLE = {a.outcome: a for a in (SOLD_OUT, NOT_STARTED, ENDED, LIMIT_REACHED, NOT_ELIGIBLE, PAUSED)}


def parse_answer(raw: bytes | str) -> GrabAnswer:
    """Decode one answer of grab.lua."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    simple = _SIMPLE.get(text)
    if simple is not None:
        return simple
    parts = text.split(" ")
    if parts[0] == "won":
        return GrabAnswer(
            "won",
            ticket_id=parts[1],
            slot=int(parts[2]),
            sequence=int(parts[3]),
            business_day=int(parts[4]),
            day_sequence=int(parts[5]),
            won_at_ms=int(parts[6]),
        )
    if parts[0] == "rate_limited":
        return GrabAnswer("rate_limited", retry_after_ms=int(parts[1]))
    raise ValueError(f"unexpected grab answer {text!r}")


@dataclass(frozen=True, slots=True)
class CampaignState:
    """What a batch saw of the campaign: keys status, stock left, key generation and items issued."""

    status: int
    left: int = 0
    epoch: int = 0
    issued: int = 0


_Result = tuple[CampaignState, GrabAnswer | None]
_Pending = tuple[str, str, str, "asyncio.Future[_Result]"]


class GrabBatcher:
    """Collects the grabs of one event-loop turn per campaign and sends each campaign's as one call."""

    def __init__(self) -> None:
        self._pending: dict[int, list[_Pending]] = {}
        self._in_flight: set[asyncio.Task[None]] = set()

    def grab(self, campaign_id: int, member_id: int, key: str, ip: str) -> asyncio.Future[_Result]:
        """Queue one grab; the future resolves with the campaign state and the answer (None without keys)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Result] = loop.create_future()
        queue = self._pending.get(campaign_id)
        if queue is None:
            queue = self._pending[campaign_id] = []
            loop.call_soon(self._flush, campaign_id)
        queue.append((str(member_id), key, ip, future))
        return future

    def _flush(self, campaign_id: int) -> None:
        queue = self._pending.pop(campaign_id, [])
        for start in range(0, len(queue), MAX_BATCH):
            task = asyncio.ensure_future(self._send(campaign_id, queue[start : start + MAX_BATCH]))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _send(self, campaign_id: int, batch: list[_Pending]) -> None:
        args: list[str] = [events_channel()]
        for member, key, ip, _ in batch:
            args += (member, key, ip)
        try:
            reply = await GRAB_SCRIPT(grab_keys(campaign_id), args)
            status = int(reply[0])
            if status != OK:
                results: list[_Result] = [(CampaignState(status), None)] * len(batch)
            else:
                state = CampaignState(OK, int(reply[1]), int(reply[2]), int(reply[3]))
                results = [(state, parse_answer(raw)) for raw in reply[4:]]
        except BaseException as exc:
            # Every waiting grab gets the failure: nobody may hang on a lost batch.
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (*_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


batcher = GrabBatcher()
