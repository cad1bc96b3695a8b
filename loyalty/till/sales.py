"""Earning and paying at the till: sales (points = amount × rate × tier × campaign) and points payments.

A sale's campaign multiplier is decided inside the sale's transaction by the earn-multiplier providers
(`loyalty.hooks`), which reserve what backs the bonus there, and recorded on the sale; the sale
listeners read the recorded decision (`sale_multiplier`) instead of working it out again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from app.core import sql
from app.core.auth.tokens import Principal
from app.core.config import get_settings
from app.core.db import transaction
from app.core.errors import InvalidField
from app.core.idempotency import current_reference
from app.core.jobs import enqueue
from app.core.timeutil import utcnow
from loyalty import hooks
from loyalty.errors import (
    MemberCodeUsed,
    MerchantNotActive,
    MerchantNotFound,
    PaymentAlreadyReversed,
    PaymentNotFound,
    ReferenceConflict,
    ReversalWindowClosed,
    SaleAlreadyRefunded,
    SaleNotFound,
)
from loyalty.ledger import postings as ledger
from loyalty.ledger.postings import EarnSource, SpendPurpose
from loyalty.ledger.tiers import earn_percent
from loyalty.members import pool as members
from loyalty.models import AccountKind, Journal, PaymentStatus, PointsPayment, Sale, SaleStatus
from loyalty.till.codes import read_member_code
from merchants.grids import recently_active
from merchants.models import MerchantStatus


@dataclass(frozen=True)
class Terms:
    """A merchant's loyalty terms in force (its own, or the platform defaults)."""

    merchant_id: int
    active: bool
    earn_rate: int
    point_value_fen: int
    category: str  # the merchant's business category (merchants' `Category`), "" when not set
    last_activity_at: datetime | None  # as merchants record it (`record_activity`)

    def recently_active(self, at: datetime) -> bool:
        """Whether the merchant's activity at `at` is already recorded (no write needed)."""
        return recently_active(self.last_activity_at, at)


# The terms columns, for statements that read them with something else (the redemption's voucher).
TERMS_COLUMNS = "m.status, m.category, m.last_activity_at, p.earn_rate, p.point_value_fen"
TERMS_FROM = "merchants_merchant m LEFT JOIN loyalty_merchant_program p ON p.merchant_id = m.id"


def terms_from_row(merchant_id: int, row: dict[str, Any]) -> Terms:
    """Terms from a row holding TERMS_COLUMNS (platform defaults where the merchant has none)."""
    settings = get_settings()
    return Terms(
        merchant_id=merchant_id,
        active=row["status"] == MerchantStatus.ACTIVE.value,
        earn_rate=settings.earn_rate_default if row["earn_rate"] is None else int(row["earn_rate"]),
        point_value_fen=settings.point_value_fen
        if row["point_value_fen"] is None
        else int(row["point_value_fen"]),
        category=row["category"] or "",
        last_activity_at=sql.optional_instant(row["last_activity_at"]),
    )


async def merchant_terms(merchant_id: int) -> Terms:
    """The merchant's status and loyalty terms in one query (404 `merchant.not_found`)."""
    found = await sql.rows(f"SELECT {TERMS_COLUMNS} FROM {TERMS_FROM} WHERE m.id = $1", merchant_id)  # noqa: S608
    if not found:
        raise MerchantNotFound("merchant not found")
    return terms_from_row(merchant_id, found[0])


def check_active(terms: Terms) -> Terms:
    """The terms of a merchant that may trade in the alliance (409 `merchant.not_active` otherwise)."""
    if not terms.active:
        raise MerchantNotActive("the merchant is not active in the alliance")
    return terms


async def active_terms(merchant_id: int) -> Terms:
    """Terms of a merchant that may trade in the alliance (409 `merchant.not_active` otherwise)."""
    return check_active(await merchant_terms(merchant_id))


def sale_points(
    amount_fen: int, earn_rate: int, tier_percent: int, multiplier_percent: int = 100
) -> tuple[int, int]:
    """(total, merchant-funded base) points of a sale, rounded down, computed exactly."""
    base = amount_fen * earn_rate // 10_000
    total = amount_fen * earn_rate * tier_percent * multiplier_percent // (10_000 * 100 * 100)
    return max(total, base), base


async def _decide_multiplier(context: hooks.SaleContext) -> hooks.MultiplierDecision | None:
    """The first decision of the installed earn-multiplier providers, checked against the sale (inside the
    sale's transaction: the provider's reservation commits or rolls back with the sale)."""
    for provider in hooks.installed().earn_multipliers:
        decision = await provider(context)
        if decision is None:
            continue
        fits = (
            hooks.MIN_MULTIPLIER_PERCENT <= decision.percent <= hooks.MAX_MULTIPLIER_PERCENT
            and decision.bonus_points >= 1
            and decision.bonus_points == context.bonus_for(decision.percent)
            and decision.cost_fen >= 0
        )
        if not fits:  # a provider's bug: never credit a bonus other than the one it reserved for
            raise ValueError(f"earn multiplier decision {decision} does not fit the sale")
        return decision
    return None


@dataclass(frozen=True)
class SaleMultiplier:
    """The earn-multiplier decision recorded on a sale (what its campaign's listener books)."""

    sale_id: int
    member_id: int
    merchant_id: int
    sold_at: datetime
    campaign_id: int
    percent: int
    bonus_points: int
    cost_fen: int


async def sale_multiplier(sale_id: int) -> SaleMultiplier | None:
    """The multiplier decision recorded on a sale (None: no sale, or no multiplier boosted it)."""
    sale = await Sale.get_or_none(id=sale_id)
    if sale is None or sale.multiplier_campaign_id is None:
        return None
    assert sale.multiplier_percent is not None and sale.bonus_points is not None
    assert sale.bonus_cost_fen is not None  # the CHECK constraint: all four or none
    return SaleMultiplier(
        sale_id=sale.id,
        member_id=sale.member_id,
        merchant_id=sale.merchant_id,
        sold_at=sale.created_at,
        campaign_id=sale.multiplier_campaign_id,
        percent=sale.multiplier_percent,
        bonus_points=sale.bonus_points,
        cost_fen=sale.bonus_cost_fen,
    )


async def boosted_sales(
    campaign_id: int, member_id: int, *, between: tuple[datetime, datetime] | None = None
) -> int:
    """How many of a member's sales a campaign's multiplier boosted (refunded ones too), all time or
    within [start, end). Exact inside a sale's transaction once `SaleContext.lock_member()` ran."""
    sales = Sale.filter(multiplier_campaign_id=campaign_id, member_id=member_id)
    if between is not None:
        sales = sales.filter(created_at__gte=between[0], created_at__lt=between[1])
    return await sales.count()


def check_fen(amount_fen: object, field: str = "amount_fen") -> int:
    """A positive whole amount in fen (422 naming the field otherwise)."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise InvalidField(field, "must be a whole number of fen")
    if amount_fen <= 0:
        raise InvalidField(field, "must be positive")
    return amount_fen


def check_amount(amount_fen: object, field: str = "amount_fen") -> int:
    """A positive whole amount in fen within the till's sale limit (422 naming the field otherwise)."""
    amount_fen = check_fen(amount_fen, field)
    if amount_fen > get_settings().sale_max_fen:
        raise InvalidField(field, f"at most {get_settings().sale_max_fen} fen")
    return amount_fen


def _till_reference(receipt_no: str | None) -> str:
    if receipt_no:
        return f"receipt:{receipt_no}"
    idempotency = current_reference()
    return f"idem:{idempotency}"[:160] if idempotency else f"auto:{uuid.uuid4().hex}"


async def record_sale(staff: Principal, member_code: str, amount_fen: int, receipt_no: str | None) -> Sale:
    """A merchant records a sale for the member whose code it scanned; the member earns points."""
    assert staff.merchant_id is not None
    merchant_id = staff.merchant_id
    check_amount(amount_fen)
    code = read_member_code(member_code)
    terms = await active_terms(merchant_id)
    member = await members.joined_standing(code.member_id)
    now = utcnow()
    tier_percent = earn_percent(member.tier)
    plain, base = sale_points(amount_fen, terms.earn_rate, tier_percent)
    reference = _till_reference(receipt_no)

    def bonus_for(multiplier_percent: int) -> int:
        return sale_points(amount_fen, terms.earn_rate, tier_percent, multiplier_percent)[0] - plain

    context = hooks.SaleContext(
        member_id=code.member_id,
        merchant_id=merchant_id,
        at=now,
        amount_fen=amount_fen,
        points=plain,
        point_value_fen=terms.point_value_fen,
        bonus_for=bonus_for,
        lock_member=lambda: ledger.lock_account(code.member_id),
    )
    try:
        async with transaction():
            # Decided here, so that the bonus and what backs it (a campaign's budget) commit together.
            decision = await _decide_multiplier(context)
            points = plain + (decision.bonus_points if decision else 0)
            journal_id = None
            if points:
                # No savepoint: a reference posted before aborts this transaction, answered below.
                posting = await ledger.post_earn(
                    code.member_id,
                    points,
                    source=EarnSource.SALE,
                    reference=f"sale:{merchant_id}:{reference}",
                    merchant_id=merchant_id,
                    funding=[(AccountKind.MERCHANT, merchant_id, base), (AccountKind.POOL, 0, points - base)],
                    settlement_fen=-base * terms.point_value_fen,
                    at=now,
                    savepoint=False,
                )
                journal_id = posting.journal_id
            sale = Sale(
                merchant_id=merchant_id,
                member_id=code.member_id,
                staff_id=staff.id,
                reference=reference,
                amount_fen=amount_fen,
                points=points,
                journal_id=journal_id,
                status=SaleStatus.COMPLETED,
                created_at=now,
                refunded_at=None,
                multiplier_campaign_id=decision.campaign_id if decision else None,
                multiplier_percent=decision.percent if decision else None,
                bonus_points=decision.bonus_points if decision else None,
                bonus_cost_fen=decision.cost_fen if decision else None,
            )
            found = await sql.rows(
                "INSERT INTO loyalty_sale (merchant_id, member_id, staff_id, reference, amount_fen, points,"
                " journal_id, status, created_at, multiplier_campaign_id, multiplier_percent, bonus_points,"
                " bonus_cost_fen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                " RETURNING id",
                merchant_id,
                code.member_id,
                staff.id,
                reference,
                amount_fen,
                points,
                journal_id,
                SaleStatus.COMPLETED.value,
                now,
                sale.multiplier_campaign_id,
                sale.multiplier_percent,
                sale.bonus_points,
                sale.bonus_cost_fen,
            )
            sale.id = int(found[0]["id"])
            await members.note_visit(
                merchant_id,
                code.member_id,
                at=now,
                spend_fen=amount_fen,
                points=points,
                member_active_today=member.active_today,
                merchant_active_recently=terms.recently_active(now),
            )
            for listener in hooks.installed().sale_listeners:
                await enqueue(listener, sale.id)
        return sale
    except IntegrityError:  # the receipt (or idempotency key) was recorded before
        existing = await Sale.get_or_none(merchant_id=merchant_id, reference=reference)
        if existing is None:
            raise
    if existing.member_id != code.member_id or existing.amount_fen != amount_fen:
        raise ReferenceConflict(
            "this receipt number was recorded for another sale", code="sale.reference_conflict"
        )
    return existing


async def refund_sale(staff: Principal, sale_id: int) -> Sale:
    """Refund a sale: its points are taken back (what the member already spent is written off), and
    the refund listeners (campaign rewards the sale earned) are told after the refund commits."""
    assert staff.merchant_id is not None
    async with transaction():
        sale = await Sale.get_or_none(id=sale_id, merchant_id=staff.merchant_id)
        if sale is None:
            raise SaleNotFound("sale not found")
        changed = await Sale.filter(id=sale.id, status=SaleStatus.COMPLETED).update(
            status=SaleStatus.REFUNDED, refunded_at=utcnow()
        )
        if not changed:
            raise SaleAlreadyRefunded("the sale was refunded already")
        if sale.journal_id is not None:
            await ledger.reverse_journal(
                await Journal.get(id=sale.journal_id), memo=f"refund of sale {sale.id}"
            )
        for listener in hooks.installed().refund_listeners:
            await enqueue(listener, sale.id)
    return await Sale.get(id=sale.id)


async def pay_with_points(staff: Principal, member_code: str, points: int) -> PointsPayment:
    """The member pays at the till with points; the member code works for one payment only."""
    assert staff.merchant_id is not None
    merchant_id = staff.merchant_id
    ledger.check_points(points)
    code = read_member_code(member_code)
    terms = await active_terms(merchant_id)
    member = await members.joined_member(code.member_id)
    reference = _till_reference(None)
    value_fen = points * terms.point_value_fen
    try:
        async with transaction():
            posting = await ledger.post_spend(
                member.id,
                points,
                source=SpendPurpose.POINTS_PAYMENT,
                reference=f"pay:{merchant_id}:{reference}",
                counterpart=(AccountKind.MERCHANT, merchant_id),
                merchant_id=merchant_id,
                settlement_fen=value_fen,
            )
            if posting.replayed:
                return await PointsPayment.get(merchant_id=merchant_id, reference=reference)
            payment = await PointsPayment.create(
                merchant_id=merchant_id,
                member_id=member.id,
                staff_id=staff.id,
                reference=reference,
                nonce=code.nonce,
                points=points,
                value_fen=value_fen,
                journal_id=posting.journal_id,
            )
            await members.note_visit(merchant_id, member.id, spend_fen=value_fen)
        return payment
    except IntegrityError:
        existing = await PointsPayment.get_or_none(merchant_id=merchant_id, reference=reference)
        if existing is None:
            if await PointsPayment.exists(nonce=code.nonce):
                raise MemberCodeUsed("this member code already paid once, ask for a fresh one") from None
            raise
    return existing


async def reverse_points_payment(staff: Principal, payment_id: int) -> PointsPayment:
    """Refund a points payment at the till (within the reversal window): the points go back."""
    assert staff.merchant_id is not None
    async with transaction():
        payment = await PointsPayment.get_or_none(id=payment_id, merchant_id=staff.merchant_id)
        if payment is None:
            raise PaymentNotFound("points payment not found")
        now = utcnow()
        if now - payment.created_at > timedelta(hours=get_settings().reversal_window_hours):
            raise ReversalWindowClosed("points payments can be reversed within the reversal window only")
        changed = await PointsPayment.filter(id=payment.id, status=PaymentStatus.PAID).update(
            status=PaymentStatus.REVERSED, reversed_at=now
        )
        if not changed:
            raise PaymentAlreadyReversed("the payment was reversed already")
        await ledger.reverse_journal(
            await Journal.get(id=payment.journal_id), memo=f"reversal of payment {payment.id}"
        )
    return await PointsPayment.get(id=payment.id)
