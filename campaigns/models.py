"""Campaign tables: campaigns and their targeting, the blocklist, flash wins and grab statistics."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


class CampaignType(StrEnum):
    """What a campaign does for members."""

    FLASH = "flash"
    SPEND_AND_GET = "spend_and_get"
    MULTIPLIER = "multiplier"
    CHECKIN = "checkin"
    LUCKY_DRAW = "lucky_draw"
    REFERRAL = "referral"


class CampaignStatus(StrEnum):
    """Lifecycle: draft → pending_approval → approved → live ⇄ paused → ended, or cancelled."""

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    LIVE = "live"
    PAUSED = "paused"
    ENDED = "ended"
    CANCELLED = "cancelled"


class Funder(StrEnum):
    """Who pays for what a campaign gives away."""

    BANK = "bank"
    MERCHANT = "merchant"


class Campaign(Model):
    """A campaign configured by one operator and approved by another (four eyes)."""

    id = fields.BigIntField(primary_key=True)
    type = fields.CharEnumField(CampaignType, max_length=16)
    status = fields.CharEnumField(CampaignStatus, max_length=20, default=CampaignStatus.DRAFT)
    name = fields.CharField(max_length=128)
    description = fields.TextField(default="")
    banner_url = fields.CharField(max_length=512, default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    funder = fields.CharEnumField(Funder, max_length=16, default=Funder.BANK)
    funder_merchant: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "merchants.Merchant", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    funder_merchant_id: int | None
    grid_ids: fields.Field[list[int]] = fields.JSONField(default=list)
    categories: fields.Field[list[str]] = fields.JSONField(default=list)
    audience: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    config: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    stock = fields.IntField(default=0, description="flash items on sale (0 for other types)")
    member_limit = fields.IntField(default=1, description="rewards per member over the campaign")
    member_day_limit = fields.IntField(default=0, description="rewards per member per business day, 0 = none")
    budget_count = fields.BigIntField(null=True, description="rewards the budget pays for")
    budget_fen = fields.BigIntField(null=True, description="money the budget holds, fen")
    spent_count = fields.BigIntField(default=0)
    spent_fen = fields.BigIntField(default=0)
    created_by = fields.BigIntField(description="operator who created the campaign")
    updated_by = fields.BigIntField(description="operator who last edited the configuration")
    submitted_by = fields.BigIntField(null=True)
    approved_by = fields.BigIntField(null=True)
    approved_at = fields.DatetimeField(null=True)
    rejection_reason = fields.CharField(max_length=500, default="")
    end_reason = fields.CharField(max_length=32, default="")
    draw_seed = fields.CharField(
        max_length=64, null=True, description="lucky draw seed, revealed after the end"
    )
    draw_commitment = fields.CharField(max_length=64, null=True, description="sha256 of the draw seed")
    flash_epoch = fields.IntField(default=0, description="generation of the flash keys in Redis")
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "campaigns_campaign"
        indexes = (("status", "starts_at"),)
        constraints = (
            CheckConstraint(check="starts_at < ends_at", name="campaigns_campaign_window"),
            CheckConstraint(
                check="stock >= 0 AND member_limit >= 1 AND member_day_limit >= 0",
                name="campaigns_campaign_limits",
            ),
            CheckConstraint(check="type <> 'flash' OR stock >= 1", name="campaigns_campaign_flash_stock"),
            CheckConstraint(
                check="spent_count >= 0 AND spent_fen >= 0"
                " AND (budget_count IS NULL OR spent_count <= budget_count)"
                " AND (budget_fen IS NULL OR spent_fen <= budget_fen)",
                name="campaigns_campaign_budget",
            ),
            CheckConstraint(
                check="approved_by IS NULL OR (approved_by <> created_by AND approved_by <> updated_by)",
                name="campaigns_campaign_four_eyes",
            ),
            CheckConstraint(
                check="status NOT IN ('approved', 'live', 'paused') OR approved_by IS NOT NULL",
                name="campaigns_campaign_approved_by",
            ),
            UniqueConstraint(
                fields=("id", "stock", "member_limit", "member_day_limit"),
                name="campaigns_campaign_flash_terms",
            ),
        )


class CampaignMerchant(Model):
    """A merchant whose stores take part in a campaign."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name="merchants", on_delete=fields.CASCADE
    )
    campaign_id: int
    merchant: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "merchants.Merchant", related_name=False, on_delete=fields.RESTRICT
    )
    merchant_id: int

    class Meta:
        table = "campaigns_campaign_merchant"
        unique_together = (("campaign", "merchant"),)
        indexes = (("merchant_id",),)


class AudienceMember(Model):
    """A member on a campaign's explicit audience list (an imported segment)."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name="audience_members", on_delete=fields.CASCADE
    )
    campaign_id: int
    member: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "campaigns_audience_member"
        unique_together = (("campaign", "member"),)


class BlockedMember(Model):
    """A member barred from grabbing in flash campaigns (abuse)."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Any] = fields.OneToOneField(
        "loyalty.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    reason = fields.CharField(max_length=255, default="")
    created_by = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "campaigns_blocked_member"


class OrderStatus(StrEnum):
    """A flash win's order: free wins are issued at once; a priced win waits for its payment."""

    ISSUED = "issued"  # a free win: its reward was issued with it
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    EXPIRED = "expired"  # not paid by its deadline: its slot went back into the sale
    CANCELLED = "cancelled"  # given up by the member: its slot went back into the sale


RELEASED = (OrderStatus.EXPIRED, OrderStatus.CANCELLED)


class FlashWin(Model):
    """A won flash grab and its order. Partial unique indexes on the slot and sequences of the wins still
    held (not expired or cancelled) cap them at the stock and the member limits, slots being reusable."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name="flash_wins", on_delete=fields.RESTRICT
    )
    campaign_id: int
    member: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.RESTRICT
    )
    member_id: int
    slot = fields.IntField(description="1..stock, one per item sold")
    sequence = fields.IntField(description="1..member_limit, the member's n-th win")
    business_day = fields.DateField(description="Asia/Shanghai day of the grab")
    day_sequence = fields.IntField(description="the member's n-th win that business day")
    stock = fields.IntField(description="the campaign's stock, tied to it by a composite key")
    member_limit = fields.IntField()
    member_day_limit = fields.IntField()
    ticket_id = fields.CharField(max_length=64, unique=True)
    epoch = fields.IntField(description="generation of the Redis keys that issued the win")
    won_at = fields.DatetimeField(description="Redis time of the grab")
    status = fields.CharEnumField(OrderStatus, max_length=16, default=OrderStatus.ISSUED)
    price_fen = fields.BigIntField(default=0, description="what the winner pays in fen")
    price_points = fields.BigIntField(default=0, description="what the winner pays in points")
    pay_by = fields.DatetimeField(null=True, description="payment deadline of a priced win")
    paid_at = fields.DatetimeField(null=True)
    released_at = fields.DatetimeField(null=True, description="when its slot went back into the sale")
    keeps_count = fields.BooleanField(
        default=False, description="released but still counted against the member limits"
    )
    debit_started_at = fields.DatetimeField(null=True, description="when a bank debit was first asked for")
    bank_txn_no = fields.CharField(max_length=64, null=True, description="the bank debit that paid it")
    refunded_at = fields.DatetimeField(null=True, description="when a debit that came too late went back")
    created_at = fields.DatetimeField(auto_now_add=True)
    idempotency_key = fields.CharField(
        max_length=255, null=True, description="the grab's Idempotency-Key, answered again after a rebuild"
    )

    class Meta:
        table = "campaigns_flash_win"
        indexes = (("member_id", "id"), ("status", "pay_by"))
        # The slot and sequence UNIQUE indexes are partial (wins still held), hand-written in migration
        # 0008_flash_orders.
        constraints = (
            CheckConstraint(
                check="(status IN ('expired', 'cancelled')) = (released_at IS NOT NULL)"
                " AND (status = 'paid') = (paid_at IS NOT NULL)"
                " AND (keeps_count = FALSE OR released_at IS NOT NULL)",
                name="campaigns_flash_win_order_state",
            ),
            CheckConstraint(
                check="price_fen >= 0 AND price_points >= 0 AND (price_fen = 0 OR price_points = 0)"
                " AND (status = 'issued') = (price_fen = 0 AND price_points = 0)"
                " AND (status = 'issued' OR pay_by IS NOT NULL)",
                name="campaigns_flash_win_price",
            ),
            CheckConstraint(check="slot BETWEEN 1 AND stock", name="campaigns_flash_win_slot_range"),
            CheckConstraint(
                check="sequence BETWEEN 1 AND member_limit", name="campaigns_flash_win_sequence_range"
            ),
            CheckConstraint(
                check="day_sequence >= 1 AND (member_day_limit = 0 OR day_sequence <= member_day_limit)",
                name="campaigns_flash_win_day_range",
            ),
        )


class CampaignStats(Model):
    """Grab counters of a flash campaign, copied from Redis so they outlive its keys."""

    campaign: fields.OneToOneRelation[Campaign] = fields.OneToOneField(
        "campaigns.Campaign", related_name="stats", on_delete=fields.CASCADE, primary_key=True
    )
    campaign_id: int
    outcomes: fields.Field[dict[str, int]] = fields.JSONField(default=dict)
    participants = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "campaigns_stats"


# -- phase 2b: the other campaign types ----------------------------------------------------------------


class PayoutReason(StrEnum):
    """Why a campaign paid a member."""

    SPEND = "spend"
    CHECKIN = "checkin"
    DRAW = "draw"
    REFERRER = "referrer"
    REFEREE = "referee"
    MULTIPLIER = "multiplier"


class CampaignPayout(Model):
    """A reward paid by a spend-and-get, check-in, lucky-draw or referral campaign: one per reference.

    Like flash wins, the row carries the member's n-th payout (overall and that business day) with the
    campaign's limits, so UNIQUE and CHECK constraints cap payouts at the limits whatever the code does.
    """

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name="payouts", on_delete=fields.RESTRICT
    )
    campaign_id: int
    member: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.RESTRICT
    )
    member_id: int
    reference = fields.CharField(max_length=160, unique=True, description="campaign:<id>:<what was paid>")
    reason = fields.CharEnumField(PayoutReason, max_length=16)
    kind = fields.CharField(max_length=8, description="voucher, points or gift")
    points = fields.BigIntField(default=0, description="points credited (points rewards)")
    voucher_id = fields.BigIntField(null=True, description="the voucher issued (voucher and gift rewards)")
    cost_fen = fields.BigIntField(default=0, description="what the payout spent of the budget")
    sequence = fields.IntField(description="the member's n-th payout in the campaign")
    business_day = fields.DateField(description="Asia/Shanghai day of the payout")
    day_sequence = fields.IntField(description="the member's n-th payout that business day")
    member_limit = fields.IntField()
    member_day_limit = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    reversed_at = fields.DatetimeField(
        null=True, description="when the purchase that earned it was refunded and the reward taken back"
    )

    class Meta:
        table = "campaigns_payout"
        indexes = (("member_id", "id"),)
        constraints = (
            UniqueConstraint(
                fields=("campaign_id", "member_id", "sequence"), name="campaigns_payout_sequence"
            ),
            UniqueConstraint(
                fields=("campaign_id", "member_id", "business_day", "day_sequence"),
                name="campaigns_payout_day_sequence",
            ),
            CheckConstraint(
                check="sequence BETWEEN 1 AND member_limit", name="campaigns_payout_sequence_range"
            ),
            CheckConstraint(
                check="day_sequence >= 1 AND (member_day_limit = 0 OR day_sequence <= member_day_limit)",
                name="campaigns_payout_day_range",
            ),
        )


class CheckIn(Model):
    """A member's check-in in a check-in campaign: at most one per business day."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name="checkins", on_delete=fields.RESTRICT
    )
    campaign_id: int
    member: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.RESTRICT
    )
    member_id: int
    business_day = fields.DateField(description="Asia/Shanghai day of the check-in")
    streak = fields.IntField(description="consecutive days up to and including this one")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "campaigns_checkin"
        unique_together = (("campaign", "member", "business_day"),)
        constraints = (CheckConstraint(check="streak >= 1", name="campaigns_checkin_streak"),)


class DrawPrize(Model):
    """A lucky-draw prize's stock: taken by a conditional decrement, never below zero."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name="prizes", on_delete=fields.RESTRICT
    )
    campaign_id: int
    prize_index = fields.IntField(description="index of the prize in the campaign's configuration")
    name = fields.CharField(max_length=64)
    stock = fields.IntField()
    stock_left = fields.IntField()

    class Meta:
        table = "campaigns_draw_prize"
        unique_together = (("campaign", "prize_index"),)
        constraints = (
            CheckConstraint(
                check="stock_left >= 0 AND stock_left <= stock", name="campaigns_draw_prize_left"
            ),
        )


class Draw(Model):
    """One lucky draw: its reference, the HMAC of the seed over it, the roll and the outcome (append-only)."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name="draws", on_delete=fields.RESTRICT
    )
    campaign_id: int
    member: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.RESTRICT
    )
    member_id: int
    reference = fields.CharField(max_length=64, unique=True, description="draw:<campaign>:<member>:<n>")
    sequence = fields.IntField(description="the member's n-th draw in the campaign")
    business_day = fields.DateField()
    day_sequence = fields.IntField()
    member_limit = fields.IntField()
    member_day_limit = fields.IntField()
    cost_points = fields.BigIntField(default=0)
    digest = fields.CharField(max_length=64, description="hex HMAC-SHA256(seed, reference)")
    roll = fields.IntField(description="first 8 bytes of the digest mod 1,000,000")
    outcome = fields.CharField(max_length=16, description="won, no_prize or out_of_stock")
    prize_index = fields.IntField(null=True)
    prize_name = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "campaigns_draw"
        indexes = (("campaign_id", "member_id"),)
        constraints = (
            UniqueConstraint(fields=("campaign_id", "member_id", "sequence"), name="campaigns_draw_sequence"),
            UniqueConstraint(
                fields=("campaign_id", "member_id", "business_day", "day_sequence"),
                name="campaigns_draw_day_sequence",
            ),
            CheckConstraint(
                check="sequence BETWEEN 1 AND member_limit", name="campaigns_draw_sequence_range"
            ),
            CheckConstraint(
                check="day_sequence >= 1 AND (member_day_limit = 0 OR day_sequence <= member_day_limit)",
                name="campaigns_draw_day_range",
            ),
            CheckConstraint(check="roll >= 0 AND roll < 1000000", name="campaigns_draw_roll"),
        )


class ReferralCode(Model):
    """A member's referral code (one per member, created on first use)."""

    member: fields.OneToOneRelation[Any] = fields.OneToOneField(
        "loyalty.Member", related_name=False, on_delete=fields.CASCADE, primary_key=True
    )
    member_id: int
    code = fields.CharField(max_length=16, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "campaigns_referral_code"


class ReferralStatus(StrEnum):
    """A referral waits for the referee's first qualifying spend, then both are rewarded."""

    PENDING = "pending"
    REWARDED = "rewarded"
    REVOKED = "revoked"  # the qualifying sale was refunded and both rewards taken back


class Referral(Model):
    """A referee who entered a referrer's code: once per referee, never oneself."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name="referrals", on_delete=fields.RESTRICT
    )
    campaign_id: int
    referrer: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.RESTRICT
    )
    referrer_id: int
    referee: fields.OneToOneRelation[Any] = fields.OneToOneField(
        "loyalty.Member", related_name=False, on_delete=fields.RESTRICT
    )
    referee_id: int
    status = fields.CharEnumField(ReferralStatus, max_length=16, default=ReferralStatus.PENDING)
    sale_id = fields.BigIntField(null=True, description="the referee's first qualifying sale")
    accepted_at = fields.DatetimeField(auto_now_add=True)
    rewarded_at = fields.DatetimeField(null=True)

    class Meta:
        table = "campaigns_referral"
        indexes = (("referrer_id", "id"),)
        constraints = (
            CheckConstraint(check="referrer_id <> referee_id", name="campaigns_referral_not_self"),
            CheckConstraint(
                check=(
                    "(status IN ('rewarded', 'revoked')) = (sale_id IS NOT NULL AND rewarded_at IS NOT NULL)"
                ),
                name="campaigns_referral_rewarded",
            ),
        )


class FlashReminder(Model):
    """A member's "remind me" on a flash campaign: one reminder before it opens."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name="reminders", on_delete=fields.CASCADE
    )
    campaign_id: int
    member_id = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "campaigns_flash_reminder"
        unique_together = (("campaign", "member_id"),)
        indexes = (("campaign_id", "sent_at", "id"),)
