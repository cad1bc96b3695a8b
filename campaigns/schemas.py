"""Campaign request and response bodies: common fields, one configuration shape per campaign type."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from app.core.inputs import MAX_INT32, AwareInstant, Id, Patch
from campaigns.models import CampaignStatus, CampaignType, Funder

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="lower-case slug")]
PositiveId = Id  # every id a client sends is bounded (app.core.inputs)
MAX_WINDOW = timedelta(days=366)


class Reward(BaseModel):
    """What a member receives: a voucher, points or a gift, and what one costs its funder."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["voucher", "points", "gift"]
    title: str = Field(min_length=1, max_length=64)
    value_fen: int = Field(0, ge=0, le=10_000_000, description="voucher face value or gift value, fen")
    points: int = Field(0, ge=0, le=10_000_000, description="points credited (kind points)")
    cost_fen: int = Field(0, ge=0, le=10_000_000, description="what one reward costs the funder, fen")
    benefit_id: PositiveId | None = Field(
        None, description="the loyalty benefit issued as the member's voucher (flash: required for vouchers)"
    )

    @model_validator(mode="after")
    def _value_matches_kind(self) -> Reward:
        if self.kind == "points" and self.points < 1:
            raise ValueError("points: a points reward credits at least 1 point")
        if self.kind == "voucher" and self.value_fen < 1:
            raise ValueError("value_fen: a voucher has a face value")
        return self


def _issuable(*rewards: Reward) -> None:
    """Non-flash rewards are paid by `campaigns.types.payouts`: a voucher or gift names its benefit."""
    for reward in rewards:
        if reward.kind != "points" and reward.benefit_id is None:
            raise ValueError("benefit_id: a voucher or gift reward names the catalogue benefit it issues")


class FlashConfig(BaseModel):
    """Flash sale / coupon drop: a fixed stock grabbed from a set time, optionally for points or fen."""

    model_config = ConfigDict(extra="forbid")

    type: Literal[CampaignType.FLASH]
    stock: int = Field(ge=1, le=1_000_000)
    price_points: int = Field(0, ge=0, le=10_000_000, description="a win is an order paid in points")
    price_fen: int = Field(0, ge=0, le=10_000_000, description="a win is an order paid from the bank account")
    payment_minutes: int = Field(10, ge=1, le=60, description="minutes a winner has to pay a priced win")
    expired_counts: bool = Field(
        False, description="an unpaid or cancelled win still counts against the per-member limit"
    )
    reward: Reward

    @model_validator(mode="after")
    def _one_price(self) -> FlashConfig:
        if self.price_points and self.price_fen:
            raise ValueError("price_fen: a flash item is priced in fen or in points, not both")
        return self


class SpendAndGetConfig(BaseModel):
    """Spend at least `min_spend_fen` at an eligible merchant within the window, receive the reward."""

    model_config = ConfigDict(extra="forbid")

    type: Literal[CampaignType.SPEND_AND_GET]
    min_spend_fen: int = Field(ge=1, le=100_000_000)
    reward: Reward

    @model_validator(mode="after")
    def _rewards(self) -> SpendAndGetConfig:
        _issuable(self.reward)
        return self


class MultiplierConfig(BaseModel):
    """Points earned at eligible merchants, categories or grids within the window are multiplied."""

    model_config = ConfigDict(extra="forbid")

    type: Literal[CampaignType.MULTIPLIER]
    multiplier_percent: int = Field(ge=101, le=1000, description="200 doubles the points earned")


class CheckinConfig(BaseModel):
    """N check-ins on consecutive business days earn the reward."""

    model_config = ConfigDict(extra="forbid")

    type: Literal[CampaignType.CHECKIN]
    streak_days: int = Field(ge=2, le=366)
    reward: Reward

    @model_validator(mode="after")
    def _rewards(self) -> CheckinConfig:
        _issuable(self.reward)
        return self


class Prize(BaseModel):
    """One prize of a lucky draw: its chance in parts per million and how many exist."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    probability_ppm: int = Field(ge=1, le=1_000_000)
    stock: int = Field(ge=1, le=1_000_000)
    reward: Reward


class LuckyDrawConfig(BaseModel):
    """A draw that costs points; prizes have probabilities and stock, the seed is committed up front."""

    model_config = ConfigDict(extra="forbid")

    type: Literal[CampaignType.LUCKY_DRAW]
    cost_points: int = Field(ge=0, le=10_000_000)
    prizes: list[Prize] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _probabilities(self) -> LuckyDrawConfig:
        if sum(p.probability_ppm for p in self.prizes) > 1_000_000:
            raise ValueError("prizes: probabilities add up to more than 1,000,000 ppm")
        if len({p.name for p in self.prizes}) != len(self.prizes):
            raise ValueError("prizes: names must be unique")
        _issuable(*(p.reward for p in self.prizes))
        return self


class ReferralConfig(BaseModel):
    """Member-gets-member: both are rewarded after the referee's first qualifying spend."""

    model_config = ConfigDict(extra="forbid")

    type: Literal[CampaignType.REFERRAL]
    qualifying_min_spend_fen: int = Field(0, ge=0, le=100_000_000)
    referrer_reward: Reward
    referee_reward: Reward

    @model_validator(mode="after")
    def _rewards(self) -> ReferralConfig:
        _issuable(self.referrer_reward, self.referee_reward)
        return self


CampaignConfig = Annotated[
    FlashConfig | SpendAndGetConfig | MultiplierConfig | CheckinConfig | LuckyDrawConfig | ReferralConfig,
    Field(discriminator="type"),
]


class Audience(BaseModel):
    """Who may take part: every criterion set must hold (tiers: any of them, tags: all of them)."""

    model_config = ConfigDict(extra="forbid")

    tiers: list[Slug] = Field(default_factory=list, max_length=10)
    tags: list[Slug] = Field(default_factory=list, max_length=20)
    member_list: bool = Field(False, description="only members on the campaign's audience list")
    new_members_only: bool = Field(False, description="only members registered in the last new_member_days")
    new_member_days: int = Field(30, ge=1, le=365)
    exclude_registered_within_minutes: int = Field(
        0, ge=0, le=525_600, description="members registered this recently may not take part (anti-abuse)"
    )

    @model_validator(mode="after")
    def _unique(self) -> Audience:
        self.tiers = list(dict.fromkeys(self.tiers))
        self.tags = list(dict.fromkeys(self.tags))
        return self


_EXAMPLE: dict[str, Any] = {
    "name": "10:00 coffee flash sale",
    "description": "1,000 coffee vouchers at ¥1, one per member",
    "banner_url": "https://cdn.example.com/banners/coffee.png",
    "starts_at": "2026-12-01T02:00:00Z",
    "ends_at": "2026-12-01T04:00:00Z",
    "grid_ids": [1, 2],
    "merchant_ids": [7],
    "categories": ["coffee"],
    "audience": {"member_list": True, "exclude_registered_within_minutes": 60},
    "per_member_limit": 1,
    "budget_fen": 1_500_000,
    "funder": "bank",
    "config": {
        "type": "flash",
        "stock": 1000,
        "price_fen": 100,
        "reward": {
            "kind": "voucher",
            "title": "Latte voucher",
            "value_fen": 1600,
            "cost_fen": 1500,
            "benefit_id": 12,
        },
    },
}


class _CommonFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field("", max_length=2000)
    banner_url: HttpUrl | None = None
    grid_ids: list[PositiveId] = Field(default_factory=list, max_length=200)
    merchant_ids: list[PositiveId] = Field(default_factory=list, max_length=1000)
    categories: list[Slug] = Field(default_factory=list, max_length=50)
    audience: Audience = Field(default_factory=Audience)
    per_member_limit: int = Field(1, ge=1, le=10_000, description="rewards per member over the campaign")
    per_member_daily_limit: int | None = Field(
        None, ge=1, le=10_000, description="rewards per member per day"
    )
    budget_count: int | None = Field(None, ge=1, le=100_000_000, description="rewards the budget pays for")
    budget_fen: int | None = Field(None, ge=1, le=100_000_000_000, description="budget in fen")
    funder: Funder = Funder.BANK
    funder_merchant_id: PositiveId | None = None


class CampaignIn(_CommonFields):
    """A new campaign (created as a draft)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": _EXAMPLE})

    name: str = Field(min_length=1, max_length=128)
    starts_at: AwareInstant
    ends_at: AwareInstant
    config: CampaignConfig


class CampaignPatch(Patch):
    """Changes to a campaign; an approved campaign goes back to pending approval (`null` clears only
    `banner_url`, the daily limit, the budgets and `funder_merchant_id`)."""

    nullable = frozenset(
        {
            "version",
            "banner_url",
            "per_member_daily_limit",
            "budget_count",
            "budget_fen",
            "funder_merchant_id",
        }
    )

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"name": "10:00 latte flash sale", "version": 3}}
    )

    version: int | None = Field(
        None, ge=1, le=MAX_INT32, description="the version you edited; 409 if it changed since"
    )
    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = Field(None, max_length=2000)
    banner_url: HttpUrl | None = None
    starts_at: AwareInstant | None = None
    ends_at: AwareInstant | None = None
    grid_ids: list[PositiveId] | None = Field(None, max_length=200)
    merchant_ids: list[PositiveId] | None = Field(None, max_length=1000)
    categories: list[Slug] | None = Field(None, max_length=50)
    audience: Audience | None = None
    per_member_limit: int | None = Field(None, ge=1, le=10_000)
    per_member_daily_limit: int | None = Field(None, ge=0, le=10_000, description="0 removes the daily limit")
    budget_count: int | None = Field(None, ge=0, le=100_000_000, description="0 removes the count budget")
    budget_fen: int | None = Field(None, ge=0, le=100_000_000_000, description="0 removes the fen budget")
    funder: Funder | None = None
    funder_merchant_id: PositiveId | None = None
    config: CampaignConfig | None = None


class ApproveIn(BaseModel):
    """Approve the version you reviewed."""

    model_config = ConfigDict(json_schema_extra={"example": {"version": 3}})

    version: int | None = Field(
        None, ge=1, le=MAX_INT32, description="409 if the campaign changed since you reviewed it"
    )


class ReasonIn(BaseModel):
    """A transition that carries a reason (rejection, early end, cancellation)."""

    model_config = ConfigDict(json_schema_extra={"example": {"reason": "banner does not match the offer"}})

    reason: str = Field("", max_length=500)


class CampaignOut(BaseModel):
    """A campaign as operators see it."""

    id: int
    type: CampaignType
    status: CampaignStatus
    name: str
    description: str
    banner_url: str
    starts_at: datetime
    ends_at: datetime
    grid_ids: list[int]
    merchant_ids: list[int]
    categories: list[str]
    audience: Audience
    per_member_limit: int
    per_member_daily_limit: int | None
    budget_count: int | None
    budget_fen: int | None
    spent_count: int
    spent_fen: int
    funder: Funder
    funder_merchant_id: int | None
    config: dict[str, Any]
    created_by: int
    updated_by: int
    submitted_by: int | None
    approved_by: int | None
    approved_at: datetime | None
    rejection_reason: str
    end_reason: str
    draw_commitment: str | None = Field(None, description="sha256 of the lucky-draw seed, published up front")
    draw_seed: str | None = Field(None, description="the lucky-draw seed, revealed once the campaign ended")
    version: int
    created_at: datetime
    updated_at: datetime


class CampaignPublicOut(BaseModel):
    """A campaign as members and stores see it."""

    id: int
    type: CampaignType
    status: CampaignStatus
    name: str
    description: str
    banner_url: str
    starts_at: datetime
    ends_at: datetime
    merchant_ids: list[int]
    categories: list[str]
    per_member_limit: int
    per_member_daily_limit: int | None
    config: dict[str, Any]
    draw_commitment: str | None = None
    draw_seed: str | None = None


class StoreCampaignOut(BaseModel):
    """A campaign running at a store, as the store's page shows it."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "campaign_id": 7,
                "name": "10:00 coffee flash sale",
                "type": "flash",
                "ends_at": "2026-12-01T04:00:00Z",
            }
        }
    )

    campaign_id: int
    name: str
    type: CampaignType
    ends_at: datetime = Field(description="when the campaign's window closes")


class AudienceMembersIn(BaseModel):
    """Members to add to (or remove from) a campaign's audience list."""

    model_config = ConfigDict(json_schema_extra={"example": {"member_ids": [101, 102, 103]}})

    member_ids: list[PositiveId] = Field(min_length=1, max_length=10_000)


class AudienceMembersOut(BaseModel):
    """How the audience list changed."""

    changed: int
    total: int


class BlockIn(BaseModel):
    """Bar a member from flash grabs."""

    model_config = ConfigDict(json_schema_extra={"example": {"member_id": 42, "reason": "scripted grabbing"}})

    member_id: PositiveId
    reason: str = Field("", max_length=255)


class BlockedOut(BaseModel):
    """A blocked member."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    reason: str
    created_by: int
    created_at: datetime


class GrabOut(BaseModel):
    """The answer to a grab: won (with a ticket), sold_out, limit_reached, not_eligible, not_started,
    paused or ended."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"campaign_id": 7, "outcome": "won", "ticket_id": "7-1-42", "sequence": 1}
        }
    )

    campaign_id: int
    outcome: Literal["won", "sold_out", "limit_reached", "not_eligible", "not_started", "paused", "ended"]
    ticket_id: str | None = Field(
        None, description="identifies the win; it appears in my wins within seconds"
    )
    sequence: int | None = Field(None, description="this is the member's n-th win in the campaign")


class StockOut(BaseModel):
    """Stock left of a flash campaign (one Redis read)."""

    model_config = ConfigDict(json_schema_extra={"example": {"campaign_id": 7, "stock": 1000, "left": 420}})

    campaign_id: int
    stock: int | None = Field(None, description="null until the campaign is loaded, shortly before its start")
    left: int | None = Field(None, description="null until the campaign is loaded")


class WinOut(BaseModel):
    """A persisted flash win of the calling member."""

    model_config = ConfigDict(from_attributes=True)

    ticket_id: str
    campaign_id: int
    sequence: int
    won_at: datetime
    voucher_id: int | None = Field(
        None, description="the voucher the win became (None for a points reward or a refused voucher)"
    )


class ParticipationOut(BaseModel):
    """The calling member's part in one campaign."""

    campaign_id: int
    wins: list[WinOut]
    pending: int = Field(description="wins answered but not yet written to the database (seconds)")
    remaining: int = Field(description="how many more the member may still win")


class LiveOut(BaseModel):
    """The live view of a flash campaign: stock draining, grab rate, persistence lag."""

    campaign_id: int
    status: CampaignStatus
    loaded: bool = Field(description="whether the campaign's keys are in Redis")
    state: str | None = Field(None, description="the engine's state: ready, paused, ended or rebuilding")
    stock: int
    left: int | None
    issued: int = Field(description="wins answered by the engine")
    persisted: int = Field(description="wins written to the database")
    pending_persist: int = Field(description="stream entries not yet acknowledged by a persister")
    grabs_per_second: float = Field(description="average over the last 5 seconds")
    grabs_last_seconds: list[int] = Field(description="grabs per second, the last 60 seconds, oldest first")
    outcomes: dict[str, int]
    participants: int
    epoch: int
    at: datetime


class MerchantResultOut(BaseModel):
    """A campaign's vouchers redeemed at one merchant."""

    merchant_id: int
    grid_id: int | None
    vouchers_redeemed: int
    discount_fen: int = Field(description="what the redeemed vouchers took off the bills")


class GridResultOut(BaseModel):
    """A campaign's vouchers redeemed at the merchants of one grid (null: merchants outside every grid)."""

    grid_id: int | None
    merchants: int = Field(description="merchants of the grid where the campaign's vouchers were redeemed")
    vouchers_redeemed: int
    discount_fen: int


class AnalyticsOut(BaseModel):
    """A campaign's results so far."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "campaign_id": 7,
                "type": "flash",
                "status": "ended",
                "participants": 48211,
                "grabs_tried": 97540,
                "grabs_won": 1000,
                "outcomes": {"won": 1000, "sold_out": 96102, "limit_reached": 438},
                "rewards_issued": 1000,
                "vouchers_issued": 1000,
                "vouchers_redeemed": 412,
                "redemption_rate": 0.412,
                "redeemed_discount_fen": 659200,
                "cost_fen": 1500000,
                "points_issued": 0,
                "budget_count": None,
                "budget_fen": 1500000,
                "new_members_acquired": 57,
                "orders": {
                    "wins": 1180,
                    "awaiting_payment": 0,
                    "paid": 1000,
                    "expired": 150,
                    "cancelled": 30,
                    "revenue_fen": 100000,
                    "points_collected": 0,
                },
                "by_merchant": [
                    {"merchant_id": 3, "grid_id": 1, "vouchers_redeemed": 412, "discount_fen": 659200}
                ],
                "by_grid": [{"grid_id": 1, "merchants": 1, "vouchers_redeemed": 412, "discount_fen": 659200}],
            }
        }
    )

    campaign_id: int
    type: CampaignType
    status: CampaignStatus
    participants: int = Field(description="distinct members who grabbed (flash) or received a reward")
    grabs_tried: int
    grabs_won: int
    outcomes: dict[str, int]
    rewards_issued: int = Field(description="flash wins rewarded: free ones persisted, priced ones paid")
    vouchers_issued: int = Field(description="loyalty vouchers issued by the campaign")
    vouchers_redeemed: int = Field(description="of those, redeemed (and not reversed)")
    redemption_rate: float = Field(description="vouchers_redeemed / vouchers_issued (0 when none issued)")
    redeemed_discount_fen: int = Field(description="what the redeemed vouchers took off bills, fen")
    cost_fen: int = Field(description="the budget spent, fen")
    points_issued: int = Field(description="net points the campaign credited (earns less reversals)")
    budget_count: int | None
    budget_fen: int | None
    new_members_acquired: int = Field(
        description="rewarded members who joined the alliance after the campaign was approved and at most "
        "7 days after their first reward from it"
    )
    orders: FlashOrdersOut | None = Field(None, description="a priced flash campaign's orders")
    by_merchant: list[MerchantResultOut]
    by_grid: list[GridResultOut]


class FlashOrdersOut(BaseModel):
    """What became of a priced flash campaign's wins (each a payment order)."""

    wins: int = Field(description="wins persisted, including those whose slot went back on sale")
    awaiting_payment: int
    paid: int
    expired: int = Field(description="not paid by the deadline")
    cancelled: int
    revenue_fen: int = Field(description="what members paid from their bank accounts")
    points_collected: int = Field(description="what members paid in points")


def validate_window(starts_at: datetime, ends_at: datetime) -> str | None:
    """The name of the offending field when the window is impossible, else None."""
    if ends_at <= starts_at:
        return "ends_at"
    if ends_at - starts_at > MAX_WINDOW:
        return "ends_at"
    return None


# -- member actions of the other campaign types (check-in, lucky draw, referral) -----------------------


class CheckinOut(BaseModel):
    """My check-in progress in a check-in campaign."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "campaign_id": 9,
                "business_day": "2026-12-03",
                "checked_in_today": True,
                "streak": 3,
                "streak_days": 7,
                "progress": 3,
                "days_to_reward": 4,
                "days": ["2026-12-01", "2026-12-02", "2026-12-03"],
                "rewards": 0,
                "payout": None,
            }
        }
    )

    campaign_id: int
    business_day: date = Field(description="today, Asia/Shanghai")
    checked_in_today: bool
    streak: int = Field(
        description="consecutive days checked in, up to today (or yesterday if not yet today)"
    )
    streak_days: int = Field(description="consecutive days that earn the reward")
    progress: int = Field(description="days of the current streak counting towards the next reward")
    days_to_reward: int = Field(description="check-ins still needed for the next reward")
    days: list[date] = Field(description="my check-in days of the last two months, oldest first")
    rewards: int = Field(description="rewards this campaign paid me")
    payout: str | None = Field(
        None,
        description="this check-in completed a streak: paid, limit_reached, day_limit_reached, "
        "budget_exhausted or reward_unavailable",
    )


class DrawOut(BaseModel):
    """One lucky draw of mine, with what is needed to verify it once the seed is revealed."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "campaign_id": 12,
                "reference": "draw:12:345:1",
                "sequence": 1,
                "outcome": "won",
                "prize_name": "Movie ticket",
                "digest": "5f2c…",
                "roll": 123456,
                "cost_points": 100,
                "created_at": "2026-12-01T02:00:03Z",
                "verified": None,
            }
        },
    )

    campaign_id: int
    reference: str = Field(description="the draw's reference, the HMAC message")
    sequence: int = Field(description="my n-th draw in the campaign")
    outcome: Literal["won", "no_prize", "out_of_stock", "budget_exhausted", "unavailable"] = Field(
        description="won a prize; no_prize (the roll fell outside every prize); out_of_stock (the prize "
        "rolled is gone); budget_exhausted or unavailable (the prize could not be paid)"
    )
    prize_name: str | None = Field(None, description="the prize the roll landed on")
    digest: str = Field(description="hex HMAC-SHA256(key=seed, msg=reference)")
    roll: int = Field(description="the digest's first 8 bytes as an integer, mod 1,000,000")
    cost_points: int = Field(description="points the draw cost")
    created_at: datetime
    verified: bool | None = Field(
        None, description="once the seed is revealed: whether this draw follows from it (null before)"
    )


class DrawsOut(BaseModel):
    """My draws in a lucky-draw campaign and the seed commitment they can be checked against."""

    campaign_id: int
    draw_commitment: str | None = Field(description="sha256 of the seed, published before the start")
    draw_seed: str | None = Field(description="the seed, revealed once the campaign ended")
    draws: list[DrawOut]


class InvitationOut(BaseModel):
    """A member who accepted my referral code."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="the referral's id")
    campaign_id: int
    status: Literal["pending", "rewarded", "revoked"] = Field(
        description="pending until the friend's first qualifying spend, then rewarded (both of us);"
        " revoked when that purchase was refunded and both rewards taken back"
    )
    accepted_at: datetime
    rewarded_at: datetime | None


class ReferralOut(BaseModel):
    """My referral code, who accepted it, and whether I came through a referral myself."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"code": "K7MQ2XRD", "invitations": [], "referred": False, "referred_status": None}
        }
    )

    code: str = Field(description="share it with friends; they enter it once, as new members")
    invitations: list[InvitationOut] = Field(description="friends who accepted my code, newest first")
    referred: bool = Field(description="whether I accepted someone's code")
    referred_status: Literal["pending", "rewarded", "revoked"] | None = Field(
        None, description="the state of my own referral, if any"
    )


class ReferralAcceptIn(BaseModel):
    """A friend's referral code."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"code": "K7MQ2XRD"}})

    code: str = Field(min_length=4, max_length=16, description="the code, case-insensitive")


class ReferralAcceptedOut(BaseModel):
    """My accepted referral: we are both rewarded after my first qualifying spend."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    campaign_id: int
    status: Literal["pending", "rewarded", "revoked"]
    accepted_at: datetime


class PrizeAuditOut(BaseModel):
    """One prize of a lucky draw: its stock, what is left and how often it was won."""

    name: str
    probability_ppm: int
    stock: int
    left: int = Field(description="stock left in the database")
    won: int = Field(description="draws that won it; stock - left must equal this")


class DrawVerificationOut(BaseModel):
    """Every draw of a lucky draw recomputed from the seed: the ops audit of its fairness."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "campaign_id": 12,
                "draw_commitment": "9c1d…",
                "commitment_matches": True,
                "draws": 1500,
                "verified": 1500,
                "mismatches": [],
                "outcomes": {"won": 20, "no_prize": 1400, "out_of_stock": 80},
                "prizes": [],
                "stock_consistent": True,
            }
        }
    )

    campaign_id: int
    draw_commitment: str | None = Field(description="the sha256 published before the window opened")
    commitment_matches: bool = Field(description="sha256(seed) equals the published commitment")
    draws: int
    verified: int = Field(description="draws whose digest, roll and prize follow from the seed")
    mismatches: list[str] = Field(description="references of draws that do not (at most 100)")
    outcomes: dict[str, int]
    prizes: list[PrizeAuditOut]
    stock_consistent: bool = Field(description="for every prize, stock - left = times won")


class PayoutOut(BaseModel):
    """A reward a campaign paid me (spend-and-get, multiplier bonus, check-in, lucky draw, referral)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    campaign_id: int
    reason: Literal["spend", "multiplier", "checkin", "draw", "referrer", "referee"] = Field(
        description="what earned it: a qualifying sale, a boosted sale, a check-in streak, a prize, "
        "a referral (as referrer or referee)"
    )
    kind: Literal["voucher", "points", "gift"]
    points: int = Field(description="points credited (points rewards and multiplier bonuses)")
    voucher_id: int | None = Field(None, description="the voucher issued, in my vouchers")
    business_day: date
    created_at: datetime


class FlashOrderOut(BaseModel):
    """A priced flash win: an order to pay by its deadline (won → awaiting_payment → paid | expired |
    cancelled)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 812,
                "campaign_id": 7,
                "campaign_name": "10:00 coffee vouchers at ¥1",
                "ticket_id": "7-1-412",
                "status": "awaiting_payment",
                "price_fen": 100,
                "price_points": 0,
                "won_at": "2026-12-05T02:00:00.412Z",
                "pay_by": "2026-12-05T02:10:00.412Z",
                "seconds_left": 533,
                "paid_at": None,
                "released_at": None,
            }
        }
    )

    id: int
    campaign_id: int
    campaign_name: str
    ticket_id: str
    status: str = Field(description="awaiting_payment, paid, expired or cancelled")
    price_fen: int = Field(description="to pay from the bank account (0: paid in points)")
    price_points: int = Field(description="to pay in points (0: paid from the bank account)")
    won_at: datetime
    pay_by: datetime | None
    seconds_left: int = Field(description="until the deadline; 0 once passed or no longer awaiting payment")
    paid_at: datetime | None
    released_at: datetime | None = Field(description="when the item went back on sale (expired, cancelled)")


class FlashReminderOut(BaseModel):
    """My "remind me" on a flash campaign."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"campaign_id": 42, "created_at": "2026-12-01T02:00:00Z", "sent_at": None}
        }
    )

    campaign_id: int
    created_at: datetime
    sent_at: datetime | None = Field(description="when the reminder went out; null until then")
