"""Lucky draws: pay points, roll HMAC(seed, reference), win a prize while its stock lasts.

Fairness and audit: the campaign's seed is generated at creation and only its sha256 (`draw_commitment`)
is published until the campaign ends, when the seed itself is revealed. Each draw has a reference
fixed by the server (`draw:<campaign>:<member>:<n>`, the member's n-th draw) and its digest
`HMAC-SHA256(key=seed, msg=reference)` (hex, the seed as UTF-8 text); the roll is the digest's first
8 bytes as a big-endian integer mod 1,000,000. Prizes own consecutive ranges of the roll in
configuration order (`probability_ppm` each); a roll past the last range is `no_prize`. Anyone with
the revealed seed can recompute every draw (`verify`). Draw rows are append-only.

Stock is enforced by the database: a prize is taken by `UPDATE ... SET stock_left = stock_left - 1
WHERE stock_left >= 1` (CHECK `stock_left >= 0`), so concurrent draws can never take more than the
stock; a winning roll for a prize that is gone is `out_of_stock`. Points are spent in the same
transaction (409 `points.insufficient` and nothing written if the member is short).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from app.core.db import transaction
from app.core.timeutil import business_day, utcnow
from campaigns.audience import visible
from campaigns.errors import CampaignNotRunning, LimitReached, WrongCampaignType
from campaigns.models import Campaign, CampaignStatus, CampaignType, Draw, DrawPrize, PayoutReason
from campaigns.schemas import DrawVerificationOut, LuckyDrawConfig, Prize, PrizeAuditOut
from campaigns.types import payouts
from loyalty import ledger as loyalty_ledger
from loyalty.models import Member

PPM = 1_000_000
ATTEMPTS = 5


def digest(seed: str, reference: str) -> str:
    """HMAC-SHA256 of the draw reference keyed with the seed, hex."""
    return hmac.new(seed.encode(), reference.encode(), hashlib.sha256).hexdigest()


def roll_of(hex_digest: str) -> int:
    """The roll in 0..999,999: the digest's first 8 bytes, big-endian, mod 1,000,000."""
    return int(hex_digest[:16], 16) % PPM


def pick(prizes: Sequence[Prize], roll: int) -> int | None:
    """The index of the prize whose range holds the roll, None past the last one."""
    upper = 0
    for index, prize in enumerate(prizes):
        upper += prize.probability_ppm
        if roll < upper:
            return index
    return None


def commitment(seed: str) -> str:
    """The published sha256 of a seed."""
    return hashlib.sha256(seed.encode()).hexdigest()


def verify(seed: str, published_commitment: str, draw: Draw, prizes: Sequence[Prize]) -> bool:
    """Whether a draw follows from the committed seed: digest, roll and the prize range it landed in."""
    if commitment(seed) != published_commitment:
        return False
    expected = digest(seed, draw.reference)
    if expected != draw.digest or roll_of(expected) != draw.roll:
        return False
    landed = pick(prizes, draw.roll)
    if draw.outcome == "no_prize":
        return landed is None
    return landed == draw.prize_index


async def _campaign(member: Member, campaign_id: int) -> Campaign:
    now = utcnow()
    campaign = await visible.get_visible(member, campaign_id, now)
    if campaign.type != CampaignType.LUCKY_DRAW:
        raise WrongCampaignType("this campaign has no draw")
    return campaign


async def _ensure_prizes(campaign: Campaign, config: LuckyDrawConfig) -> None:
    """Create the prize stock rows on the first draw (the configuration is frozen once live)."""
    if await DrawPrize.filter(campaign_id=campaign.id).count() == len(config.prizes):
        return
    for index, prize in enumerate(config.prizes):
        try:
            async with transaction():
                await DrawPrize.create(
                    campaign_id=campaign.id,
                    prize_index=index,
                    name=prize.name,
                    stock=prize.stock,
                    stock_left=prize.stock,
                )
        except IntegrityError:  # created by a concurrent first draw
            pass


async def draw(member_id: int, campaign_id: int) -> Draw:
    """Draw once: spend the cost in points, roll, take the prize if it is left (see the module notes)."""
    member = await Member.get(id=member_id)
    campaign = await _campaign(member, campaign_id)
    now = utcnow()
    if campaign.status != CampaignStatus.LIVE or not campaign.starts_at <= now < campaign.ends_at:
        raise CampaignNotRunning("draws are open while the campaign runs")
    if not campaign.draw_seed:
        raise CampaignNotRunning("the campaign has no committed seed")
    config = LuckyDrawConfig.model_validate(campaign.config)
    await _ensure_prizes(campaign, config)
    for attempt in range(ATTEMPTS):
        try:
            async with transaction():
                return await _draw(campaign, config, member_id)
        except IntegrityError:  # a concurrent draw of the same member took the same sequence
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _draw(campaign: Campaign, config: LuckyDrawConfig, member_id: int) -> Draw:
    assert campaign.draw_seed is not None
    now = utcnow()
    day = business_day(now)
    mine = Draw.filter(campaign_id=campaign.id, member_id=member_id)
    count = await mine.count()
    if count >= campaign.member_limit:
        raise LimitReached(f"at most {campaign.member_limit} draws per member")
    today = await mine.filter(business_day=day).count()
    if campaign.member_day_limit and today >= campaign.member_day_limit:
        raise LimitReached(f"at most {campaign.member_day_limit} draws per member a day")
    reference = f"draw:{campaign.id}:{member_id}:{count + 1}"
    if config.cost_points:
        await loyalty_ledger.spend_points(
            member_id,
            config.cost_points,
            purpose=loyalty_ledger.SpendPurpose.LUCKY_DRAW,
            reference=payouts.reference(campaign.id, f"{reference}:cost"),
            memo=f"{campaign.name}: draw {count + 1}",
        )
    hex_digest = digest(campaign.draw_seed, reference)
    roll = roll_of(hex_digest)
    index = pick(config.prizes, roll)
    outcome = "no_prize"
    if index is not None:
        outcome = await _take_prize(campaign, member_id, config.prizes[index], index, reference)
    return await Draw.create(
        campaign_id=campaign.id,
        member_id=member_id,
        reference=reference,
        sequence=count + 1,
        business_day=day,
        day_sequence=today + 1,
        member_limit=campaign.member_limit,
        member_day_limit=campaign.member_day_limit,
        cost_points=config.cost_points,
        digest=hex_digest,
        roll=roll,
        outcome=outcome,
        prize_index=index,
        prize_name=config.prizes[index].name if index is not None else None,
        created_at=now,
    )


async def _take_prize(campaign: Campaign, member_id: int, prize: Prize, index: int, reference: str) -> str:
    prize_row = DrawPrize.filter(campaign_id=campaign.id, prize_index=index)
    if not await prize_row.filter(stock_left__gte=1).update(stock_left=F("stock_left") - 1):
        return "out_of_stock"
    result = await payouts.pay(
        campaign, member_id, prize.reward, f"{reference}:prize", PayoutReason.DRAW, utcnow()
    )
    if not result.paid:  # budget spent or the reward refused: the prize goes back
        await prize_row.update(stock_left=F("stock_left") + 1)
        return (
            "budget_exhausted" if result.outcome == payouts.PayoutOutcome.BUDGET_EXHAUSTED else "unavailable"
        )
    return "won"


async def my_draws(member_id: int, campaign_id: int) -> tuple[Campaign, list[Draw]]:
    """The member's draws in a campaign, oldest first."""
    member = await Member.get(id=member_id)
    campaign = await _campaign(member, campaign_id)
    return campaign, await Draw.filter(campaign_id=campaign.id, member_id=member_id).order_by("sequence")


async def prizes_left(campaign_id: int) -> dict[int, int]:
    """Prize index → stock left (prizes not drawn yet are absent)."""
    return {p.prize_index: p.stock_left for p in await DrawPrize.filter(campaign_id=campaign_id)}


async def verification(campaign: Campaign) -> DrawVerificationOut:
    """Recompute every draw of a lucky draw from its seed and check prize stock against the wins."""
    if campaign.type != CampaignType.LUCKY_DRAW:
        raise WrongCampaignType("this campaign has no draw")
    config = LuckyDrawConfig.model_validate(campaign.config)
    seed, published = campaign.draw_seed or "", campaign.draw_commitment or ""
    count = verified = 0
    mismatches: list[str] = []
    outcomes: dict[str, int] = {}
    won: dict[int, int] = {}
    last_id = 0
    while True:
        batch = await Draw.filter(campaign_id=campaign.id, id__gt=last_id).order_by("id").limit(1000)
        if not batch:
            break
        last_id = batch[-1].id
        for row in batch:
            count += 1
            outcomes[row.outcome] = outcomes.get(row.outcome, 0) + 1
            if row.outcome == "won" and row.prize_index is not None:
                won[row.prize_index] = won.get(row.prize_index, 0) + 1
            if verify(seed, published, row, config.prizes):
                verified += 1
            elif len(mismatches) < 100:
                mismatches.append(row.reference)
    left = await prizes_left(campaign.id)
    prizes = [
        PrizeAuditOut(
            name=p.name,
            probability_ppm=p.probability_ppm,
            stock=p.stock,
            left=left.get(i, p.stock),
            won=won.get(i, 0),
        )
        for i, p in enumerate(config.prizes)
    ]
    return DrawVerificationOut(
        campaign_id=campaign.id,
        draw_commitment=campaign.draw_commitment,
        commitment_matches=bool(seed) and commitment(seed) == published,
        draws=count,
        verified=verified,
        mismatches=mismatches,
        outcomes=outcomes,
        prizes=prizes,
        stock_consistent=all(p.stock - p.left == p.won for p in prizes),
    )
