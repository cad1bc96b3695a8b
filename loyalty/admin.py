"""Ops actions on loyalty: merchants' terms and points corrections, each audited."""

from __future__ import annotations

import uuid
from datetime import date

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from app.core import audit
from app.core.auth.deps import OperatorRole
from app.core.auth.tokens import Principal
from app.core.config import get_settings
from app.core.db import transaction
from app.core.errors import InvalidField
from app.core.idempotency import current_reference
from app.core.jobs import enqueue
from app.core.timeutil import business_day
from loyalty.ledger import balances as points
from loyalty.ledger import postings as ledger
from loyalty.ledger.postings import EarnSource, Posting
from loyalty.members import pool as members
from loyalty.members import segments
from loyalty.models import AccountKind, Member, MemberTag, MerchantProgram, Tier
from loyalty.schemas import OpsMemberOut, ProgramOut
from loyalty.settlement.tasks import build_settlement
from loyalty.till import sales
from loyalty.vouchers import issuing as vouchers
from loyalty.vouchers.issuing import IssuedVoucher, IssueOutcome, VoucherGrant
from merchants.grids import check_merchant_in_scope
from merchants.models import Category


async def terms_out(merchant_id: int) -> ProgramOut:
    """A merchant's terms in force (404 `merchant.not_found`)."""
    terms = await sales.merchant_terms(merchant_id)
    settings = get_settings()
    program = await MerchantProgram.get_or_none(merchant_id=merchant_id)
    category = Category(terms.category) if terms.category else None
    return ProgramOut.of(merchant_id, program, settings.earn_rate_default, settings.point_value_fen, category)


# Roles that read every merchant's terms; a grid manager without one reads its grids' merchants only.
_READ_EVERY_MERCHANTS_TERMS = frozenset(
    {OperatorRole.ADMIN.value, OperatorRole.CAMPAIGN_MANAGER.value, OperatorRole.AUDITOR.value}
)


async def terms_for_ops(operator: Principal, merchant_id: int) -> ProgramOut:
    """A merchant's terms for ops (404 `merchant.not_found` for a merchant outside a grid manager's grids)."""
    if not _READ_EVERY_MERCHANTS_TERMS & set(operator.roles):
        await check_merchant_in_scope(operator, merchant_id)
    return await terms_out(merchant_id)


async def set_terms(operator: Principal, merchant_id: int, earn_rate: int, point_value_fen: int) -> None:
    """Create or change a merchant's loyalty terms (a grid manager: only for its grids' merchants)."""
    await check_merchant_in_scope(operator, merchant_id)
    await sales.merchant_terms(merchant_id)
    async with transaction():
        before = await MerchantProgram.get_or_none(merchant_id=merchant_id)
        after = {"earn_rate": earn_rate, "point_value_fen": point_value_fen}
        if before is None:
            await MerchantProgram.create(
                merchant_id=merchant_id,
                earn_rate=earn_rate,
                point_value_fen=point_value_fen,
            )
        else:
            await MerchantProgram.filter(merchant_id=merchant_id).update(
                earn_rate=earn_rate, point_value_fen=point_value_fen
            )
        await audit.record(
            operator,
            "loyalty.terms.set",
            "merchant",
            merchant_id,
            before=None
            if before is None
            else {
                "earn_rate": before.earn_rate,
                "point_value_fen": before.point_value_fen,
            },
            after=after,
        )


async def grant_points(operator: Principal, member_id: int, points: int, reason: str) -> Posting:
    """Credit points from the bank's pool to a member."""
    ledger.check_points(points)
    await members.get_member(member_id)
    reference = f"ops:{operator.id}:{current_reference() or uuid.uuid4().hex}"[:191]
    async with transaction():
        posting = await ledger.post_earn(
            member_id,
            points,
            source=EarnSource.OPS_GRANT,
            reference=reference,
            funding=[(AccountKind.POOL, 0, points)],
            memo=reason,
        )
        if not posting.replayed:
            await audit.record(
                operator, "points.grant", "member", member_id, after={"points": points, "reason": reason}
            )
    return posting


async def reverse(operator: Principal, reference: str, reason: str) -> Posting:
    """Reverse a journal by its reference."""
    async with transaction():
        posting = await ledger.reverse(reference, memo=reason)
        if not posting.replayed:
            await audit.record(
                operator,
                "points.reverse",
                "journal",
                posting.journal_id,
                after={"reverses": reference, "points": posting.points, "reason": reason},
            )
    return posting


async def grant_vouchers(
    operator: Principal, benefit_id: int, member_ids: list[int], reason: str
) -> list[IssuedVoucher]:
    """Give one voucher of a benefit to each member (a retried request gives nothing twice)."""
    batch = current_reference() or uuid.uuid4().hex
    grants = [VoucherGrant(m, f"ops:{batch}:{m}"[:191]) for m in dict.fromkeys(member_ids)]
    async with transaction():
        issued = await vouchers.issue_vouchers(benefit_id, grants, source="ops")
        await audit.record(
            operator,
            "benefit.grant",
            "benefit",
            benefit_id,
            after={
                "members": len(grants),
                "issued": sum(i.outcome == IssueOutcome.ISSUED for i in issued),
                "reason": reason,
            },
        )
    return issued


async def queue_settlement(operator: Principal, day: date) -> None:
    """Queue building a business day's statements (the day must have ended)."""
    if day >= business_day():
        raise InvalidField("day", "settlement runs for days that have ended")
    async with transaction():
        await enqueue(build_settlement, day.isoformat())
        await audit.record(operator, "settlement.run", "settlement_day", day.isoformat())


def members_query(tier: Tier | None, tag: str | None) -> QuerySet[Member]:
    """Members filtered by tier and tag, for ops."""
    queryset = Member.all()
    if tier is not None:
        queryset = queryset.filter(tier=tier)
    if tag:
        queryset = queryset.filter(id__in=Subquery(MemberTag.filter(tag=tag).values("member_id")))
    return queryset


async def member_out(member: Member) -> OpsMemberOut:
    """A member as ops see them."""
    found = await segments.member_segments(member.id)
    return OpsMemberOut(
        id=member.id,
        nickname=member.nickname,
        phone=members.member_phone(member),
        tier=member.tier,
        tags=sorted(found.tags),
        home_grid_id=member.home_grid_id,
        balance=await points.balance(member.id),
        joined_at=member.joined_at,
        share_profile=member.share_profile,
        marketing=member.marketing,
        created_at=member.created_at,
        last_active_at=member.last_active_at,
    )
