"""Loyalty queries, always scoped to the caller (member id or merchant id)."""

from __future__ import annotations

from tortoise.queryset import QuerySet

from loyalty.errors import PaymentNotFound, SaleNotFound
from loyalty.models import MerchantMember, PointsPayment, Sale


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
