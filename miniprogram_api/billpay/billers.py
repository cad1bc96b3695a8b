"""Billers: ops configure them (type, region, adapter, fee rule); members see the active ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from tortoise.exceptions import IntegrityError

from app.core import audit
from app.core.auth.tokens import Principal
from app.core.config import get_settings
from app.core.db import transaction
from app.core.errors import InvalidField
from miniprogram_api.billpay import repository
from miniprogram_api.billpay.adapters import BILLER_ADAPTERS, validate_adapter_config
from miniprogram_api.billpay.errors import BillerCodeTaken
from miniprogram_api.billpay.models import Biller, BillerType
from miniprogram_api.billpay.schemas import BillerIn, BillerOpsOut, BillerOut, BillerPatch

# Phone top-up amounts a member may choose, in fen (10 to 500 yuan).
TOPUP_AMOUNTS: tuple[int, ...] = (1_000, 2_000, 3_000, 5_000, 10_000, 20_000, 30_000, 50_000)


@dataclass(frozen=True)
class Quote:
    """What paying `amount` at a biller costs the member."""

    amount: int
    fee: int
    discount: int

    @property
    def total(self) -> int:
        """What the bank debits."""
        return self.amount + self.fee - self.discount


def quote(biller: Biller, amount: int, discount: int = 0) -> Quote:
    """The fee rule applied to an amount (fixed part plus basis points, rounded half up, capped), less a
    voucher's `discount` on the amount (the fee is charged on the full amount)."""
    fee = biller.fee_fixed + (amount * biller.fee_rate_bp + 5_000) // 10_000
    if biller.fee_cap is not None:
        fee = min(fee, biller.fee_cap)
    return Quote(amount=amount, fee=fee, discount=min(discount, amount))


def points_for(biller: Biller, amount: int, discount: int) -> int:
    """Loyalty points a succeeded order earns: `earn_rate` per 100 yuan of amount less discount, floored."""
    points = (amount - discount) * biller.earn_rate // 10_000
    return max(0, min(points, get_settings().points_max_per_posting))


def topup_amounts(biller: Biller) -> list[int] | None:
    """The choosable amounts of a phone top-up biller (None for bills with an amount due)."""
    return list(TOPUP_AMOUNTS) if biller.type is BillerType.PHONE_TOPUP else None


def biller_out(biller: Biller) -> BillerOut:
    """A biller as members see it."""
    return BillerOut(
        id=biller.id,
        type=biller.type,
        name=biller.name,
        region=biller.region,
        fee_fixed=biller.fee_fixed,
        fee_rate_bp=biller.fee_rate_bp,
        fee_cap=biller.fee_cap,
        earn_rate=biller.earn_rate,
        topup_amounts=topup_amounts(biller),
    )


def biller_ops_out(biller: Biller) -> BillerOpsOut:
    """A biller with its configuration (ops)."""
    return BillerOpsOut(
        **biller_out(biller).model_dump(),
        code=biller.code,
        adapter=biller.adapter,
        adapter_config=biller.adapter_config,
        is_active=biller.is_active,
        created_at=biller.created_at,
        updated_at=biller.updated_at,
    )


def _checked_config(adapter: str, config: dict[str, Any]) -> dict[str, Any]:
    if adapter not in BILLER_ADAPTERS:
        raise InvalidField("adapter", f"unknown adapter; known: {', '.join(sorted(BILLER_ADAPTERS))}")
    try:
        return validate_adapter_config(adapter, config)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidField("adapter_config", problems) from None


def _snapshot(biller: Biller) -> dict[str, Any]:
    return biller_ops_out(biller).model_dump(mode="json", exclude={"created_at", "updated_at"})


async def create_biller(operator: Principal, body: BillerIn) -> Biller:
    """Configure a new biller."""
    config = _checked_config(body.adapter, body.adapter_config)
    try:
        async with transaction():
            biller = await Biller.create(**body.model_dump(exclude={"adapter_config"}), adapter_config=config)
            await audit.record(
                operator, "billpay.biller_create", "biller", biller.id, after=_snapshot(biller)
            )
    except IntegrityError:
        raise BillerCodeTaken(f"biller code {body.code} is taken") from None
    return biller


async def update_biller(operator: Principal, biller_id: int, patch: BillerPatch) -> Biller:
    """Change a biller's name, region, adapter settings, fee rule or status."""
    changes = patch.model_dump(exclude_unset=True)
    async with transaction():
        biller = await repository.any_biller(biller_id)
        before = _snapshot(biller)
        if "adapter_config" in changes:
            changes["adapter_config"] = _checked_config(biller.adapter, changes["adapter_config"] or {})
        for name in ("name", "region", "fee_fixed", "fee_rate_bp", "earn_rate", "is_active"):
            if changes.get(name, ...) is None:
                raise InvalidField(name, "may not be null")
        biller.update_from_dict(changes)
        await biller.save()
        await audit.record(
            operator, "billpay.biller_update", "biller", biller.id, before=before, after=_snapshot(biller)
        )
    return biller
