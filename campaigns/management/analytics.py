"""Campaign analytics: results by merchant and grid, rewards, cost and members acquired."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.core import sql
from campaigns.flash.stats import read_counters
from campaigns.models import Campaign, CampaignStats, CampaignType, FlashWin, OrderStatus
from campaigns.schemas import AnalyticsOut, FlashOrdersOut, GridResultOut, MerchantResultOut
from loyalty import ledger as loyalty_ledger
from loyalty import vouchers as loyalty_vouchers
from loyalty.models import Member
from merchants.models import Merchant

ACQUISITION_DAYS = 7
NOT_GRABS = frozenset({"refused", "voucher_refused"})  # persistence counters, not grab answers


def reference_prefixes(campaign_id: int) -> list[str]:
    """The loyalty references a campaign's rewards carry: flash tickets (`<id>-<epoch>-<slot>`) and the
    `campaign:<id>:` references of the other types' payouts."""
    return [f"{campaign_id}-", f"campaign:{campaign_id}:"]


async def _first_wins(campaign_id: int) -> dict[int, datetime]:
    firsts: dict[int, datetime] = {}
    for member_id, won_at in await FlashWin.filter(campaign_id=campaign_id).values_list(
        "member_id", "won_at"
    ):
        if member_id not in firsts or won_at < firsts[member_id]:
            firsts[int(member_id)] = won_at
    return firsts


async def new_members_acquired(campaign: Campaign, first_rewards: dict[int, datetime]) -> int:
    """Rewarded members who joined the alliance after the campaign was published (approved) and at most
    ACQUISITION_DAYS after their first reward from it: the campaign brought them in."""
    published = campaign.approved_at or campaign.starts_at
    joined = await Member.filter(id__in=list(first_rewards), joined_at__gte=published).values_list(
        "id", "joined_at"
    )
    window = timedelta(days=ACQUISITION_DAYS)
    return sum(
        1 for member_id, at in joined if at is not None and at <= first_rewards[int(member_id)] + window
    )


async def _by_merchant(
    by_merchant: dict[int, tuple[int, int]],
) -> tuple[list[MerchantResultOut], list[GridResultOut]]:
    grids = dict(await Merchant.filter(id__in=list(by_merchant)).values_list("id", "grid_id"))
    merchants = [
        MerchantResultOut(merchant_id=m, grid_id=grids.get(m), vouchers_redeemed=n, discount_fen=fen)
        for m, (n, fen) in sorted(by_merchant.items())
    ]
    per_grid: dict[int | None, GridResultOut] = {}
    for row in merchants:
        grid = per_grid.setdefault(
            row.grid_id, GridResultOut(grid_id=row.grid_id, merchants=0, vouchers_redeemed=0, discount_fen=0)
        )
        grid.merchants += 1
        grid.vouchers_redeemed += row.vouchers_redeemed
        grid.discount_fen += row.discount_fen
    return merchants, sorted(per_grid.values(), key=lambda g: (g.grid_id is None, g.grid_id or 0))


async def _orders(campaign: Campaign) -> FlashOrdersOut | None:
    """Counts and takings of a priced flash campaign's orders (None for a free one)."""
    if not (campaign.config.get("price_fen") or campaign.config.get("price_points")):
        return None
    rows = await sql.rows(
        "SELECT status, COUNT(*) AS n, COALESCE(SUM(price_fen), 0) AS fen,"
        " COALESCE(SUM(price_points), 0) AS points FROM campaigns_flash_win WHERE campaign_id = $1"
        " GROUP BY status",
        campaign.id,
    )
    by = {str(r["status"]): r for r in rows}
    count = {status: int(by[status]["n"]) if status in by else 0 for status in OrderStatus}
    paid = by.get(OrderStatus.PAID)
    return FlashOrdersOut(
        wins=sum(count.values()),
        awaiting_payment=count[OrderStatus.AWAITING_PAYMENT],
        paid=count[OrderStatus.PAID],
        expired=count[OrderStatus.EXPIRED],
        cancelled=count[OrderStatus.CANCELLED],
        revenue_fen=int(paid["fen"]) if paid else 0,
        points_collected=int(paid["points"]) if paid else 0,
    )


async def analytics(campaign: Campaign) -> AnalyticsOut:
    """A campaign's results so far (grab counters from Redis while loaded, else the last snapshot;
    vouchers, redemptions and points from loyalty by the campaign's references)."""
    counters = await read_counters(campaign.id)
    stats = await CampaignStats.get_or_none(campaign_id=campaign.id)
    outcomes: dict[str, Any]
    if counters is not None:
        _, outcomes, participants, _ = counters
        participants = max(participants, stats.participants if stats else 0)
    else:
        outcomes = stats.outcomes if stats else {}
        participants = stats.participants if stats else 0
    prefixes = reference_prefixes(campaign.id)
    tally = await loyalty_vouchers.voucher_tally("campaign", prefixes)
    first_rewards = dict(tally.first_issued)
    issued = 0
    if campaign.type == CampaignType.FLASH:
        rewarded = [OrderStatus.ISSUED, OrderStatus.PAID]  # a priced win is rewarded once paid
        issued = await FlashWin.filter(campaign_id=campaign.id, status__in=rewarded).count()
        for member_id, at in (await _first_wins(campaign.id)).items():
            first_rewards[member_id] = min(at, first_rewards.get(member_id, at))
    else:
        participants = max(participants, len(first_rewards))
    by_merchant, by_grid = await _by_merchant(tally.by_merchant)
    return AnalyticsOut(
        campaign_id=campaign.id,
        type=campaign.type,
        status=campaign.status,
        participants=participants,
        grabs_tried=sum(int(v) for key, v in outcomes.items() if key not in NOT_GRABS),
        grabs_won=int(outcomes.get("won", 0)),
        outcomes={key: int(v) for key, v in outcomes.items()},
        rewards_issued=issued,
        vouchers_issued=tally.issued,
        vouchers_redeemed=tally.redeemed,
        redemption_rate=round(tally.redeemed / tally.issued, 4) if tally.issued else 0.0,
        redeemed_discount_fen=tally.discount_fen,
        cost_fen=campaign.spent_fen,
        points_issued=await loyalty_ledger.points_issued(prefixes),
        budget_count=campaign.budget_count,
        budget_fen=campaign.budget_fen,
        new_members_acquired=await new_members_acquired(campaign, first_rewards),
        orders=await _orders(campaign) if campaign.type == CampaignType.FLASH else None,
        by_merchant=by_merchant,
        by_grid=by_grid,
    )
