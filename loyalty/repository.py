"""Loyalty queries, always scoped to the caller (member id or merchant id)."""

from __future__ import annotations

from datetime import datetime

from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from app.core.crypto import lookup_hash
from loyalty.errors import PaymentNotFound, RedemptionNotFound, SaleNotFound, VoucherNotFound
from loyalty.models import (
    Member,
    MerchantMember,
    PointsPayment,
    RedemptionStatus,
    Sale,
    SaleStatus,
    Voucher,
    VoucherRedemption,
    VoucherStatus,
)


def sales_of(merchant_id: int) -> QuerySet[Sale]:
    """The merchant's sales."""
    return Sale.filter(merchant_id=merchant_id)


async def sale_of(merchant_id: int, sale_id: int) -> Sale:
    """One sale of this merchant (404 for any other merchant's)."""
    sale = await Sale.get_or_none(id=sale_id, merchant_id=merchant_id)
    if sale is None:
        raise SaleNotFound("sale not found")
    return sale


def payments_of(merchant_id: int) -> QuerySet[PointsPayment]:
    """The merchant's points payments."""
    return PointsPayment.filter(merchant_id=merchant_id)


async def payment_of(merchant_id: int, payment_id: int) -> PointsPayment:
    """One points payment of this merchant (404 for any other merchant's)."""
    payment = await PointsPayment.get_or_none(id=payment_id, merchant_id=merchant_id)
    if payment is None:
        raise PaymentNotFound("points payment not found")
    return payment


def known_members_of(merchant_id: int) -> QuerySet[MerchantMember]:
    """Members known to this merchant who consent to being seen, with the member loaded."""
    return MerchantMember.filter(merchant_id=merchant_id, member__share_profile=True).select_related("member")


def vouchers_of(member_id: int, status: str | None, now: datetime) -> QuerySet[Voucher]:
    """The member's vouchers with their benefit, by displayed status (expired: unused past validity)."""
    queryset = Voucher.filter(member_id=member_id).select_related("benefit")
    if status == "active":
        return queryset.filter(status=VoucherStatus.ACTIVE, valid_until__gt=now)
    if status == "expired":
        return queryset.filter(status=VoucherStatus.ACTIVE, valid_until__lte=now)
    if status == "used":
        return queryset.filter(status=VoucherStatus.USED)
    if status == "revoked":
        return queryset.filter(status=VoucherStatus.REVOKED)
    return queryset


async def voucher_of(member_id: int, voucher_id: int) -> Voucher:
    """One voucher of this member (404 for anybody else's)."""
    voucher = await Voucher.get_or_none(id=voucher_id, member_id=member_id).select_related("benefit")
    if voucher is None:
        raise VoucherNotFound("voucher not found")
    return voucher


def redemptions_of(merchant_id: int) -> QuerySet[VoucherRedemption]:
    """Vouchers redeemed at this merchant."""
    return VoucherRedemption.filter(merchant_id=merchant_id)


async def redemption_of(merchant_id: int, redemption_id: int) -> VoucherRedemption:
    """One redemption at this merchant (404 for any other merchant's)."""
    redemption = await VoucherRedemption.get_or_none(id=redemption_id, merchant_id=merchant_id)
    if redemption is None:
        raise RedemptionNotFound("redemption not found")
    return redemption


async def day_figures(start: datetime, end: datetime) -> dict[str, int]:
    """The platform's loyalty figures of one period (the ops console's home page): members who joined,
    sales standing (count, fen and points issued) and vouchers redeemed (reversals excluded)."""
    sales = (
        await Sale.filter(created_at__gte=start, created_at__lt=end, status=SaleStatus.COMPLETED)
        .annotate(n=Count("id"), fen=Sum("amount_fen"), points=Sum("points"))
        .values("n", "fen", "points")
    )
    row = sales[0] if sales else {}
    return {
        "members_joined": await Member.filter(joined_at__gte=start, joined_at__lt=end).count(),
        "sales_count": int(row.get("n") or 0),
        "sales_fen": int(row.get("fen") or 0),
        "points_issued": int(row.get("points") or 0),
        "vouchers_redeemed": await VoucherRedemption.filter(
            created_at__gte=start, created_at__lt=end, status=RedemptionStatus.REDEEMED
        ).count(),
    }


async def member_by_phone(phone: str) -> Member | None:
    """The member whose bound phone this is (by its keyed lookup hash; the phone itself is never stored
    in clear)."""
    return await Member.get_or_none(phone_hash=lookup_hash(phone))
