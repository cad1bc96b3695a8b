"""Vouchers: issuing (batches, points purchases), redemption at the till and on bills, reversal.

Stock is a conditional decrement (`stock_left >= n`, CHECK ≥ 0); the per-member limit is a sequence
number per (benefit, member) that is unique and checked against the limit in the database; a
redemption flips the voucher `active → used` by a conditional update and stores the scanned token's
nonce in a unique column, so each token works once however many copies arrive together.
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
from app.core.auth.tokens import Principal
from app.core.config import get_settings
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
    MerchantNotFound,
    RedemptionAlreadyReversed,
    RedemptionNotFound,
    ReferenceConflict,
    ReversalWindowClosed,
    VoucherExpired,
    VoucherMinimumSpend,
    VoucherNotFound,
    VoucherNotValidHere,
    VoucherNotYetValid,
    VoucherRevoked,
    VoucherTokenUsed,
    VoucherUsed,
)
from loyalty.ledger import postings as ledger
from loyalty.ledger.postings import SpendPurpose
from loyalty.members import pool as members
from loyalty.models import (
    AccountKind,
    Benefit,
    BenefitKind,
    BenefitMerchant,
    BenefitStatus,
    Eligibility,
    Funder,
    Member,
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
    check_fen,
    terms_from_row,
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


def validity(benefit: Benefit, issued_at: datetime) -> tuple[datetime, datetime]:
    """A new voucher's [from, until): the benefit's window, or N whole business days from issue."""
    if benefit.valid_days is not None:
        last_day = business_day(issued_at) + timedelta(days=benefit.valid_days)
        end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=BUSINESS_TZ)
        return issued_at, end
    assert benefit.valid_until is not None
    return benefit.valid_from or issued_at, benefit.valid_until


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


def check_unused(voucher: Voucher) -> None:
    """409 unless the voucher is still active: `voucher.used`, or `voucher.revoked` once taken back."""
    if voucher.status == VoucherStatus.USED:
        raise VoucherUsed("the voucher was already redeemed")
    if voucher.status == VoucherStatus.REVOKED:
        raise VoucherRevoked("the voucher was taken back: the purchase that earned it was refunded")


async def revoke_voucher(voucher_id: int) -> bool:
    """Take back an unused voucher (its purchase was refunded); False when it was used or revoked already."""
    return bool(
        await Voucher.filter(id=voucher_id, status=VoucherStatus.ACTIVE).update(status=VoucherStatus.REVOKED)
    )


def _check_validity(voucher: Voucher, now: datetime) -> None:
    if voucher.valid_until <= now:
        raise VoucherExpired("the voucher has expired")
    if voucher.valid_from > now:
        raise VoucherNotYetValid("the voucher is not valid yet")


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
            _check_validity(voucher, now)
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
        await _reverse(redemption, now)
    return await VoucherRedemption.get(id=redemption.id)


async def _reverse(redemption: VoucherRedemption, now: datetime) -> None:
    changed = await VoucherRedemption.filter(id=redemption.id, status=RedemptionStatus.REDEEMED).update(
        status=RedemptionStatus.REVERSED, reversed_at=now
    )
    if not changed:
        raise RedemptionAlreadyReversed("the redemption was reversed already")
    await Voucher.filter(id=redemption.voucher_id, status=VoucherStatus.USED).update(
        status=VoucherStatus.ACTIVE, used_at=None
    )


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
    _check_validity(voucher, now)
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
            await _reverse(redemption, utcnow())
    except RedemptionAlreadyReversed:
        return _bill_result(await VoucherRedemption.get(id=redemption.id), replayed=True)
    return _bill_result(await VoucherRedemption.get(id=redemption.id), replayed=False)
