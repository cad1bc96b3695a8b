"""Loyalty's figures on the grid dashboard (`merchants.grids.register_metric_provider`).

Per merchant: members known to it, sales recorded (count and fen, refunds excluded), points issued on
those sales, points paid at its till (reversals excluded), vouchers redeemed there (reversals excluded)
and its last loyalty activity. One grouped query per table over the page's merchant ids, each served by
a `(merchant_id, …)` index. The merchant's `last_activity_at` column, which the inactivity flag reads,
is moved on by every scan, sale and redemption (`merchants.grids.record_activity`).
"""

from __future__ import annotations

from tortoise.functions import Count, Max, Sum

from app.core.sql import instant
from loyalty.models import (
    MerchantMember,
    PaymentStatus,
    PointsPayment,
    RedemptionStatus,
    Sale,
    SaleStatus,
    VoucherRedemption,
)
from merchants import grids

FIGURES = (
    "members_joined",
    "sales_count",
    "sales_fen",
    "points_issued",
    "points_redeemed",
    "vouchers_redeemed",
    "last_activity_ts",
)


async def merchant_figures(merchant_ids: list[int]) -> dict[int, dict[str, int]]:
    """Loyalty's figures for each merchant (0 when it has none; `last_activity_ts` in Unix seconds)."""
    out = {m: dict.fromkeys(FIGURES, 0) for m in merchant_ids}
    if not merchant_ids:
        return out
    for row in (
        await MerchantMember.filter(merchant_id__in=merchant_ids)
        .annotate(n=Count("id"), seen=Max("last_seen_at"))
        .group_by("merchant_id")
        .values("merchant_id", "n", "seen")
    ):
        figures = out[int(row["merchant_id"])]
        figures["members_joined"] = int(row["n"])
        if row["seen"] is not None:
            figures["last_activity_ts"] = int(instant(row["seen"]).timestamp())
    for row in (
        await Sale.filter(merchant_id__in=merchant_ids, status=SaleStatus.COMPLETED)
        .annotate(n=Count("id"), fen=Sum("amount_fen"), points=Sum("points"))
        .group_by("merchant_id")
        .values("merchant_id", "n", "fen", "points")
    ):
        figures = out[int(row["merchant_id"])]
        figures["sales_count"] = int(row["n"])
        figures["sales_fen"] = int(row["fen"] or 0)
        figures["points_issued"] = int(row["points"] or 0)
    for row in (
        await PointsPayment.filter(merchant_id__in=merchant_ids, status=PaymentStatus.PAID)
        .annotate(points=Sum("points"))
        .group_by("merchant_id")
        .values("merchant_id", "points")
    ):
        out[int(row["merchant_id"])]["points_redeemed"] = int(row["points"] or 0)
    for row in (
        await VoucherRedemption.filter(merchant_id__in=merchant_ids, status=RedemptionStatus.REDEEMED)
        .annotate(n=Count("id"))
        .group_by("merchant_id")
        .values("merchant_id", "n")
    ):
        out[int(row["merchant_id"])]["vouchers_redeemed"] = int(row["n"])
    return out


def install() -> None:
    """Register loyalty's figures with the grid dashboard (called once per process by `app.wiring`)."""
    grids.register_metric_provider(merchant_figures)
