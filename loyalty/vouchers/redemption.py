"""Redemption at the till: the merchant scans the voucher token; each token works once, each voucher once.

A redemption flips the voucher `active → used` by a conditional update and stores the scanned token's
nonce in a unique column, so each token works once however many copies arrive together.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from tortoise.exceptions import IntegrityError

from app.core import sql
from app.core.auth.tokens import Principal
from app.core.config import get_settings
from app.core.db import transaction
from app.core.idempotency import current_reference
from app.core.timeutil import utcnow
from loyalty.errors import (
    MerchantNotFound,
    RedemptionNotFound,
    ReversalWindowClosed,
    VoucherMinimumSpend,
    VoucherNotFound,
    VoucherNotValidHere,
    VoucherTokenUsed,
    VoucherUsed,
)
from loyalty.ledger import postings as ledger
from loyalty.members import pool as members
from loyalty.models import (
    Benefit,
    BenefitKind,
    BenefitMerchant,
    Eligibility,
    Funder,
    RedemptionStatus,
    Voucher,
    VoucherRedemption,
    VoucherStatus,
)
from loyalty.till.codes import read_voucher_token
from loyalty.till.sales import (
    TERMS_COLUMNS,
    TERMS_FROM,
    Terms,
    check_active,
    check_amount,
    terms_from_row,
)
from loyalty.vouchers.rules import (
    check_unused,
    check_validity,
    discount,
    reverse_redemption,
    settlement_value,
)


async def _redeemable_at(benefit: Benefit, terms: Terms) -> bool:
    if benefit.eligibility == Eligibility.BILL_PAYMENT:
        return False
    if benefit.funder == Funder.MERCHANT and benefit.funder_merchant_id != terms.merchant_id:
        return False
    if benefit.eligibility == Eligibility.ALL:
        return True
    if benefit.eligibility == Eligibility.CATEGORY:
        return bool(terms.category) and terms.category in benefit.categories
    return await BenefitMerchant.exists(benefit_id=benefit.id, merchant_id=terms.merchant_id)


# One read for the till: the merchant's terms, and the member's voucher with its benefit's terms and
# the member's last active time (every voucher column is NULL when the member has no such voucher).
_TERMS_AND_VOUCHER = f"""
SELECT {TERMS_COLUMNS},
       v.id AS voucher_id, v.benefit_id, v.member_id, v.status AS voucher_status, v.valid_from, v.valid_until,
       b.kind, b.face_value_fen, b.discount_percent, b.discount_cap_fen, b.min_spend_fen,
       b.funder, b.funder_merchant_id, b.eligibility, b.categories, mem.last_active_at
FROM {TERMS_FROM}
LEFT JOIN loyalty_voucher v ON v.id = $2 AND v.member_id = $3
LEFT JOIN loyalty_benefit b ON b.id = v.benefit_id
LEFT JOIN loyalty_member mem ON mem.id = v.member_id
WHERE m.id = $1
"""  # noqa: S608 - the interpolated parts are constants


@dataclass(frozen=True)
class _TillRead:
    terms: Terms
    voucher: Voucher
    benefit: Benefit
    member_active_today: bool


async def _terms_and_voucher(merchant_id: int, voucher_id: int, member_id: int) -> _TillRead:
    """The active merchant's terms and the member's voucher with its benefit, in one query."""
    found = await sql.rows(_TERMS_AND_VOUCHER, merchant_id, voucher_id, member_id)
    if not found:
        raise MerchantNotFound("merchant not found")
    row = found[0]
    terms = check_active(terms_from_row(merchant_id, row))
    if row["voucher_id"] is None:
        raise VoucherNotFound("voucher not found")
    benefit = Benefit(
        id=row["benefit_id"],
        kind=BenefitKind(row["kind"]),
        face_value_fen=row["face_value_fen"],
        discount_percent=row["discount_percent"],
        discount_cap_fen=row["discount_cap_fen"],
        min_spend_fen=row["min_spend_fen"],
        funder=Funder(row["funder"]),
        funder_merchant_id=row["funder_merchant_id"],
        eligibility=Eligibility(row["eligibility"]),
        categories=sql.json_value(row["categories"]),
    )
    voucher = Voucher(
        id=row["voucher_id"],
        benefit_id=row["benefit_id"],
        member_id=row["member_id"],
        status=VoucherStatus(row["voucher_status"]),
        valid_from=sql.instant(row["valid_from"]),
        valid_until=sql.instant(row["valid_until"]),
    )
    last_active = sql.optional_instant(row["last_active_at"])
    return _TillRead(terms, voucher, benefit, members.active_today(last_active))


async def redeem_at_till(staff: Principal, token: str, bill_amount_fen: int) -> VoucherRedemption:
    """Redeem the voucher whose token the merchant scanned against a bill (exactly once)."""
    assert staff.merchant_id is not None
    merchant_id = staff.merchant_id
    scanned = read_voucher_token(token)
    check_amount(bill_amount_fen, "bill_amount_fen")
    reference = f"till:{merchant_id}:{current_reference() or uuid.uuid4().hex}"[: ledger.MAX_REFERENCE]
    try:
        async with transaction():  # the reads share the transaction's connection
            read = await _terms_and_voucher(merchant_id, scanned.voucher_id, scanned.member_id)
            terms, voucher, benefit = read.terms, read.voucher, read.benefit
            if not await _redeemable_at(benefit, terms):
                raise VoucherNotValidHere("this voucher cannot be redeemed at this merchant")
            now = utcnow()
            check_unused(voucher)
            check_validity(voucher, now)
            if bill_amount_fen < benefit.min_spend_fen:
                raise VoucherMinimumSpend(f"the bill must be at least {benefit.min_spend_fen} fen")
            off = discount(benefit, bill_amount_fen)
            redemption = VoucherRedemption(
                voucher_id=voucher.id,
                merchant_id=merchant_id,
                channel="till",
                reference=reference,
                nonce=scanned.nonce,
                staff_id=staff.id,
                bill_amount_fen=bill_amount_fen,
                discount_fen=off,
                settlement_fen=settlement_value(benefit, off),
                status=RedemptionStatus.REDEEMED,
                created_at=now,
                reversed_at=None,
            )
            flipped = await sql.execute(
                "UPDATE loyalty_voucher SET status = $1, used_at = $2 WHERE id = $3 AND status = $4",
                VoucherStatus.USED.value,
                now,
                voucher.id,
                VoucherStatus.ACTIVE.value,
            )
            if not flipped:
                raise VoucherUsed("the voucher was already redeemed")
            found = await sql.rows(
                "INSERT INTO loyalty_voucher_redemption (voucher_id, merchant_id, channel, reference, nonce,"
                " staff_id, bill_amount_fen, discount_fen, settlement_fen, status, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                voucher.id,
                merchant_id,
                redemption.channel,
                reference,
                scanned.nonce,
                staff.id,
                bill_amount_fen,
                off,
                redemption.settlement_fen,
                RedemptionStatus.REDEEMED.value,
                now,
            )
            redemption.id = int(found[0]["id"])
            await members.note_visit(
                merchant_id,
                voucher.member_id,
                at=now,
                redemptions=1,
                member_active_today=read.member_active_today,
                merchant_active_recently=terms.recently_active(now),
            )
        return redemption
    except IntegrityError:
        if await VoucherRedemption.exists(nonce=scanned.nonce):
            raise VoucherTokenUsed("this voucher code was already scanned, ask for a fresh one") from None
        raise


async def reverse_at_till(staff: Principal, redemption_id: int) -> VoucherRedemption:
    """Undo a till redemption (refund) within the reversal window: the voucher is active again."""
    assert staff.merchant_id is not None
    redemption = await VoucherRedemption.get_or_none(id=redemption_id, merchant_id=staff.merchant_id)
    if redemption is None:
        raise RedemptionNotFound("redemption not found")
    now = utcnow()
    if now - redemption.created_at > timedelta(hours=get_settings().reversal_window_hours):
        raise ReversalWindowClosed("redemptions can be reversed within the reversal window only")
    async with transaction():
        await reverse_redemption(redemption, now)
    return await VoucherRedemption.get(id=redemption.id)
