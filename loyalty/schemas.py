"""Loyalty request and response bodies: members, points, sales and points payments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from app.core.crypto import mask_name
from app.core.inputs import MAX_INT64, Day, Id, Instant, Patch
from loyalty.ledger.balances import Expiring, Summary
from loyalty.members.pool import member_phone
from loyalty.models import (
    Benefit,
    BenefitKind,
    BenefitStatus,
    Broadcast,
    BroadcastStatus,
    Eligibility,
    Entry,
    Funder,
    LineKind,
    Member,
    MerchantMember,
    MerchantProgram,
    MessageDelivery,
    MessageKind,
    PointsPayment,
    Sale,
    StatementStatus,
    Tier,
    Voucher,
    VoucherRedemption,
    VoucherStatus,
)
from merchants.models import Category
from merchants.schemas import Lat, Lng

REFERENCE_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
CODE_FIELD = Field(min_length=1, max_length=160, description="the scanned QR payload")


class MemberOut(BaseModel):
    """The calling member's own profile (phone masked)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 42,
                "nickname": "Alice",
                "phone": "138****1234",
                "birthday": None,
                "tier": "silver",
                "joined_at": "2026-11-01T02:05:00Z",
                "home_grid_id": 3,
                "home_grid_changed_at": None,
                "share_profile": True,
                "marketing": False,
                "created_at": "2026-11-01T02:00:00Z",
            }
        }
    )

    id: int
    nickname: str
    phone: str | None = Field(description="masked, null until bound")
    birthday: date | None
    tier: Tier
    joined_at: datetime | None = Field(description="when the member joined the alliance, null if not yet")
    home_grid_id: int | None = Field(description="my home grid (campaigns limited to grids use it)")
    home_grid_changed_at: datetime | None = Field(description="when I last chose my home grid")
    share_profile: bool = Field(description="consent: merchants I visit may see my masked profile")
    marketing: bool = Field(description="consent: marketing messages")
    created_at: datetime

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        """Build from the table row."""
        return cls(
            id=member.id,
            nickname=member.nickname,
            phone=member_phone(member),
            birthday=member.birthday,
            tier=member.tier,
            joined_at=member.joined_at,
            home_grid_id=member.home_grid_id,
            home_grid_changed_at=member.home_grid_changed_at,
            share_profile=member.share_profile,
            marketing=member.marketing,
            created_at=member.created_at,
        )


class JoinIn(BaseModel):
    """Join the alliance and give (or not) the two consents."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"share_profile": True, "marketing": False, "lat": 31.2304, "lng": 121.4737}
        }
    )

    share_profile: StrictBool = Field(description="merchants I visit may see my masked profile")
    marketing: StrictBool = Field(False, description="I accept marketing messages")
    lat: float | None = Lat(None, "where I am: my home grid is the grid covering it (if I have none)")
    lng: float | None = Lng(None)


class HomeGridIn(BaseModel):
    """The grid I live in or bank at: campaigns limited to grids admit me by it."""

    model_config = ConfigDict(json_schema_extra={"example": {"grid_id": 3}})

    grid_id: Id


class ConsentsIn(BaseModel):
    """Change one or both consents."""

    model_config = ConfigDict(json_schema_extra={"example": {"share_profile": False}})

    share_profile: StrictBool | None = None
    marketing: StrictBool | None = None


class ProfileIn(Patch):
    """Editable profile fields."""

    model_config = ConfigDict(json_schema_extra={"example": {"nickname": "Alice", "birthday": "1990-05-17"}})

    nickname: str | None = Field(None, min_length=1, max_length=64)
    birthday: Day | None = None


class PhoneBindIn(BaseModel):
    """A phone-number code from the mini-program's getPhoneNumber button (never the number itself)."""

    model_config = ConfigDict(json_schema_extra={"example": {"code": "dev:13800138000"}})

    code: str = Field(min_length=1, max_length=128)


class MemberCodeOut(BaseModel):
    """The member's dynamic QR code for the till."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"code": "LM1.42.1795000000.x9Kc2aQ1bZ0p.5mW…", "expires_at": "…"}}
    )

    code: str
    expires_at: datetime


class ExpiringOut(BaseModel):
    """Points that expire at the end of `last_day` (Asia/Shanghai)."""

    model_config = ConfigDict(json_schema_extra={"example": {"last_day": "2027-03-31", "points": 120}})

    last_day: date
    points: int

    @classmethod
    def of(cls, item: Expiring) -> ExpiringOut:
        """Build from the service value."""
        return cls(last_day=item.last_day, points=item.points)


class PointsSummaryOut(BaseModel):
    """Balance, tier and the next points to expire."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "balance": 1520,
                "tier": "regular",
                "earned_12_months": 1800,
                "next_tier": "silver",
                "points_to_next_tier": 200,
                "next_expiry": {"last_day": "2027-03-31", "points": 120},
            }
        }
    )

    balance: int
    tier: Tier
    earned_12_months: int = Field(description="points earned in the trailing 12 months (decides the tier)")
    next_tier: Tier | None
    points_to_next_tier: int | None
    next_expiry: ExpiringOut | None

    @classmethod
    def of(cls, value: Summary) -> PointsSummaryOut:
        """Build from the service value."""
        return cls(
            balance=value.balance,
            tier=value.tier,
            earned_12_months=value.earned_12_months,
            next_tier=value.next_tier,
            points_to_next_tier=value.points_to_next_tier,
            next_expiry=ExpiringOut.of(value.next_expiry) if value.next_expiry else None,
        )


class HistoryItemOut(BaseModel):
    """One change of the member's points."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 981,
                "at": "2026-11-22T04:12:00Z",
                "kind": "earn",
                "source": "sale",
                "points": 25,
                "merchant_id": 7,
                "merchant_name": "Corner Coffee",
                "memo": "",
            }
        }
    )

    id: int
    at: datetime
    kind: str = Field(description="earn, spend, expire or reversal")
    source: str = Field(description="sale, bill_payment, campaign, benefit, points_payment, expiry, …")
    points: int = Field(description="signed: positive credits, negative debits")
    merchant_id: int | None
    merchant_name: str | None
    memo: str

    @classmethod
    def of(cls, entry: Entry) -> HistoryItemOut:
        """Build from an entry with its journal and merchant loaded."""
        journal = entry.journal
        merchant = journal.merchant
        return cls(
            id=entry.id,
            at=journal.created_at,
            kind=journal.kind.value,
            source=journal.source,
            points=int(entry.amount),
            merchant_id=journal.merchant_id,
            merchant_name=merchant.name if merchant else None,
            memo=journal.memo,
        )


class SaleIn(BaseModel):
    """A sale at the till for the member whose code was scanned."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "member_code": "LM1.42.1795000000.x9Kc2aQ1bZ0p.5mW…",
                "amount_fen": 3850,
                "receipt_no": "A-1029",
            }
        }
    )

    member_code: str = CODE_FIELD
    amount_fen: StrictInt = Field(gt=0, le=MAX_INT64, description="what the member paid, fen (whole number)")
    receipt_no: str | None = Field(
        None,
        pattern=REFERENCE_PATTERN,
        description="the till's receipt number: recording it twice records once",
    )


class SaleOut(BaseModel):
    """A recorded sale."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": 311,
                "amount_fen": 3850,
                "points": 38,
                "status": "completed",
                "reference": "receipt:A-1029",
                "created_at": "2026-11-22T04:12:00Z",
                "refunded_at": None,
            }
        },
    )

    id: int
    amount_fen: int
    points: int = Field(description="points the member earned")
    status: str
    reference: str
    created_at: datetime
    refunded_at: datetime | None

    @classmethod
    def of(cls, sale: Sale) -> SaleOut:
        """Build from the table row."""
        return cls.model_validate(sale)


class PointsPaymentIn(BaseModel):
    """The member pays part of the bill with points."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"member_code": "LM1.42.1795000000.x9Kc2aQ1bZ0p.5mW…", "points": 500}}
    )

    member_code: str = CODE_FIELD
    points: StrictInt = Field(gt=0, le=MAX_INT64, description="points to pay with (whole number)")


class PointsPaymentOut(BaseModel):
    """A points payment at the till."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": 12,
                "points": 500,
                "value_fen": 500,
                "status": "paid",
                "created_at": "2026-11-22T04:12:00Z",
                "reversed_at": None,
            }
        },
    )

    id: int
    points: int
    value_fen: int = Field(description="what the points are worth, fen: the bank pays it in settlement")
    status: str
    created_at: datetime
    reversed_at: datetime | None

    @classmethod
    def of(cls, payment: PointsPayment) -> PointsPaymentOut:
        """Build from the table row."""
        return cls.model_validate(payment)


class ProgramIn(BaseModel):
    """A merchant's loyalty terms."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"earn_rate": 100, "point_value_fen": 1}},
    )

    earn_rate: StrictInt = Field(ge=0, le=10_000, description="points per 100 yuan spent")
    point_value_fen: StrictInt = Field(ge=1, le=10_000, description="fen one point is worth")


class ProgramOut(BaseModel):
    """A merchant's loyalty terms in force."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "merchant_id": 7,
                "earn_rate": 100,
                "point_value_fen": 1,
                "category": "catering",
                "own_terms": True,
            }
        }
    )

    merchant_id: int
    earn_rate: int
    point_value_fen: int
    category: Category | None = Field(
        description="the merchant's business category (set in its application): decides category benefits"
    )
    own_terms: bool = Field(description="false: the platform defaults apply")

    @classmethod
    def of(
        cls,
        merchant_id: int,
        program: MerchantProgram | None,
        default_rate: int,
        default_value: int,
        category: Category | None,
    ) -> ProgramOut:
        """Build from the row (or the defaults when the merchant has none)."""
        if program is None:
            return cls(
                merchant_id=merchant_id,
                earn_rate=default_rate,
                point_value_fen=default_value,
                category=category,
                own_terms=False,
            )
        return cls(
            merchant_id=merchant_id,
            earn_rate=program.earn_rate,
            point_value_fen=program.point_value_fen,
            category=category,
            own_terms=True,
        )


class KnownMemberOut(BaseModel):
    """A member who consented to be seen by the merchants they visit (masked)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "member_id": 42,
                "nickname": "A*e",
                "phone": "138****1234",
                "tier": "silver",
                "first_seen_at": "2026-10-02T04:12:00Z",
                "last_seen_at": "2026-11-22T04:12:00Z",
                "visits": 7,
                "spend_fen": 26700,
                "points_earned": 267,
                "redemptions": 1,
            }
        }
    )

    member_id: int
    nickname: str | None
    phone: str | None
    tier: Tier
    first_seen_at: datetime
    last_seen_at: datetime
    visits: int
    spend_fen: int
    points_earned: int
    redemptions: int

    @classmethod
    def of(cls, row: MerchantMember) -> KnownMemberOut:
        """Build from the relation with its member loaded."""
        member = row.member
        return cls(
            member_id=member.id,
            nickname=mask_name(member.nickname) or None,
            phone=member_phone(member),
            tier=member.tier,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            visits=row.visits,
            spend_fen=row.spend_fen,
            points_earned=row.points_earned,
            redemptions=row.redemptions,
        )


class PointsGrantIn(BaseModel):
    """Ops credit points to a member (goodwill, corrections)."""

    model_config = ConfigDict(json_schema_extra={"example": {"points": 200, "reason": "complaint 2026-118"}})

    points: StrictInt = Field(gt=0, le=MAX_INT64)
    reason: str = Field(min_length=3, max_length=200)


class PostingOut(BaseModel):
    """A journal posted to the ledger."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "journal_id": 77,
                "reference": "ops:5:grant-118",
                "kind": "earn",
                "points": 200,
                "replayed": False,
            }
        }
    )

    journal_id: int
    reference: str
    kind: str
    points: int
    replayed: bool


class ReversalIn(BaseModel):
    """Reverse the journal posted under a reference."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"reference": "bill:8812", "reason": "biller rejected"}}
    )

    reference: str = Field(min_length=1, max_length=191)
    reason: str = Field(min_length=3, max_length=200)


class BenefitTerms(BaseModel):
    """What a benefit is worth and when it is valid (shared by ops and merchant proposals)."""

    name: str = Field(min_length=1, max_length=64)
    description: str = Field("", max_length=500)
    kind: BenefitKind = Field(description="cash (¥ off), discount (% off, capped) or gift")
    face_value_fen: StrictInt = Field(
        0, ge=0, le=100_000_000, description="cash: amount off, gift: its value"
    )
    discount_percent: StrictInt | None = Field(None, ge=1, le=99, description="discount: percent off")
    discount_cap_fen: StrictInt | None = Field(
        None, ge=1, le=100_000_000, description="discount: most it takes off"
    )
    min_spend_fen: StrictInt = Field(0, ge=0, le=100_000_000)
    valid_from: Instant | None = Field(None, description="fixed window start (default: when issued)")
    valid_until: Instant | None = Field(None, description="fixed window end; or give valid_days")
    valid_days: StrictInt | None = Field(None, ge=1, le=3650, description="valid N business days after issue")
    stock_total: StrictInt | None = Field(None, ge=0, le=100_000_000, description="null: unlimited")
    per_member_limit: StrictInt = Field(1, ge=1, le=100)
    price_points: StrictInt = Field(0, ge=0, le=10_000_000, description="0: given only by campaigns or ops")


class BenefitIn(BenefitTerms):
    """A new benefit of the catalogue (ops)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "name": "¥5 off coffee",
                "kind": "cash",
                "face_value_fen": 500,
                "min_spend_fen": 1500,
                "eligibility": "category",
                "categories": ["catering"],
                "valid_days": 30,
                "stock_total": 1000,
                "per_member_limit": 1,
                "price_points": 300,
            }
        }
    )

    funder: Funder = Field(Funder.BANK, description="bank (settled with the merchant) or merchant")
    funder_merchant_id: Id | None = Field(None, description="the funding merchant when funder is merchant")
    eligibility: Eligibility = Field(description="all, category, list or bill_payment")
    categories: list[Category] = Field(
        [], max_length=20, description="merchants' business categories (eligibility category)"
    )
    merchant_ids: list[Id] = Field([], max_length=1000, description="merchants (eligibility list)")


class BenefitProposalIn(BenefitTerms):
    """A benefit a merchant funds for its own store, for ops to approve."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "name": "Free cookie with any coffee",
                "kind": "gift",
                "face_value_fen": 800,
                "valid_days": 14,
                "stock_total": 200,
                "price_points": 150,
            }
        }
    )


class BenefitPatch(Patch):
    """Change a benefit: texts, price, or stock (added or removed)."""

    model_config = ConfigDict(json_schema_extra={"example": {"add_stock": 500}})

    name: str | None = Field(None, min_length=1, max_length=64)
    description: str | None = Field(None, max_length=500)
    price_points: StrictInt | None = Field(None, ge=0, le=10_000_000)
    add_stock: StrictInt | None = Field(None, ge=-100_000_000, le=100_000_000, description="negative removes")


class RejectIn(BaseModel):
    """Why a proposal is rejected."""

    model_config = ConfigDict(json_schema_extra={"example": {"reason": "value too high for the category"}})

    reason: str = Field(min_length=3, max_length=200)


class BenefitOut(BaseModel):
    """A catalogue entry as ops and its merchant see it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": 3,
                "name": "¥5 off coffee",
                "description": "",
                "kind": "cash",
                "face_value_fen": 500,
                "discount_percent": None,
                "discount_cap_fen": None,
                "min_spend_fen": 1500,
                "funder": "bank",
                "funder_merchant_id": None,
                "eligibility": "category",
                "categories": ["catering"],
                "merchant_ids": [],
                "valid_from": None,
                "valid_until": None,
                "valid_days": 30,
                "stock_total": 1000,
                "stock_left": 412,
                "per_member_limit": 1,
                "price_points": 300,
                "status": "active",
                "reject_reason": "",
                "created_at": "2026-11-20T02:00:00Z",
            }
        },
    )

    id: int
    name: str
    description: str
    kind: BenefitKind
    face_value_fen: int
    discount_percent: int | None
    discount_cap_fen: int | None
    min_spend_fen: int
    funder: Funder
    funder_merchant_id: int | None
    eligibility: Eligibility
    categories: list[str]
    merchant_ids: list[int]
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    stock_total: int | None
    stock_left: int | None
    per_member_limit: int
    price_points: int
    status: BenefitStatus
    reject_reason: str
    created_at: datetime

    @classmethod
    def of(cls, benefit: Benefit, merchant_ids: list[int]) -> BenefitOut:
        """Build from the row and its merchant list."""
        return cls.model_validate(
            {
                **{k: getattr(benefit, k) for k in cls.model_fields if k != "merchant_ids"},
                "merchant_ids": merchant_ids,
            }
        )


class CatalogueItemOut(BaseModel):
    """A benefit members can redeem points for."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": 3,
                "name": "¥5 off coffee",
                "description": "",
                "kind": "cash",
                "face_value_fen": 500,
                "discount_percent": None,
                "discount_cap_fen": None,
                "min_spend_fen": 1500,
                "eligibility": "category",
                "categories": ["catering"],
                "valid_until": None,
                "valid_days": 30,
                "stock_left": 412,
                "per_member_limit": 1,
                "price_points": 300,
            }
        },
    )

    id: int
    name: str
    description: str
    kind: BenefitKind
    face_value_fen: int
    discount_percent: int | None
    discount_cap_fen: int | None
    min_spend_fen: int
    eligibility: Eligibility
    categories: list[str]
    valid_until: datetime | None
    valid_days: int | None
    stock_left: int | None
    per_member_limit: int
    price_points: int


class VoucherOut(BaseModel):
    """One of my vouchers."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 901,
                "benefit_id": 3,
                "name": "¥5 off coffee",
                "kind": "cash",
                "face_value_fen": 500,
                "discount_percent": None,
                "discount_cap_fen": None,
                "min_spend_fen": 1500,
                "status": "active",
                "valid_from": "2026-11-22T02:00:00Z",
                "valid_until": "2026-12-22T16:00:00Z",
                "issued_at": "2026-11-22T02:00:00Z",
                "used_at": None,
            }
        }
    )

    id: int
    benefit_id: int
    name: str
    kind: BenefitKind
    face_value_fen: int
    discount_percent: int | None
    discount_cap_fen: int | None
    min_spend_fen: int
    status: str = Field(description="active, used, expired or revoked (its purchase was refunded)")
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    used_at: datetime | None

    @classmethod
    def of(cls, voucher: Voucher, now: datetime) -> VoucherOut:
        """Build from the row with its benefit loaded."""
        benefit = voucher.benefit
        status = voucher.status.value
        if voucher.status == VoucherStatus.ACTIVE and voucher.valid_until <= now:
            status = "expired"
        return cls(
            id=voucher.id,
            benefit_id=voucher.benefit_id,
            name=benefit.name,
            kind=benefit.kind,
            face_value_fen=benefit.face_value_fen,
            discount_percent=benefit.discount_percent,
            discount_cap_fen=benefit.discount_cap_fen,
            min_spend_fen=benefit.min_spend_fen,
            status=status,
            valid_from=voucher.valid_from,
            valid_until=voucher.valid_until,
            issued_at=voucher.issued_at,
            used_at=voucher.used_at,
        )


class VoucherTokenOut(BaseModel):
    """A voucher's redemption token, shown as a QR code."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"token": "LV1.901.42.1795000000.Qe0m1xZb7sPq.Hq…", "expires_at": "…"}}
    )

    token: str
    expires_at: datetime


class RedemptionIn(BaseModel):
    """A scanned voucher token and the bill it is used on."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"token": "LV1.901.42.1795000000.Qe0m1xZb7sPq.Hq…", "bill_amount_fen": 2800}
        }
    )

    token: str = CODE_FIELD
    bill_amount_fen: StrictInt = Field(
        gt=0, le=MAX_INT64, description="the bill before the voucher, fen (whole number)"
    )


class RedemptionOut(BaseModel):
    """A voucher redeemed at the till."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": 55,
                "voucher_id": 901,
                "bill_amount_fen": 2800,
                "discount_fen": 500,
                "payable_fen": 2300,
                "settlement_fen": 500,
                "status": "redeemed",
                "created_at": "2026-11-22T04:12:00Z",
                "reversed_at": None,
            }
        },
    )

    id: int
    voucher_id: int
    bill_amount_fen: int
    discount_fen: int = Field(description="what the voucher takes off the bill")
    payable_fen: int = Field(description="what the member still pays")
    settlement_fen: int = Field(description="what the bank pays the merchant for it in settlement")
    status: str
    created_at: datetime
    reversed_at: datetime | None

    @classmethod
    def of(cls, redemption: VoucherRedemption) -> RedemptionOut:
        """Build from the row."""
        return cls(
            id=redemption.id,
            voucher_id=redemption.voucher_id,
            bill_amount_fen=redemption.bill_amount_fen,
            discount_fen=redemption.discount_fen,
            payable_fen=redemption.bill_amount_fen - redemption.discount_fen,
            settlement_fen=redemption.settlement_fen,
            status=redemption.status.value,
            created_at=redemption.created_at,
            reversed_at=redemption.reversed_at,
        )


class GrantIn(BaseModel):
    """Members to give one voucher each."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"member_ids": [42, 43], "reason": "service outage"}}
    )

    member_ids: list[Id] = Field(min_length=1, max_length=1000)
    reason: str = Field(min_length=3, max_length=200)


class GrantOut(BaseModel):
    """What one member got."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"member_id": 42, "outcome": "issued", "voucher_id": 901}}
    )

    member_id: int
    outcome: str = Field(description="issued, already_issued or limit_reached")
    voucher_id: int | None


class StatementOut(BaseModel):
    """A merchant's settlement statement for one business day."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": 88,
                "merchant_id": 7,
                "business_day": "2026-11-21",
                "status": "draft",
                "payable_fen": 1500,
                "receivable_fen": 420,
                "net_fen": 1080,
                "line_count": 9,
                "created_at": "2026-11-21T16:20:00Z",
                "confirmed_at": None,
                "paid_at": None,
            }
        },
    )

    id: int
    merchant_id: int
    business_day: date
    status: StatementStatus
    payable_fen: int = Field(description="the bank owes the merchant")
    receivable_fen: int = Field(description="the merchant owes the bank")
    net_fen: int = Field(description="payable minus receivable: positive, the bank pays")
    line_count: int
    created_at: datetime
    confirmed_at: datetime | None
    paid_at: datetime | None


class LineOut(BaseModel):
    """One event on a statement."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": 1201,
                "kind": "voucher",
                "source_id": 55,
                "amount_fen": 500,
                "occurred_at": "2026-11-21T04:12:00Z",
                "description": "voucher 901",
            }
        },
    )

    id: int
    kind: LineKind = Field(description="points, voucher or voucher_reversal")
    source_id: int = Field(description="the points journal or the voucher redemption")
    amount_fen: int = Field(description="signed: positive, the bank owes the merchant")
    occurred_at: datetime
    description: str


class SettlementRunIn(BaseModel):
    """Build (or complete) a business day's statements."""

    model_config = ConfigDict(json_schema_extra={"example": {"day": "2026-11-21"}})

    day: Day = Field(description="the Asia/Shanghai business day")


class SettlementRunOut(BaseModel):
    """A queued settlement run."""

    model_config = ConfigDict(json_schema_extra={"example": {"day": "2026-11-21", "queued": True}})

    day: date
    queued: bool


class BreakOut(BaseModel):
    """A broken ledger invariant."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"check": "no member balance is negative", "detail": "member_id=4, balance=-1"}
        }
    )

    check: str
    detail: str


class TagImportOut(BaseModel):
    """What a tag import did."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "tag": "payroll",
                "rows": 1200,
                "tagged": 1150,
                "already_tagged": 30,
                "unknown": 20,
                "home_grids_set": 1150,
                "errors": ["line 17: phone is not a mainland mobile number"],
            }
        }
    )

    tag: str
    rows: int
    tagged: int = Field(description="members who got the tag now")
    already_tagged: int
    home_grids_set: int = Field(0, description="members whose home grid the `grid_id` column set")
    unknown: int = Field(description="rows naming no member (malformed or not in the pool)")
    errors: list[str] = Field(description="the first malformed rows, by line")


class TagCountOut(BaseModel):
    """A tag and how many members carry it."""

    model_config = ConfigDict(json_schema_extra={"example": {"tag": "payroll", "members": 1150}})

    tag: str
    members: int


class OpsMemberOut(BaseModel):
    """A member as bank operations see them (phone masked)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 42,
                "nickname": "Alice",
                "phone": "138****1234",
                "tier": "gold",
                "tags": ["new", "payroll"],
                "home_grid_id": 3,
                "balance": 1520,
                "joined_at": "2026-11-01T02:05:00Z",
                "share_profile": True,
                "marketing": False,
                "created_at": "2026-11-01T02:00:00Z",
                "last_active_at": "2026-11-22T04:12:00Z",
            }
        }
    )

    id: int
    nickname: str
    phone: str | None
    tier: Tier
    tags: list[str]
    home_grid_id: int | None = Field(description="the member's home grid (null: in no grid)")
    balance: int
    joined_at: datetime | None
    share_profile: bool
    marketing: bool
    created_at: datetime
    last_active_at: datetime


class MessageOut(BaseModel):
    """A message in my inbox."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 51,
                "kind": "points_expiring",
                "title": "Points about to expire",
                "body": "120 points expire on 2026-12-31: spend them first.",
                "sent_at": "2026-12-25T02:00:00Z",
                "read_at": None,
            }
        }
    )

    id: int
    kind: MessageKind
    title: str
    body: str
    sent_at: datetime | None
    read_at: datetime | None

    @classmethod
    def of(cls, delivery: MessageDelivery) -> MessageOut:
        """Build from the delivery row."""
        return cls(
            id=delivery.id,
            kind=delivery.kind,
            title=delivery.title,
            body=delivery.body,
            sent_at=delivery.sent_at,
            read_at=delivery.read_at,
        )


class UnreadOut(BaseModel):
    """How many of my messages are unread."""

    model_config = ConfigDict(json_schema_extra={"example": {"unread": 3}})

    unread: int


class MessagePreferenceOut(BaseModel):
    """Whether I get one kind of message."""

    kind: MessageKind
    category: str = Field(description="service (always sent), requested, nudge or promotional")
    enabled: bool


class MessagePreferencesOut(BaseModel):
    """Which kinds of message I get (promotional ones also need the marketing consent)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "marketing": True,
                "kinds": [{"kind": "points_expiring", "category": "nudge", "enabled": False}],
            }
        }
    )

    marketing: bool
    kinds: list[MessagePreferenceOut]


class MessagePreferencesIn(BaseModel):
    """The kinds of message I refuse (service messages cannot be refused); the rest I get."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"opted_out": ["broadcast", "points_expiring"]}}
    )

    opted_out: list[MessageKind] = Field(max_length=len(MessageKind))


class SubscriptionsIn(BaseModel):
    """The answer of the mini-program's `requestSubscribeMessage`: template id → accept, reject, ban."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"results": {"tmpl-flash-reminder": "accept"}}}
    )

    results: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=16)]] = Field(
        max_length=20
    )


class SubscriptionsOut(BaseModel):
    """How many one-time subscriptions were recorded."""

    model_config = ConfigDict(json_schema_extra={"example": {"recorded": 1}})

    recorded: int


class BroadcastIn(BaseModel):
    """A promotional message to a segment: joined members of any of the tiers (all if none), every tag."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "title": "Coffee week",
                "body": "Half price lattes at Corner Coffee until Sunday.",
                "tiers": ["gold"],
                "tags": ["payroll"],
                "send_at": "2026-12-08T02:00:00Z",
            }
        },
    )

    title: str = Field(min_length=1, max_length=64)
    body: str = Field(min_length=1, max_length=500)
    tiers: list[Tier] = Field(default_factory=list, max_length=len(Tier))
    tags: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]] = Field(
        default_factory=list, max_length=10
    )
    send_at: Instant | None = Field(None, description="when sending starts; at approval when omitted")


class BroadcastOut(BaseModel):
    """A broadcast and its delivery figures."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 7,
                "title": "Coffee week",
                "body": "Half price lattes at Corner Coffee until Sunday.",
                "tiers": ["gold"],
                "tags": ["payroll"],
                "status": "sent",
                "send_at": "2026-12-08T02:00:00Z",
                "created_by": 3,
                "approved_by": 4,
                "finished_at": "2026-12-08T02:03:00Z",
                "figures": {"targeted": 1200, "sent": 900, "suppressed_no_consent": 250, "opened": 310},
            }
        }
    )

    id: int
    title: str
    body: str
    tiers: list[str]
    tags: list[str]
    status: BroadcastStatus
    send_at: datetime
    created_by: int
    approved_by: int | None
    finished_at: datetime | None
    figures: dict[str, int] = Field(
        description="targeted, sent, suppressed_<reason> (no_consent, opted_out, daily_cap, weekly_cap), "
        "pending_quiet_hours, <channel>_<outcome> for WeChat and SMS, opened"
    )

    @classmethod
    def of(cls, broadcast: Broadcast, figures: dict[str, int]) -> BroadcastOut:
        """Build from the row and its figures."""
        return cls(
            id=broadcast.id,
            title=broadcast.title,
            body=broadcast.body,
            tiers=list(broadcast.tiers),
            tags=list(broadcast.tags),
            status=broadcast.status,
            send_at=broadcast.send_at,
            created_by=broadcast.created_by,
            approved_by=broadcast.approved_by,
            finished_at=broadcast.finished_at,
            figures=figures,
        )


class BroadcastPreviewOut(BaseModel):
    """How many members a broadcast would reach (caps and quiet hours apply when each message goes)."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"segment": 1200, "no_consent": 250, "opted_out": 50, "reachable": 900}}
    )

    segment: int
    no_consent: int
    opted_out: int
    reachable: int
