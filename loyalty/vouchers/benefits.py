"""The benefits catalogue: ops create and run benefits, merchants propose their own for approval."""

from __future__ import annotations

from tortoise.expressions import F, Q, Subquery
from tortoise.queryset import QuerySet

from app.core import audit
from app.core.auth.tokens import Principal
from app.core.db import transaction
from app.core.errors import InvalidField
from app.core.timeutil import utcnow
from loyalty.errors import BenefitInvalidTransition, BenefitNotFound
from loyalty.models import (
    Benefit,
    BenefitKind,
    BenefitMerchant,
    BenefitStatus,
    Eligibility,
    Funder,
)
from loyalty.schemas import (
    BenefitIn,
    BenefitOut,
    BenefitPatch,
    BenefitProposalIn,
    BenefitTerms,
)
from merchants.models import Merchant, MerchantStatus

TRANSITIONS: dict[str, tuple[frozenset[BenefitStatus], BenefitStatus]] = {
    "publish": (frozenset({BenefitStatus.DRAFT}), BenefitStatus.ACTIVE),
    "approve": (frozenset({BenefitStatus.PENDING_REVIEW}), BenefitStatus.ACTIVE),
    "reject": (frozenset({BenefitStatus.PENDING_REVIEW}), BenefitStatus.REJECTED),
    "pause": (frozenset({BenefitStatus.ACTIVE}), BenefitStatus.PAUSED),
    "resume": (frozenset({BenefitStatus.PAUSED}), BenefitStatus.ACTIVE),
    "end": (frozenset({BenefitStatus.ACTIVE, BenefitStatus.PAUSED}), BenefitStatus.ENDED),
}


def _check_terms(terms: BenefitTerms) -> None:
    if terms.kind == BenefitKind.CASH and terms.face_value_fen < 1:
        raise InvalidField("face_value_fen", "a cash voucher takes at least 1 fen off")
    if terms.kind == BenefitKind.DISCOUNT and terms.discount_percent is None:
        raise InvalidField("discount_percent", "a discount voucher needs a percentage")
    if terms.kind != BenefitKind.DISCOUNT and (terms.discount_percent or terms.discount_cap_fen):
        raise InvalidField("discount_percent", "only discount vouchers take a percentage or a cap")
    if terms.kind == BenefitKind.DISCOUNT and terms.face_value_fen:
        raise InvalidField("face_value_fen", "a discount voucher has no face value")
    if (terms.valid_days is None) == (terms.valid_until is None):
        raise InvalidField("valid_until", "give either a fixed window end or valid_days")
    if terms.valid_days is not None and terms.valid_from is not None:
        raise InvalidField("valid_from", "a window start only goes with a fixed window")
    if terms.valid_until is not None:
        if terms.valid_until.tzinfo is None:
            raise InvalidField("valid_until", "needs a time zone")
        if terms.valid_until <= utcnow():
            raise InvalidField("valid_until", "must be in the future")
        if terms.valid_from is not None and terms.valid_from >= terms.valid_until:
            raise InvalidField("valid_from", "must be before valid_until")


async def _check_eligibility(body: BenefitIn) -> list[int]:
    if body.funder == Funder.MERCHANT:
        if body.funder_merchant_id is None:
            raise InvalidField("funder_merchant_id", "a merchant-funded benefit names its merchant")
        if body.eligibility != Eligibility.LIST or set(body.merchant_ids) - {body.funder_merchant_id}:
            raise InvalidField("eligibility", "a merchant-funded benefit is redeemable at its merchant only")
        return await _existing_merchants([body.funder_merchant_id], "funder_merchant_id")
    if body.funder_merchant_id is not None:
        raise InvalidField("funder_merchant_id", "only merchant-funded benefits name a merchant")
    if body.eligibility == Eligibility.CATEGORY:
        if not body.categories:
            raise InvalidField("categories", "name one or more merchant categories like `catering`")
    elif body.categories:
        raise InvalidField("categories", "categories only go with eligibility category")
    if body.eligibility == Eligibility.LIST:
        if not body.merchant_ids:
            raise InvalidField("merchant_ids", "name one or more merchants")
        return await _existing_merchants(body.merchant_ids, "merchant_ids")
    if body.merchant_ids:
        raise InvalidField("merchant_ids", "merchants only go with eligibility list")
    if body.eligibility == Eligibility.BILL_PAYMENT and body.kind == BenefitKind.GIFT:
        raise InvalidField("kind", "a bill-payment voucher takes money off: cash or discount")
    return []


async def _existing_merchants(merchant_ids: list[int], field: str) -> list[int]:
    wanted = sorted(set(merchant_ids))
    found = await Merchant.filter(id__in=wanted).count()
    if found != len(wanted):
        raise InvalidField(field, "names a merchant that does not exist")
    return wanted


def _row(terms: BenefitTerms) -> dict[str, object]:
    return {
        "name": terms.name,
        "description": terms.description,
        "kind": terms.kind,
        "face_value_fen": terms.face_value_fen,
        "discount_percent": terms.discount_percent,
        "discount_cap_fen": terms.discount_cap_fen,
        "min_spend_fen": terms.min_spend_fen,
        "valid_from": terms.valid_from,
        "valid_until": terms.valid_until,
        "valid_days": terms.valid_days,
        "stock_total": terms.stock_total,
        "stock_left": terms.stock_total,
        "per_member_limit": terms.per_member_limit,
        "price_points": terms.price_points,
    }


async def _create(
    actor: Principal, row: dict[str, object], merchant_ids: list[int], status: BenefitStatus
) -> Benefit:
    async with transaction():
        benefit = Benefit(**row, status=status)
        await benefit.save()
        await BenefitMerchant.bulk_create(
            [BenefitMerchant(benefit_id=benefit.id, merchant_id=m) for m in merchant_ids]
        )
        await audit.record(
            actor,
            "benefit.create",
            "benefit",
            benefit.id,
            after={"status": status.value, "name": benefit.name},
        )
    return benefit


async def create_benefit(operator: Principal, body: BenefitIn) -> Benefit:
    """Ops add a benefit to the catalogue as a draft."""
    _check_terms(body)
    merchant_ids = await _check_eligibility(body)
    row = _row(body) | {
        "funder": body.funder,
        "funder_merchant_id": body.funder_merchant_id,
        "eligibility": body.eligibility,
        "categories": [c.value for c in dict.fromkeys(body.categories)],
    }
    return await _create(operator, row, merchant_ids, BenefitStatus.DRAFT)


async def propose_benefit(staff: Principal, body: BenefitProposalIn) -> Benefit:
    """A merchant proposes a benefit it funds, redeemable at its own store, for ops to review."""
    assert staff.merchant_id is not None
    _check_terms(body)
    row = _row(body) | {
        "funder": Funder.MERCHANT,
        "funder_merchant_id": staff.merchant_id,
        "eligibility": Eligibility.LIST,
        "categories": [],
    }
    return await _create(staff, row, [staff.merchant_id], BenefitStatus.PENDING_REVIEW)


async def get_benefit(benefit_id: int, *, merchant_id: int | None = None) -> Benefit:
    """A benefit (404 `benefit.not_found`); a merchant sees only the ones it funds."""
    queryset = Benefit.filter(id=benefit_id)
    if merchant_id is not None:
        queryset = queryset.filter(funder_merchant_id=merchant_id)
    benefit = await queryset.first()
    if benefit is None:
        raise BenefitNotFound("benefit not found")
    return benefit


async def benefit_out(benefit: Benefit) -> BenefitOut:
    """The full view of a benefit with its merchant list."""
    merchant_ids = [
        int(row["merchant_id"])
        for row in await BenefitMerchant.filter(benefit_id=benefit.id)
        .order_by("merchant_id")
        .values("merchant_id")
    ]
    return BenefitOut.of(benefit, merchant_ids)


async def update_benefit(operator: Principal, benefit_id: int, patch: BenefitPatch) -> Benefit:
    """Change texts or price, or add or remove stock (never below what is left)."""
    async with transaction():
        benefit = await get_benefit(benefit_id)
        changes = patch.model_dump(exclude_unset=True, exclude_none=True)
        delta = changes.pop("add_stock", 0)
        if changes:
            await Benefit.filter(id=benefit_id).update(**changes)
        if delta:
            if benefit.stock_total is None:
                raise InvalidField("add_stock", "this benefit has unlimited stock")
            moved = await Benefit.filter(id=benefit_id, stock_left__gte=max(0, -delta)).update(
                stock_total=F("stock_total") + delta, stock_left=F("stock_left") + delta
            )
            if not moved:
                raise InvalidField("add_stock", "cannot remove more stock than is left")
        await audit.record(
            operator, "benefit.update", "benefit", benefit_id, after=patch.model_dump(exclude_none=True)
        )
    return await get_benefit(benefit_id)


async def transition(operator: Principal, benefit_id: int, action: str, reason: str = "") -> Benefit:
    """Move a benefit through its lifecycle (409 `benefit.invalid_transition` from the wrong status)."""
    allowed, target = TRANSITIONS[action]
    async with transaction():
        benefit = await get_benefit(benefit_id)
        changes: dict[str, object] = {"status": target}
        if action == "reject":
            changes["reject_reason"] = reason
        moved = await Benefit.filter(id=benefit_id, status__in=list(allowed)).update(**changes)
        if not moved:
            raise BenefitInvalidTransition(f"cannot {action} a benefit that is {benefit.status.value}")
        await audit.record(
            operator,
            f"benefit.{action}",
            "benefit",
            benefit_id,
            before={"status": benefit.status.value},
            after={"status": target.value, **({"reason": reason} if reason else {})},
        )
    return await get_benefit(benefit_id)


def served_by_active_merchants() -> Q:
    """Benefits whose merchants trade: one a merchant funds only while that merchant is active, one
    scoped to a list of merchants only while one of them is (a suspended merchant's benefits vanish)."""
    listed_active = BenefitMerchant.filter(merchant__status=MerchantStatus.ACTIVE).values("benefit_id")
    return (Q(funder_merchant_id__isnull=True) | Q(funder_merchant__status=MerchantStatus.ACTIVE)) & (
        Q(eligibility__not=Eligibility.LIST) | Q(id__in=Subquery(listed_active))
    )


def catalogue() -> QuerySet[Benefit]:
    """Benefits members can redeem points for right now (none of a suspended merchant's)."""
    now = utcnow()
    return Benefit.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        served_by_active_merchants(),
        status=BenefitStatus.ACTIVE,
        price_points__gt=0,
    )


def of_merchant(merchant_id: int) -> QuerySet[Benefit]:
    """Benefits a merchant funds (its proposals)."""
    return Benefit.filter(funder_merchant_id=merchant_id)


def listing(status: BenefitStatus | None) -> QuerySet[Benefit]:
    """The catalogue as ops see it."""
    return Benefit.filter(status=status) if status else Benefit.all()
