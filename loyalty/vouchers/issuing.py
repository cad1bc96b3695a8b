"""Issuing vouchers: batches (retry-safe, stock and per-member limit in the database), points purchases,
what a campaign checks before handing a benefit out, tallies, revocation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.functions import Max

from app.core import sql
from app.core.db import db, dialect, transaction
from app.core.errors import InvalidField
from app.core.idempotency import current_reference
from app.core.timeutil import BUSINESS_TZ, business_day, utcnow
from loyalty.errors import (
    BenefitLimitReached,
    BenefitNotFound,
    BenefitSoldOut,
    BenefitUnavailable,
    MemberNotFound,
)
from loyalty.ledger import postings as ledger
from loyalty.ledger.postings import SpendPurpose
from loyalty.members import pool as members
from loyalty.models import (
    AccountKind,
    Benefit,
    BenefitStatus,
    Eligibility,
    Member,
    Voucher,
    VoucherStatus,
)
from loyalty.vouchers.benefits import catalogue, served_by_active_merchants

ISSUE_ATTEMPTS = 5


MAX_BATCH = 1000


class IssueOutcome(StrEnum):
    """What happened to one grant of a batch."""

    ISSUED = "issued"
    ALREADY_ISSUED = "already_issued"
    LIMIT_REACHED = "limit_reached"


@dataclass(frozen=True)
class VoucherGrant:
    """Issue one voucher to `member_id`; `reference` is unique per intended voucher (retry-safe)."""

    member_id: int
    reference: str


@dataclass(frozen=True)
class IssuedVoucher:
    """The outcome of one grant."""

    member_id: int
    reference: str
    outcome: IssueOutcome
    voucher_id: int | None


def validity(benefit: Benefit, issued_at: datetime) -> tuple[datetime, datetime]:
    """A new voucher's [from, until): the benefit's window, or N whole business days from issue."""
    if benefit.valid_days is not None:
        last_day = business_day(issued_at) + timedelta(days=benefit.valid_days)
        end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=BUSINESS_TZ)
        return issued_at, end
    assert benefit.valid_until is not None
    return benefit.valid_from or issued_at, benefit.valid_until


def _check_grants(grants: Sequence[VoucherGrant]) -> None:
    if len(grants) > MAX_BATCH:
        raise InvalidField("grants", f"at most {MAX_BATCH} per batch")
    references = [g.reference for g in grants]
    if len(set(references)) != len(references):
        raise InvalidField("grants", "references must be unique within a batch")
    if any(not r or len(r) > ledger.MAX_REFERENCE for r in references):
        raise InvalidField("grants", f"references must be 1-{ledger.MAX_REFERENCE} characters")


async def issue_vouchers(
    benefit_id: int,
    grants: Sequence[VoucherGrant],
    *,
    source: str = "campaign",
    journal_id: int | None = None,
) -> list[IssuedVoucher]:
    """Issue one voucher per grant (see docs/loyalty.md): retry-safe, all-or-nothing on stock."""
    _check_grants(grants)
    if not grants:
        return []
    member_ids = {g.member_id for g in grants}
    if await Member.filter(id__in=member_ids).count() != len(member_ids):
        raise MemberNotFound("a grant names a member that does not exist")
    for attempt in range(ISSUE_ATTEMPTS):
        try:
            async with transaction():
                return await _issue(benefit_id, grants, source, journal_id)
        except IntegrityError:  # a concurrent issue to the same member took the same sequence number
            if attempt == ISSUE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _issue(
    benefit_id: int, grants: Sequence[VoucherGrant], source: str, journal_id: int | None
) -> list[IssuedVoucher]:
    now = utcnow()
    benefit = await Benefit.get_or_none(id=benefit_id)
    if benefit is None:
        raise BenefitNotFound("benefit not found")
    if benefit.status != BenefitStatus.ACTIVE or (benefit.valid_until and benefit.valid_until <= now):
        raise BenefitUnavailable("the benefit is not active")
    tied_to_merchants = benefit.funder_merchant_id is not None or benefit.eligibility == Eligibility.LIST
    if tied_to_merchants and not await Benefit.filter(served_by_active_merchants(), id=benefit_id).exists():
        raise BenefitUnavailable("the benefit's merchant is not active in the alliance")
    existing = {
        v.source_reference: v
        for v in await Voucher.filter(source_reference__in=[g.reference for g in grants])
    }
    held = {
        int(row["member_id"]): int(row["top"])
        for row in await Voucher.filter(benefit_id=benefit_id, member_id__in={g.member_id for g in grants})
        .annotate(top=Max("seq"))
        .group_by("member_id")
        .values("member_id", "top")
    }
    valid_from, valid_until = validity(benefit, now)
    outcomes: list[IssuedVoucher] = []
    fresh: list[Voucher] = []
    for grant in grants:
        if grant.reference in existing:
            found = existing[grant.reference]
            outcomes.append(
                IssuedVoucher(grant.member_id, grant.reference, IssueOutcome.ALREADY_ISSUED, found.id)
            )
            continue
        seq = held.get(grant.member_id, 0) + 1
        if seq > benefit.per_member_limit:
            outcomes.append(IssuedVoucher(grant.member_id, grant.reference, IssueOutcome.LIMIT_REACHED, None))
            continue
        held[grant.member_id] = seq
        fresh.append(
            Voucher(
                benefit_id=benefit_id,
                member_id=grant.member_id,
                seq=seq,
                member_limit=benefit.per_member_limit,
                source=source,
                source_reference=grant.reference,
                journal_id=journal_id,
                valid_from=valid_from,
                valid_until=valid_until,
            )
        )
        outcomes.append(IssuedVoucher(grant.member_id, grant.reference, IssueOutcome.ISSUED, None))
    if fresh and benefit.stock_left is not None:
        taken = await Benefit.filter(id=benefit_id, stock_left__gte=len(fresh)).update(
            stock_left=F("stock_left") - len(fresh)
        )
        if not taken:
            raise BenefitSoldOut("not enough stock left for this batch")
    if fresh:
        # Ordered by the unique (benefit, member, seq): concurrent batches lock in one order, never a cycle.
        ids = await _insert_vouchers(sorted(fresh, key=lambda v: (v.member_id, v.seq)), now)
        outcomes = [
            IssuedVoucher(o.member_id, o.reference, o.outcome, ids[o.reference])
            if o.outcome == IssueOutcome.ISSUED
            else o
            for o in outcomes
        ]
    return outcomes


_UNNEST_VOUCHERS = (  # PostgreSQL: one array per column, so a batch of any size is one statement
    "INSERT INTO loyalty_voucher (benefit_id, member_id, seq, member_limit, source, source_reference,"
    " journal_id, status, valid_from, valid_until, issued_at) SELECT * FROM unnest("
    "$1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::varchar[], $6::varchar[], $7::bigint[],"
    " $8::varchar[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[])"
    " RETURNING id, source_reference"
)


async def _insert_vouchers(fresh: list[Voucher], now: datetime) -> dict[str, int]:
    """Insert new vouchers in one round trip; reference → voucher id."""
    if dialect() != "postgres":
        await Voucher.bulk_create(fresh)
        return {
            v.source_reference: v.id
            for v in await Voucher.filter(source_reference__in=[v.source_reference for v in fresh])
        }
    columns: list[list[object]] = [
        [v.benefit_id for v in fresh],
        [v.member_id for v in fresh],
        [v.seq for v in fresh],
        [v.member_limit for v in fresh],
        [v.source for v in fresh],
        [v.source_reference for v in fresh],
        [v.journal_id for v in fresh],
        [VoucherStatus.ACTIVE.value] * len(fresh),
        [v.valid_from for v in fresh],
        [v.valid_until for v in fresh],
        [now] * len(fresh),
    ]
    rows = await db().execute_query_dict(_UNNEST_VOUCHERS, columns)
    return {str(row["source_reference"]): int(row["id"]) for row in rows}


async def member_vouchers_by_reference(member_id: int, references: Sequence[str]) -> dict[str, int]:
    """The member's vouchers issued for these source references (a campaign's tickets): reference -> id."""
    if not references:
        return {}
    found = await Voucher.filter(member_id=member_id, source_reference__in=list(references)).values_list(
        "source_reference", "id"
    )
    return {str(reference): int(voucher_id) for reference, voucher_id in found}


@dataclass(frozen=True)
class BenefitTerms:
    """What a campaign needs to know of the benefit it hands out."""

    benefit_id: int
    name: str
    active: bool
    stock_left: int | None
    per_member_limit: int
    valid_until: datetime | None


async def benefit_terms(benefit_id: int) -> BenefitTerms | None:
    """The issuing terms of a benefit (None when it does not exist)."""
    benefit = await Benefit.get_or_none(id=benefit_id)
    if benefit is None:
        return None
    return BenefitTerms(
        benefit_id=benefit.id,
        name=benefit.name,
        active=benefit.status == BenefitStatus.ACTIVE,
        stock_left=None if benefit.stock_left is None else int(benefit.stock_left),
        per_member_limit=int(benefit.per_member_limit),
        valid_until=benefit.valid_until,
    )


@dataclass(frozen=True)
class VoucherTally:
    """Vouchers issued under a reference prefix, how many were redeemed and what redeeming them cost."""

    issued: int
    redeemed: int
    discount_fen: int
    by_merchant: dict[int, tuple[int, int]]
    first_issued: dict[int, datetime]


async def voucher_tally(source: str, reference_prefixes: Sequence[str]) -> VoucherTally:
    """Vouchers of `source` whose reference starts with one of the prefixes: issued, redeemed (standing
    redemptions), the discount given, redemptions and discount per redeeming merchant, and each
    holder's first voucher."""
    if not reference_prefixes:
        return VoucherTally(0, 0, 0, {}, {})
    likes = " OR ".join(f"v.source_reference LIKE ${i + 2}" for i in range(len(reference_prefixes)))
    args = [source, *(prefix + "%" for prefix in reference_prefixes)]  # our own prefixes: no wildcards
    issued = await sql.rows(
        f"SELECT COUNT(*) AS n FROM loyalty_voucher v WHERE v.source = $1 AND ({likes})",  # noqa: S608
        *args,
    )
    redeemed = await sql.rows(
        "SELECT r.merchant_id, COUNT(*) AS n, COALESCE(SUM(r.discount_fen), 0) AS fen"  # noqa: S608
        " FROM loyalty_voucher v JOIN loyalty_voucher_redemption r ON r.voucher_id = v.id"
        f" WHERE v.source = $1 AND ({likes}) AND r.status = 'redeemed' GROUP BY r.merchant_id",
        *args,
    )
    by_merchant = {
        int(row["merchant_id"]): (int(row["n"]), int(row["fen"]))
        for row in redeemed
        if row["merchant_id"] is not None
    }
    first = await sql.rows(
        "SELECT v.member_id, MIN(v.issued_at) AS first FROM loyalty_voucher v"  # noqa: S608
        f" WHERE v.source = $1 AND ({likes}) GROUP BY v.member_id",
        *args,
    )
    return VoucherTally(
        first_issued={int(row["member_id"]): sql.instant(row["first"]) for row in first},
        issued=int(issued[0]["n"]),
        redeemed=sum(int(row["n"]) for row in redeemed),
        discount_fen=sum(int(row["fen"]) for row in redeemed),
        by_merchant=by_merchant,
    )


async def buy_with_points(member_id: int, benefit_id: int) -> Voucher:
    """A member redeems points for a benefit of the catalogue (price > 0): points spent, voucher issued."""
    await members.joined_member(member_id)
    benefit = await catalogue().get_or_none(id=benefit_id)
    if benefit is None:  # not (or no longer) in the catalogue, e.g. its merchant was suspended
        raise BenefitNotFound("benefit not found")
    reference = f"benefit:{member_id}:{current_reference() or uuid.uuid4().hex}"[: ledger.MAX_REFERENCE]
    async with transaction():
        posting = await ledger.post_spend(
            member_id,
            int(benefit.price_points),
            source=SpendPurpose.BENEFIT,
            reference=reference,
            counterpart=(AccountKind.REDEMPTION, 0),
            memo=benefit.name,
        )
        if posting.replayed:
            return await Voucher.get(journal_id=posting.journal_id)
        [issued] = await issue_vouchers(
            benefit_id,
            [VoucherGrant(member_id, f"points:{posting.journal_id}")],
            source="points",
            journal_id=posting.journal_id,
        )
        if issued.outcome == IssueOutcome.LIMIT_REACHED:
            raise BenefitLimitReached(f"at most {benefit.per_member_limit} per member")
        assert issued.voucher_id is not None
        return await Voucher.get(id=issued.voucher_id)


async def revoke_voucher(voucher_id: int) -> bool:
    """Take back an unused voucher (its purchase was refunded); False when it was used or revoked already."""
    return bool(
        await Voucher.filter(id=voucher_id, status=VoucherStatus.ACTIVE).update(status=VoucherStatus.REVOKED)
    )
