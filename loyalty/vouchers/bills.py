"""Vouchers on bills: the member's vouchers usable on a bill, and using one (idempotent by reference)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError

from app.core.db import transaction
from app.core.timeutil import utcnow
from loyalty.errors import (
    RedemptionAlreadyReversed,
    RedemptionNotFound,
    ReferenceConflict,
    VoucherMinimumSpend,
    VoucherNotFound,
    VoucherNotValidHere,
    VoucherUsed,
)
from loyalty.models import (
    Eligibility,
    RedemptionStatus,
    Voucher,
    VoucherRedemption,
    VoucherStatus,
)
from loyalty.till.sales import (
    check_fen,
)
from loyalty.vouchers.rules import check_unused, check_validity, discount, reverse_redemption


@dataclass(frozen=True)
class VoucherOffer:
    """A voucher the member can use on a bill, with what it takes off."""

    voucher_id: int
    benefit_id: int
    name: str
    discount_fen: int
    valid_until: datetime


@dataclass(frozen=True)
class BillRedemption:
    """A voucher used on a bill: the discount and the amount left to pay."""

    redemption_id: int
    voucher_id: int
    amount_fen: int
    discount_fen: int
    payable_fen: int
    status: RedemptionStatus
    replayed: bool = False


async def bill_payment_vouchers(member_id: int, amount_fen: int) -> list[VoucherOffer]:
    """The member's vouchers usable on a bill of `amount_fen`, best discount first."""
    now = utcnow()
    vouchers = await Voucher.filter(
        member_id=member_id,
        status=VoucherStatus.ACTIVE,
        valid_from__lte=now,
        valid_until__gt=now,
        benefit__eligibility=Eligibility.BILL_PAYMENT,
    ).select_related("benefit")
    offers = [
        VoucherOffer(v.id, v.benefit_id, v.benefit.name, discount(v.benefit, amount_fen), v.valid_until)
        for v in vouchers
        if amount_fen >= v.benefit.min_spend_fen
    ]
    return sorted((o for o in offers if o.discount_fen > 0), key=lambda o: (-o.discount_fen, o.valid_until))


def _bill_result(redemption: VoucherRedemption, *, replayed: bool) -> BillRedemption:
    return BillRedemption(
        redemption_id=redemption.id,
        voucher_id=redemption.voucher_id,
        amount_fen=int(redemption.bill_amount_fen),
        discount_fen=int(redemption.discount_fen),
        payable_fen=int(redemption.bill_amount_fen - redemption.discount_fen),
        status=redemption.status,
        replayed=replayed,
    )


async def _bill_replay(reference: str, voucher_id: int, amount_fen: int) -> BillRedemption | None:
    existing = await VoucherRedemption.get_or_none(reference=reference)
    if existing is None:
        return None
    if existing.voucher_id != voucher_id or existing.bill_amount_fen != amount_fen:
        raise ReferenceConflict(f"reference {reference!r} was used for another redemption")
    return _bill_result(existing, replayed=True)


async def redeem_voucher_for_bill(
    member_id: int, voucher_id: int, amount_fen: int, *, reference: str
) -> BillRedemption:
    """Use a bill-payment voucher on a bill (idempotent by `reference`)."""
    check_fen(amount_fen)  # the bill-payment scenario bounds bills itself, above the till's limit
    replay = await _bill_replay(reference, voucher_id, amount_fen)
    if replay is not None:
        return replay
    voucher = await Voucher.get_or_none(id=voucher_id, member_id=member_id).select_related("benefit")
    if voucher is None:
        raise VoucherNotFound("voucher not found")
    benefit = voucher.benefit
    if benefit.eligibility != Eligibility.BILL_PAYMENT:
        raise VoucherNotValidHere("this voucher is not for bill payment")
    check_unused(voucher)
    now = utcnow()
    check_validity(voucher, now)
    if amount_fen < benefit.min_spend_fen:
        raise VoucherMinimumSpend(f"the bill must be at least {benefit.min_spend_fen} fen")
    off = discount(benefit, amount_fen)
    try:
        async with transaction():
            flipped = await Voucher.filter(id=voucher.id, status=VoucherStatus.ACTIVE).update(
                status=VoucherStatus.USED, used_at=now
            )
            if not flipped:
                raise VoucherUsed("the voucher was already redeemed")
            redemption = await VoucherRedemption.create(
                voucher_id=voucher.id,
                channel="bill_payment",
                reference=reference,
                bill_amount_fen=amount_fen,
                discount_fen=off,
            )
        return _bill_result(redemption, replayed=False)
    except (IntegrityError, VoucherUsed):
        replay = await _bill_replay(reference, voucher_id, amount_fen)
        if replay is None:
            raise
        return replay


async def reverse_voucher_for_bill(reference: str) -> BillRedemption:
    """The bill payment failed or was refunded: the voucher is active again (idempotent)."""
    redemption = await VoucherRedemption.get_or_none(reference=reference, channel="bill_payment")
    if redemption is None:
        raise RedemptionNotFound(f"no bill redemption with reference {reference!r}")
    try:
        async with transaction():
            await reverse_redemption(redemption, utcnow())
    except RedemptionAlreadyReversed:
        return _bill_result(await VoucherRedemption.get(id=redemption.id), replayed=True)
    return _bill_result(await VoucherRedemption.get(id=redemption.id), replayed=False)
