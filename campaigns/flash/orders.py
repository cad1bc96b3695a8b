"""Orders of priced flash wins: a win waits for its payment until a deadline, then it is paid, expired
or cancelled (won → awaiting payment → paid | expired | cancelled).

* Paying (points through loyalty's ledger, fen through the bank interface in `payments.py`) flips the
  order with a conditional update (`status = awaiting_payment AND pay_by > now`) in the transaction that
  records the payment and issues the reward, so a payment and an expiry or a cancel never both happen.
* Expiring or cancelling releases the win in the database (`released_at`: the partial unique indexes
  let the slot, and unless the campaign says `expired_counts` the member's sequences, be held again) and
  gives the budget back, in one transaction; after the commit the slot returns to Redis (`release.lua`,
  once per ticket), through the outbox so that a crash in between only delays it.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from redis.exceptions import RedisError

from app.core import bank
from app.core.db import on_commit, transaction
from app.core.jobs import enqueue, job
from app.core.redis_client import LuaScript
from app.core.sql import column
from app.core.timeutil import utcnow
from campaigns.errors import OrderCancelled, OrderExpired, OrderNotFound, OrderNotPayable, OrderPaid
from campaigns.flash import rewards
from campaigns.flash.keys import events_channel, k
from campaigns.lifecycle import budget
from campaigns.models import RELEASED, Campaign, FlashWin, Funder, OrderStatus
from loyalty import ledger as loyalty_ledger
from loyalty import settlement as loyalty_settlement

log = logging.getLogger("linli.campaigns.orders")

RELEASE_SCRIPT = LuaScript.from_file(Path(__file__).with_name("release.lua"))
EPOCH_DAY = date(1970, 1, 1)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Order:
    """A priced flash win as its winner sees it."""

    win: FlashWin
    campaign_name: str

    @property
    def seconds_left(self) -> int:
        """Seconds until the deadline (0 once passed or no longer awaiting payment)."""
        if self.win.status != OrderStatus.AWAITING_PAYMENT or self.win.pay_by is None:
            return 0
        return max(0, int((self.win.pay_by - utcnow()).total_seconds()))


def payment_reference(win: FlashWin) -> str:
    """The reference a payment of this order carries (ledger journal, bank debit)."""
    return f"flash-order:{win.ticket_id}"


async def _named(wins: list[FlashWin]) -> list[Order]:
    ids = {w.campaign_id for w in wins}
    names = dict(await Campaign.filter(id__in=ids).values_list("id", "name")) if ids else {}
    return [Order(w, str(names.get(w.campaign_id, ""))) for w in wins]


async def pending(member_id: int) -> list[Order]:
    """The member's orders awaiting payment, soonest deadline first."""
    wins = await FlashWin.filter(member_id=member_id, status=OrderStatus.AWAITING_PAYMENT).order_by(
        "pay_by", "id"
    )
    return await _named(list(wins))


async def _mine(member_id: int, order_id: int, *, lock: bool = False) -> FlashWin:
    query = FlashWin.filter(id=order_id, member_id=member_id).exclude(status=OrderStatus.ISSUED)
    win = await (query.select_for_update() if lock else query).first()
    if win is None:
        raise OrderNotFound("order not found")
    return win


async def get(member_id: int, order_id: int) -> Order:
    """One of the member's flash orders (404 `flash.order_not_found`, also for another member's)."""
    return (await _named([await _mine(member_id, order_id)]))[0]


def refuse_unpayable(win: FlashWin, now: datetime) -> None:
    """409 `flash.order_cancelled` or `flash.order_expired` unless the order can still be paid."""
    if win.status == OrderStatus.CANCELLED:
        raise OrderCancelled("the order was cancelled")
    if win.status == OrderStatus.EXPIRED or (win.pay_by is not None and win.pay_by <= now):
        raise OrderExpired("the payment deadline has passed: the item went back on sale")


async def settle_paid(win: FlashWin, now: datetime) -> bool:
    """Mark an order paid and issue its reward, in the caller's transaction (which records the payment);
    False when it is no longer awaiting payment within its deadline (the caller refuses or refunds)."""
    paid = await FlashWin.filter(id=win.id, status=OrderStatus.AWAITING_PAYMENT, pay_by__gt=now).update(
        status=OrderStatus.PAID, paid_at=now
    )
    if not paid:
        return False
    campaign = await Campaign.get(id=win.campaign_id)
    await rewards.reward(campaign, rewards.terms_of(campaign), [rewards.Win.of_row(win)])
    if win.price_fen and campaign.funder == Funder.MERCHANT and campaign.funder_merchant_id is not None:
        # A merchant-funded sale's takings are the merchant's (a bank-funded one's stay with the bank).
        await loyalty_settlement.record_member_payment(
            campaign.funder_merchant_id, payment_reference(win), int(win.price_fen), f"flash order {win.id}"
        )
    return True


async def pay_with_points(member_id: int, order_id: int) -> Order:
    """Pay an order priced in points: 409 `points.insufficient` (the order stays payable until its
    deadline), `flash.order_expired`, `flash.order_cancelled`; paying a paid order answers it again."""
    now = utcnow()
    async with transaction():
        win = await _mine(member_id, order_id, lock=True)
        if win.status == OrderStatus.PAID:
            return await get(member_id, order_id)
        refuse_unpayable(win, now)
        if not win.price_points:
            raise OrderNotPayable("this order is paid from the bank account, not with points")
        campaign_name = await column(Campaign.filter(id=win.campaign_id).values_list("name", flat=True))
        await loyalty_ledger.spend_points(
            member_id,
            int(win.price_points),
            purpose=loyalty_ledger.SpendPurpose.CAMPAIGN,
            reference=payment_reference(win),
            memo=f"{campaign_name[0] if campaign_name else 'flash sale'}: order {win.id}",
        )
        if not await settle_paid(win, now):
            raise OrderExpired("the payment deadline has passed: the item went back on sale")
    return await get(member_id, order_id)


async def _release(win_id: int, status: OrderStatus, now: datetime, *, overdue_only: bool) -> bool:
    """Expire or cancel an order awaiting payment (in the caller's transaction); whether it did."""
    win = await FlashWin.get_or_none(id=win_id)
    if win is None or win.status != OrderStatus.AWAITING_PAYMENT:
        return False
    campaign = await Campaign.get(id=win.campaign_id)
    keeps = bool(campaign.config.get("expired_counts", False))
    query = FlashWin.filter(id=win_id, status=OrderStatus.AWAITING_PAYMENT)
    if overdue_only:
        query = query.filter(pay_by__lte=now)
    if not await query.update(status=status, released_at=now, keeps_count=keeps):
        return False
    unit_cost = rewards.terms_of(campaign).unit_cost_fen
    await budget.spend(campaign.id, -1, -unit_cost)  # the slot is for sale again: so is its budget
    await enqueue(return_slot, win_id)
    if win.debit_started_at is not None:  # a debit may have landed, or still land: give it back
        await enqueue(refund_unpaid_job, win_id)

    async def at_once() -> None:
        with contextlib.suppress(RedisError):
            await return_slot_now(win_id)

    on_commit(at_once)
    return True


async def cancel(member_id: int, order_id: int) -> Order:
    """The member gives up an order awaiting payment: its slot goes back on sale (409 `flash.order_paid`).
    Cancelling a cancelled or expired order answers it again."""
    now = utcnow()
    async with transaction():
        win = await _mine(member_id, order_id, lock=True)
        if win.status == OrderStatus.PAID:
            raise OrderPaid("the order is paid: its voucher is in my vouchers")
        if win.status == OrderStatus.AWAITING_PAYMENT:
            overdue = win.pay_by is not None and win.pay_by <= now
            status = OrderStatus.EXPIRED if overdue else OrderStatus.CANCELLED
            await _release(win.id, status, now, overdue_only=overdue)
    return await get(member_id, order_id)


async def expire(win_id: int, now: datetime | None = None) -> bool:
    """Expire one order whose deadline passed (safe to run twice); whether this call expired it."""
    now = now or utcnow()
    async with transaction():
        return await _release(win_id, OrderStatus.EXPIRED, now, overdue_only=True)


async def expire_overdue(now: datetime | None = None, campaign_id: int | None = None) -> int:
    """Expire every order past its deadline (the sweeper; also the job each persisted batch defers)."""
    now = now or utcnow()
    expired = 0
    while True:
        query = FlashWin.filter(status=OrderStatus.AWAITING_PAYMENT, pay_by__lte=now)
        if campaign_id is not None:
            query = query.filter(campaign_id=campaign_id)
        due = [
            int(i)
            for i in await column(query.order_by("pay_by").limit(SWEEP_BATCH).values_list("id", flat=True))
        ]
        for win_id in due:
            expired += await expire(win_id, now)
        if len(due) < SWEEP_BATCH:
            return expired


async def return_slot_now(win_id: int) -> int:
    """Give a released win's slot back to the loaded campaign (release.lua's answer; idempotent)."""
    win = await FlashWin.get_or_none(id=win_id)
    if win is None or win.status not in RELEASED:
        return 0
    cid = win.campaign_id
    return int(
        await RELEASE_SCRIPT(
            [k(cid, "meta"), k(cid, "wins"), k(cid, "free")],
            [
                win.ticket_id,
                win.slot,
                win.member_id,
                (win.business_day - EPOCH_DAY).days,
                win.sequence,
                win.day_sequence,
                "0" if win.keeps_count else "1",
                win.epoch,
                events_channel(),
                cid,
            ],
        )
    )


async def refund_unpaid(win_id: int) -> None:
    """Give back (or reverse) the debit of an order that is not paid: expired or cancelled."""
    win = await FlashWin.get(id=win_id)
    if win.status not in RELEASED or win.refunded_at is not None:
        return
    refund = await bank.payment_provider().refund(payment_reference(win))
    await FlashWin.filter(id=win_id, refunded_at__isnull=True).update(refunded_at=utcnow())
    if refund.state == bank.DebitState.REFUNDED:
        log.info("late flash payment refunded", extra={"order_id": win_id, "refund": refund.refund_txn_no})


@job("campaigns.flash_refund_unpaid")
async def refund_unpaid_job(win_id: int) -> None:
    """After an order whose bank debit was asked for expired or was cancelled: refund or reverse the debit
    (safe to run twice)."""
    await refund_unpaid(win_id)


@job("campaigns.flash_return_slot")
async def return_slot(win_id: int) -> int:
    """After an expiry or cancel commits: the slot goes back on sale in Redis (safe to run twice)."""
    return await return_slot_now(win_id)


@job("campaigns.flash_expire_due")
async def expire_due(campaign_id: int) -> int:
    """Deferred to a persisted batch's deadline: expire the campaign's unpaid orders (safe to run twice)."""
    return await expire_overdue(campaign_id=campaign_id)


def deadline_of(won_at: datetime, minutes: int) -> datetime:
    """The payment deadline of a win."""
    return won_at + timedelta(minutes=minutes)
