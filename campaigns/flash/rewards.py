"""Flash wins and their rewards: the win as the grab script records it, a campaign's terms, and the
voucher or points each win gets (at persistence for a free win, at payment for a priced one)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import date

from redis.exceptions import RedisError

from app.core import audit
from app.core.db import on_commit, transaction
from app.core.errors import ProblemError
from app.core.redis_client import get_redis
from campaigns.flash.engine import GrabAnswer
from campaigns.flash.keys import k
from campaigns.models import Campaign, FlashWin, Funder
from loyalty import ledger as loyalty_ledger
from loyalty import vouchers as loyalty_vouchers
from loyalty.vouchers import IssueOutcome, VoucherGrant

log = logging.getLogger("linli.campaigns.persist")

EPOCH_DAY = date(1970, 1, 1)
VOUCHER_KINDS = ("voucher", "gift")  # rewards handed out as a loyalty voucher of the reward's benefit
MAX_GRANTS = 1000  # loyalty's largest voucher batch


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
    def of_row(cls, row: FlashWin) -> Win:
        """From a persisted win."""
        return cls(
            campaign_id=row.campaign_id,
            member_id=row.member_id,
            slot=row.slot,
            sequence=row.sequence,
            day=(row.business_day - EPOCH_DAY).days,
            day_sequence=row.day_sequence,
            ticket_id=row.ticket_id,
            won_at_ms=round(row.won_at.timestamp() * 1000),
            epoch=row.epoch,
            key=row.idempotency_key or "",
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
class Terms:
    """What every win of a campaign carries and gets."""

    stock: int
    member_limit: int
    member_day_limit: int
    unit_cost_fen: int
    benefit_id: int | None
    points: int  # credited per win when the reward is points
    price_fen: int = 0
    price_points: int = 0
    payment_minutes: int = 10

    @property
    def priced(self) -> bool:
        """Whether a win is an order to pay (its reward waits for the payment)."""
        return bool(self.price_fen or self.price_points)


def terms_of(campaign: Campaign) -> Terms:
    """The campaign's flash terms, from its row and configuration."""
    config = campaign.config
    reward = config.get("reward") or {}
    benefit_id = reward.get("benefit_id") if reward.get("kind") in VOUCHER_KINDS else None
    return Terms(
        campaign.stock,
        campaign.member_limit,
        campaign.member_day_limit,
        int(reward.get("cost_fen", 0)),
        int(benefit_id) if benefit_id else None,
        int(reward.get("points", 0)) if reward.get("kind") == "points" else 0,
        int(config.get("price_fen") or 0),
        int(config.get("price_points") or 0),
        int(config.get("payment_minutes") or 10),
    )


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


async def reward(campaign: Campaign, terms: Terms, wins: list[Win]) -> None:
    """The reward of each win (a voucher of the benefit, or points), in the caller's transaction."""
    if terms.benefit_id is not None:
        await _issue_vouchers(campaign.id, terms.benefit_id, wins)
    elif terms.points:
        await _credit_points(campaign, terms.points, wins)
