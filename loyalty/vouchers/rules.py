"""Voucher rules every use shares: the discount on an amount, what the funder owes, validity, reversal."""

from __future__ import annotations

from datetime import datetime

from loyalty.errors import (
    RedemptionAlreadyReversed,
    VoucherExpired,
    VoucherNotYetValid,
    VoucherRevoked,
    VoucherUsed,
)
from loyalty.models import (
    Benefit,
    BenefitKind,
    Funder,
    RedemptionStatus,
    Voucher,
    VoucherRedemption,
    VoucherStatus,
)


def discount(benefit: Benefit, bill_fen: int) -> int:
    """What the voucher takes off a bill of `bill_fen` (a gift voucher takes nothing off)."""
    if benefit.kind == BenefitKind.CASH:
        return min(int(benefit.face_value_fen), bill_fen)
    if benefit.kind == BenefitKind.DISCOUNT:
        off = bill_fen * int(benefit.discount_percent or 0) // 100
        cap = benefit.discount_cap_fen
        return off if cap is None else min(off, int(cap))
    return 0


def settlement_value(benefit: Benefit, discount_fen: int) -> int:
    """What the bank owes the merchant for a redemption (merchant-funded benefits: nothing)."""
    if benefit.funder != Funder.BANK:
        return 0
    return int(benefit.face_value_fen) if benefit.kind == BenefitKind.GIFT else discount_fen


def check_unused(voucher: Voucher) -> None:
    """409 unless the voucher is still active: `voucher.used`, or `voucher.revoked` once taken back."""
    if voucher.status == VoucherStatus.USED:
        raise VoucherUsed("the voucher was already redeemed")
    if voucher.status == VoucherStatus.REVOKED:
        raise VoucherRevoked("the voucher was taken back: the purchase that earned it was refunded")


def check_validity(voucher: Voucher, now: datetime) -> None:
    if voucher.valid_until <= now:
        raise VoucherExpired("the voucher has expired")
    if voucher.valid_from > now:
        raise VoucherNotYetValid("the voucher is not valid yet")


async def reverse_redemption(redemption: VoucherRedemption, now: datetime) -> None:
    changed = await VoucherRedemption.filter(id=redemption.id, status=RedemptionStatus.REDEEMED).update(
        status=RedemptionStatus.REVERSED, reversed_at=now
    )
    if not changed:
        raise RedemptionAlreadyReversed("the redemption was reversed already")
    await Voucher.filter(id=redemption.voucher_id, status=VoucherStatus.USED).update(
        status=VoucherStatus.ACTIVE, used_at=None
    )
