"""Loyalty tables: the member pool, the double-entry points ledger, sales and known members.

Invariants live in the database: a member's balance has a CHECK (never negative), journals and entries
are append-only (triggers), references are unique, and on PostgreSQL a deferred constraint trigger
refuses to commit a journal whose entries do not sum to zero.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from merchants.models import Branch, Merchant


class Tier(StrEnum):
    """Member levels, from points earned in the trailing 12 months."""

    REGULAR = "regular"
    SILVER = "silver"
    GOLD = "gold"


class Member(Model):
    """A bank customer in the shared member pool, known by their mini-program openid."""

    id = fields.BigIntField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True)
    unionid = fields.CharField(max_length=64, null=True)
    nickname = fields.CharField(max_length=64, default="")
    birthday = fields.DateField(null=True)
    phone_enc = fields.TextField(null=True)
    phone_hash = fields.CharField(max_length=64, null=True, unique=True)
    phone_bound_at = fields.DatetimeField(null=True)
    tier = fields.CharEnumField(Tier, max_length=16, default=Tier.REGULAR)
    joined_at = fields.DatetimeField(null=True, description="when the member joined the alliance")
    share_profile = fields.BooleanField(default=False, description="consent: merchants may see me")
    marketing = fields.BooleanField(default=False, description="consent: marketing messages")
    consents_updated_at = fields.DatetimeField(null=True)
    home_grid: fields.ForeignKeyNullableRelation[Branch] = fields.ForeignKeyField(
        "merchants.Branch", related_name=False, null=True, on_delete=fields.SET_NULL,
        description="the grid campaigns target the member by (where they live or bank)",
    )  # fmt: skip
    home_grid_id: int | None
    home_grid_changed_at = fields.DatetimeField(null=True, description="when the member last chose it")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    last_active_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "loyalty_member"


class MemberTag(Model):
    """A targeting tag on a member (imported by ops or kept by the automatic-tags job)."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="tags", on_delete=fields.CASCADE
    )
    member_id: int
    tag = fields.CharField(max_length=32)
    source = fields.CharField(max_length=16, description="import or auto")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "loyalty_member_tag"
        unique_together = (("member", "tag"),)
        indexes = (("tag", "member_id"),)


class MerchantProgram(Model):
    """A merchant's loyalty terms: earning rate and point value (its category is the merchant's own)."""

    merchant: fields.OneToOneRelation[Merchant] = fields.OneToOneField(
        "merchants.Merchant", related_name="loyalty_program", on_delete=fields.RESTRICT, primary_key=True
    )
    merchant_id: int
    earn_rate = fields.IntField(description="points earned per 100 yuan spent")
    point_value_fen = fields.IntField(description="fen one point is worth in settlement")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "loyalty_merchant_program"
        constraints = (
            CheckConstraint(check="earn_rate >= 0 AND earn_rate <= 10000", name="loyalty_program_rate"),
            CheckConstraint(check="point_value_fen >= 1", name="loyalty_program_value"),
        )


class MerchantMember(Model):
    """A member known to a merchant (scanned its store QR, earned or redeemed there)."""

    id = fields.BigIntField(primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name="known_members", on_delete=fields.RESTRICT
    )
    merchant_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="known_by", on_delete=fields.CASCADE
    )
    member_id: int
    first_seen_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    visits = fields.IntField(default=0)
    spend_fen = fields.BigIntField(default=0)
    points_earned = fields.BigIntField(default=0)
    redemptions = fields.IntField(default=0)

    class Meta:
        table = "loyalty_merchant_member"
        unique_together = (("merchant", "member"),)


class AccountKind(StrEnum):
    """Ledger accounts: one per member and per merchant, and the bank's system accounts."""

    MEMBER = "member"
    MERCHANT = "merchant"
    POOL = "pool"
    REDEMPTION = "redemption"
    EXPIRY = "expiry"
    WRITEOFF = "writeoff"


class JournalKind(StrEnum):
    """What a journal does to the member's points."""

    EARN = "earn"
    SPEND = "spend"
    EXPIRE = "expire"
    REVERSAL = "reversal"


class PointsAccount(Model):
    """A member's points account: the balance kept in the same transaction as its entries."""

    member: fields.OneToOneRelation[Member] = fields.OneToOneField(
        "loyalty.Member", related_name="points_account", on_delete=fields.RESTRICT, primary_key=True
    )
    member_id: int
    balance = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "loyalty_points_account"
        constraints = (CheckConstraint(check="balance >= 0", name="loyalty_points_account_not_negative"),)


class Journal(Model):
    """One posting to the ledger with a unique reference, its entries sum to zero (append-only)."""

    id = fields.BigIntField(primary_key=True)
    reference = fields.CharField(max_length=191, unique=True)
    kind = fields.CharEnumField(JournalKind, max_length=16)
    source = fields.CharField(max_length=32, description="sale, bill_payment, campaign, benefit, …")
    member: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="journals", on_delete=fields.RESTRICT, null=True
    )
    member_id: int | None
    merchant: fields.ForeignKeyNullableRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name="points_journals", on_delete=fields.RESTRICT, null=True
    )
    merchant_id: int | None
    points = fields.BigIntField(description="points credited to (or debited from) the member")
    settlement_fen = fields.BigIntField(
        default=0, description="what the bank owes the merchant for it (negative: the merchant owes)"
    )
    reverses: fields.OneToOneNullableRelation[Journal] = fields.OneToOneField(
        "loyalty.Journal", related_name="reversed_by", on_delete=fields.RESTRICT, null=True
    )
    reverses_id: int | None
    memo = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "loyalty_journal"
        indexes = (("merchant_id", "created_at"), ("member_id", "created_at"))
        constraints = (CheckConstraint(check="points >= 0", name="loyalty_journal_points"),)


class Entry(Model):
    """One side of a journal: a signed amount of points on one account (append-only)."""

    id = fields.BigIntField(primary_key=True)
    journal: fields.ForeignKeyRelation[Journal] = fields.ForeignKeyField(
        "loyalty.Journal", related_name="entries", on_delete=fields.RESTRICT
    )
    journal_id: int
    account_kind = fields.CharEnumField(AccountKind, max_length=16)
    account_id = fields.BigIntField(default=0, description="member or merchant id, 0 for system accounts")
    amount = fields.BigIntField()

    class Meta:
        table = "loyalty_entry"
        indexes = (("account_kind", "account_id", "id"),)
        constraints = (CheckConstraint(check="amount <> 0", name="loyalty_entry_not_zero"),)


class PointsLot(Model):
    """Points earned together, expiring together at the end of the 12th month after earning."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="lots", on_delete=fields.RESTRICT
    )
    member_id: int
    journal: fields.ForeignKeyRelation[Journal] = fields.ForeignKeyField(
        "loyalty.Journal", related_name="lots", on_delete=fields.RESTRICT
    )
    journal_id: int
    points = fields.BigIntField()
    remaining = fields.BigIntField()
    reversed_points = fields.BigIntField(default=0, description="points of this lot taken back by reversal")
    expires_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "loyalty_points_lot"
        indexes = (("member_id", "expires_at"), ("member_id", "created_at"))
        constraints = (
            CheckConstraint(check="points > 0", name="loyalty_lot_points"),
            CheckConstraint(check="remaining >= 0 AND remaining <= points", name="loyalty_lot_remaining"),
            CheckConstraint(
                check="reversed_points >= 0 AND reversed_points <= points", name="loyalty_lot_reversed"
            ),
        )


class LotMove(Model):
    """Points a journal took from (negative) or gave back to (positive) a lot (append-only)."""

    id = fields.BigIntField(primary_key=True)
    journal: fields.ForeignKeyRelation[Journal] = fields.ForeignKeyField(
        "loyalty.Journal", related_name="lot_moves", on_delete=fields.RESTRICT
    )
    journal_id: int
    lot: fields.ForeignKeyRelation[PointsLot] = fields.ForeignKeyField(
        "loyalty.PointsLot", related_name="moves", on_delete=fields.RESTRICT
    )
    lot_id: int
    points = fields.BigIntField()

    class Meta:
        table = "loyalty_lot_move"
        indexes = (("journal_id",), ("lot_id",))
        constraints = (CheckConstraint(check="points <> 0", name="loyalty_lot_move_not_zero"),)


class SaleStatus(StrEnum):
    """A till sale: completed, or refunded (its points reversed)."""

    COMPLETED = "completed"
    REFUNDED = "refunded"


# A sale's multiplier decision is recorded whole or not at all, and its bonus is part of the sale's points.
SALE_MULTIPLIER_CHECK = (
    "(multiplier_campaign_id IS NULL AND multiplier_percent IS NULL AND bonus_points IS NULL"
    " AND bonus_cost_fen IS NULL) OR (multiplier_campaign_id IS NOT NULL AND multiplier_percent IS NOT NULL"
    " AND bonus_points IS NOT NULL AND bonus_cost_fen IS NOT NULL AND multiplier_percent BETWEEN 101 AND 1000"
    " AND bonus_points >= 1 AND bonus_points <= points AND bonus_cost_fen >= 0)"
)


class Sale(Model):
    """A purchase a merchant recorded for a member, earning points."""

    id = fields.BigIntField(primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name="sales", on_delete=fields.RESTRICT
    )
    merchant_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="sales", on_delete=fields.RESTRICT
    )
    member_id: int
    staff_id = fields.BigIntField(null=True)
    reference = fields.CharField(max_length=191, description="receipt number or idempotency reference")
    amount_fen = fields.BigIntField()
    points = fields.BigIntField(default=0)
    journal: fields.ForeignKeyNullableRelation[Journal] = fields.ForeignKeyField(
        "loyalty.Journal", related_name="sales", on_delete=fields.RESTRICT, null=True
    )
    journal_id: int | None
    status = fields.CharEnumField(SaleStatus, max_length=16, default=SaleStatus.COMPLETED)
    created_at = fields.DatetimeField(auto_now_add=True)
    refunded_at = fields.DatetimeField(null=True)
    # The earn-multiplier decision made in the sale's transaction (`loyalty.hooks`), all four or none.
    multiplier_campaign_id = fields.BigIntField(
        null=True, description="the campaign whose multiplier boosted the sale (decided in its transaction)"
    )
    multiplier_percent = fields.IntField(null=True, description="that multiplier, 200 doubles the points")
    bonus_points = fields.BigIntField(
        null=True, description="points of the sale the multiplier added (funded by the bank's pool)"
    )
    bonus_cost_fen = fields.BigIntField(
        null=True, description="what the bonus took from the campaign's budget, reserved in the sale"
    )

    class Meta:
        table = "loyalty_sale"
        unique_together = (("merchant", "reference"),)
        indexes = (("merchant_id", "id"),)
        constraints = (
            CheckConstraint(check="amount_fen > 0", name="loyalty_sale_amount"),
            CheckConstraint(check="points >= 0", name="loyalty_sale_points"),
            CheckConstraint(check=SALE_MULTIPLIER_CHECK, name="loyalty_sale_multiplier"),
        )


class PaymentStatus(StrEnum):
    """Points paid at a merchant: paid, or reversed (refunded at the till)."""

    PAID = "paid"
    REVERSED = "reversed"


class PointsPayment(Model):
    """Points a member paid with at a merchant (one member code, used once)."""

    id = fields.BigIntField(primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name="points_payments", on_delete=fields.RESTRICT
    )
    merchant_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="points_payments", on_delete=fields.RESTRICT
    )
    member_id: int
    staff_id = fields.BigIntField(null=True)
    reference = fields.CharField(max_length=191)
    nonce = fields.CharField(max_length=32, unique=True, description="the member code's nonce, used once")
    points = fields.BigIntField()
    value_fen = fields.BigIntField()
    journal: fields.ForeignKeyRelation[Journal] = fields.ForeignKeyField(
        "loyalty.Journal", related_name="payments", on_delete=fields.RESTRICT
    )
    journal_id: int
    status = fields.CharEnumField(PaymentStatus, max_length=16, default=PaymentStatus.PAID)
    created_at = fields.DatetimeField(auto_now_add=True)
    reversed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "loyalty_points_payment"
        unique_together = (("merchant", "reference"),)
        indexes = (("merchant_id", "id"),)
        constraints = (
            CheckConstraint(check="points > 0 AND value_fen > 0", name="loyalty_payment_positive"),
        )


class BenefitKind(StrEnum):
    """Cash voucher (¥ off), discount voucher (% off, capped) or gift/exchange voucher."""

    CASH = "cash"
    DISCOUNT = "discount"
    GIFT = "gift"


class Funder(StrEnum):
    """Who pays for a benefit: the bank (settled with the merchant) or the merchant itself."""

    BANK = "bank"
    MERCHANT = "merchant"


class Eligibility(StrEnum):
    """Where a voucher can be redeemed."""

    ALL = "all"
    CATEGORY = "category"
    LIST = "list"
    BILL_PAYMENT = "bill_payment"


class BenefitStatus(StrEnum):
    """Catalogue lifecycle: draft or pending review → active ⇄ paused → ended, or rejected."""

    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"
    REJECTED = "rejected"


class Benefit(Model):
    """An entry of the benefits catalogue that members get as vouchers."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64)
    description = fields.CharField(max_length=500, default="")
    kind = fields.CharEnumField(BenefitKind, max_length=16)
    face_value_fen = fields.BigIntField(default=0, description="cash: amount off, gift: value of the gift")
    discount_percent = fields.IntField(null=True, description="discount: percent off the bill")
    discount_cap_fen = fields.BigIntField(null=True, description="discount: most it takes off")
    min_spend_fen = fields.BigIntField(default=0)
    funder = fields.CharEnumField(Funder, max_length=16)
    funder_merchant: fields.ForeignKeyNullableRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name="funded_benefits", on_delete=fields.RESTRICT, null=True
    )
    funder_merchant_id: int | None
    eligibility = fields.CharEnumField(Eligibility, max_length=16)
    categories: fields.Field[list[str]] = fields.JSONField(
        default=list, description="merchants' business categories (`merchants.models.Category`)"
    )
    valid_from = fields.DatetimeField(null=True)
    valid_until = fields.DatetimeField(null=True)
    valid_days = fields.IntField(null=True, description="validity in days after issue, else the fixed window")
    stock_total = fields.BigIntField(null=True, description="null: unlimited")
    stock_left = fields.BigIntField(null=True)
    per_member_limit = fields.IntField(default=1)
    price_points = fields.BigIntField(default=0, description="0: only given by campaigns or ops")
    status = fields.CharEnumField(BenefitStatus, max_length=16, default=BenefitStatus.DRAFT)
    reject_reason = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "loyalty_benefit"
        indexes = (("status", "id"), ("funder_merchant_id", "id"))
        constraints = (
            CheckConstraint(check="stock_left IS NULL OR stock_left >= 0", name="loyalty_benefit_stock"),
            CheckConstraint(
                check="(stock_total IS NULL) = (stock_left IS NULL) "
                "AND (stock_total IS NULL OR stock_left <= stock_total)",
                name="loyalty_benefit_stock_total",
            ),
            CheckConstraint(check="per_member_limit >= 1", name="loyalty_benefit_limit"),
            CheckConstraint(
                check="price_points >= 0 AND face_value_fen >= 0 AND min_spend_fen >= 0",
                name="loyalty_benefit_amounts",
            ),
            CheckConstraint(
                check="(valid_days IS NULL) <> (valid_until IS NULL)", name="loyalty_benefit_validity"
            ),
            CheckConstraint(
                check="(funder = 'merchant') = (funder_merchant_id IS NOT NULL)",
                name="loyalty_benefit_funder",
            ),
        )


class BenefitMerchant(Model):
    """A merchant where a list-scoped benefit can be redeemed."""

    id = fields.BigIntField(primary_key=True)
    benefit: fields.ForeignKeyRelation[Benefit] = fields.ForeignKeyField(
        "loyalty.Benefit", related_name="merchants", on_delete=fields.CASCADE
    )
    benefit_id: int
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name="benefit_listings", on_delete=fields.RESTRICT
    )
    merchant_id: int

    class Meta:
        table = "loyalty_benefit_merchant"
        unique_together = (("benefit", "merchant"),)


class VoucherStatus(StrEnum):
    """A voucher is active until redeemed (a reversal makes it active again) or revoked (the purchase
    that earned it was refunded); revoked is final."""

    ACTIVE = "active"
    USED = "used"
    REVOKED = "revoked"


class Voucher(Model):
    """A benefit issued to a member: redeemable once, within its validity."""

    id = fields.BigIntField(primary_key=True)
    benefit: fields.ForeignKeyRelation[Benefit] = fields.ForeignKeyField(
        "loyalty.Benefit", related_name="vouchers", on_delete=fields.RESTRICT
    )
    benefit_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="vouchers", on_delete=fields.RESTRICT
    )
    member_id: int
    seq = fields.IntField(description="the member's n-th voucher of this benefit")
    member_limit = fields.IntField(description="the benefit's per-member limit when issued")
    source = fields.CharField(max_length=16, description="points, campaign or ops")
    source_reference = fields.CharField(max_length=191, unique=True)
    journal: fields.ForeignKeyNullableRelation[Journal] = fields.ForeignKeyField(
        "loyalty.Journal", related_name="vouchers", on_delete=fields.RESTRICT, null=True
    )
    journal_id: int | None
    status = fields.CharEnumField(VoucherStatus, max_length=16, default=VoucherStatus.ACTIVE)
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    issued_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "loyalty_voucher"
        unique_together = (("benefit", "member", "seq"),)
        indexes = (("member_id", "status", "valid_until"),)
        constraints = (
            CheckConstraint(check="seq >= 1 AND seq <= member_limit", name="loyalty_voucher_member_limit"),
        )


class RedemptionStatus(StrEnum):
    """A redemption stands, or was reversed (the voucher became active again)."""

    REDEEMED = "redeemed"
    REVERSED = "reversed"


class VoucherRedemption(Model):
    """A voucher used at a merchant's till or on a bill payment."""

    id = fields.BigIntField(primary_key=True)
    voucher: fields.ForeignKeyRelation[Voucher] = fields.ForeignKeyField(
        "loyalty.Voucher", related_name="redemptions", on_delete=fields.RESTRICT
    )
    voucher_id: int
    merchant: fields.ForeignKeyNullableRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name="voucher_redemptions", on_delete=fields.RESTRICT, null=True
    )
    merchant_id: int | None
    channel = fields.CharField(max_length=16, description="till or bill_payment")
    reference = fields.CharField(max_length=191, unique=True)
    nonce = fields.CharField(max_length=32, null=True, unique=True, description="the scanned token's nonce")
    staff_id = fields.BigIntField(null=True)
    bill_amount_fen = fields.BigIntField()
    discount_fen = fields.BigIntField()
    settlement_fen = fields.BigIntField(default=0, description="what the bank owes the merchant for it")
    status = fields.CharEnumField(RedemptionStatus, max_length=16, default=RedemptionStatus.REDEEMED)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    reversed_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "loyalty_voucher_redemption"
        indexes = (("merchant_id", "id"), ("voucher_id",))
        constraints = (
            CheckConstraint(
                check="bill_amount_fen > 0 AND discount_fen >= 0 AND discount_fen <= bill_amount_fen "
                "AND settlement_fen >= 0",
                name="loyalty_redemption_amounts",
            ),
        )


class StatementStatus(StrEnum):
    """A statement is built as a draft, confirmed by ops, then paid."""

    DRAFT = "draft"
    CONFIRMED = "confirmed"
    PAID = "paid"


class SettlementStatement(Model):
    """What the bank and one merchant owe each other for one business day (Asia/Shanghai)."""

    id = fields.BigIntField(primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name="settlement_statements", on_delete=fields.RESTRICT
    )
    merchant_id: int
    business_day = fields.DateField()
    status = fields.CharEnumField(StatementStatus, max_length=16, default=StatementStatus.DRAFT)
    payable_fen = fields.BigIntField(default=0, description="the bank owes the merchant")
    receivable_fen = fields.BigIntField(default=0, description="the merchant owes the bank")
    net_fen = fields.BigIntField(default=0, description="payable minus receivable")
    line_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    confirmed_at = fields.DatetimeField(null=True)
    paid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "loyalty_settlement_statement"
        unique_together = (("merchant", "business_day"),)
        indexes = (("business_day", "id"),)


class LineKind(StrEnum):
    """What a settlement line is for."""

    POINTS = "points"
    VOUCHER = "voucher"
    VOUCHER_REVERSAL = "voucher_reversal"
    MEMBER_PAYMENT = "member_payment"


class MemberPayment(Model):
    """What members paid the bank for a merchant's goods (a paid flash order of a merchant-funded
    campaign): the bank owes it to the merchant, on the day's statement."""

    id = fields.BigIntField(primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name=False, on_delete=fields.RESTRICT
    )
    merchant_id: int
    reference = fields.CharField(
        max_length=96, unique=True, description="the payment, e.g. flash-order:<ticket>"
    )
    amount_fen = fields.BigIntField()
    description = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "loyalty_member_payment"
        indexes = (("created_at",),)
        constraints = (CheckConstraint(check="amount_fen > 0", name="loyalty_member_payment_amount"),)


class SettlementLine(Model):
    """One event on a statement: signed fen, positive when the bank owes the merchant."""

    id = fields.BigIntField(primary_key=True)
    statement: fields.ForeignKeyRelation[SettlementStatement] = fields.ForeignKeyField(
        "loyalty.SettlementStatement", related_name="lines", on_delete=fields.RESTRICT
    )
    statement_id: int
    kind = fields.CharEnumField(LineKind, max_length=24)
    source_id = fields.BigIntField(description="the journal or the voucher redemption")
    amount_fen = fields.BigIntField()
    occurred_at = fields.DatetimeField()
    description = fields.CharField(max_length=64, default="")

    class Meta:
        table = "loyalty_settlement_line"
        unique_together = (("kind", "source_id"),)
        indexes = (("statement_id", "id"),)


class DailyRun(Model):
    """A once-per-business-day job that finished (settlement, automatic tags)."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=32)
    business_day = fields.DateField()
    finished_at = fields.DatetimeField()

    class Meta:
        table = "loyalty_daily_run"
        unique_together = (("name", "business_day"),)


class MessageKind(StrEnum):
    """What a message is about: each kind has its template, category and channel."""

    FLASH_REMINDER = "flash_reminder"
    POINTS_EXPIRING = "points_expiring"
    VOUCHER_EXPIRING = "voucher_expiring"
    CAMPAIGN_NEARBY = "campaign_nearby"
    BILL_REMINDER = "bill_reminder"
    BILL_PAID = "bill_paid"
    BILL_REFUNDED = "bill_refunded"
    REFERRAL_REWARD = "referral_reward"
    BROADCAST = "broadcast"


class DeliveryStatus(StrEnum):
    """Where a message to one member stands: waiting (quiet hours), in the inbox, or suppressed."""

    PENDING = "pending"
    SENT = "sent"
    SUPPRESSED = "suppressed"


class PushStatus(StrEnum):
    """The outcome of the outside channel (WeChat or SMS) of a sent message."""

    QUEUED = "queued"
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


class Message(Model):
    """One message event (a trigger's occurrence or a broadcast), delivered to one or more members."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(MessageKind, max_length=32)
    dedupe_key = fields.CharField(max_length=191, unique=True, description="the event, sent once")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "loyalty_message"


class MessageDelivery(Model):
    """A message to one member: at most one per (message, member), its inbox entry once sent."""

    id = fields.BigIntField(primary_key=True)
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "loyalty.Message", related_name="deliveries", on_delete=fields.RESTRICT
    )
    message_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="messages", on_delete=fields.RESTRICT
    )
    member_id: int
    kind = fields.CharEnumField(MessageKind, max_length=32)
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    reason = fields.CharField(max_length=32, null=True, description="why it was suppressed or waits")
    title = fields.CharField(max_length=128)
    body = fields.TextField()
    variables: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    channel = fields.CharField(max_length=16, null=True, description="the outside channel, if any")
    push_status = fields.CharEnumField(PushStatus, max_length=16, null=True)
    push_reason = fields.CharField(max_length=64, null=True)
    subscription_id = fields.BigIntField(null=True, description="the WeChat subscription it used")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "loyalty_message_delivery"
        unique_together = (("message", "member"),)
        indexes = (("member_id", "status", "id"), ("member_id", "sent_at"), ("status", "reason"))


class MessageOptOut(Model):
    """A kind of message one member does not want."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="message_opt_outs", on_delete=fields.CASCADE
    )
    member_id: int
    kind = fields.CharEnumField(MessageKind, max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "loyalty_message_opt_out"
        unique_together = (("member", "kind"),)


class WechatSubscription(Model):
    """One accepted one-time WeChat subscription (requestSubscribeMessage), used at most once."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="wechat_subscriptions", on_delete=fields.CASCADE
    )
    member_id: int
    template_id = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "loyalty_wechat_subscription"
        indexes = (("member_id", "template_id", "used_at"),)


class BroadcastStatus(StrEnum):
    """draft → approved (by a second operator) → sending → sent, or cancelled before sending."""

    DRAFT = "draft"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


class Broadcast(Model):
    """A promotional message ops send to a segment, in batches, once approved by a second operator."""

    id = fields.BigIntField(primary_key=True)
    title = fields.CharField(max_length=64)
    body = fields.CharField(max_length=500)
    tiers: fields.Field[list[str]] = fields.JSONField(default=list)
    tags: fields.Field[list[str]] = fields.JSONField(default=list)
    status = fields.CharEnumField(BroadcastStatus, max_length=16, default=BroadcastStatus.DRAFT)
    send_at = fields.DatetimeField(description="when sending starts")
    created_by = fields.BigIntField()
    approved_by = fields.BigIntField(null=True)
    message: fields.ForeignKeyNullableRelation[Message] = fields.ForeignKeyField(
        "loyalty.Message", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    message_id: int | None
    cursor = fields.BigIntField(default=0, description="the last member id the sending reached")
    targeted = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    approved_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "loyalty_broadcast"
        indexes = (("status", "send_at"),)
