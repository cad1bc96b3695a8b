"""Points-multiplier campaigns: the earn-multiplier provider loyalty asks on every sale.

A live multiplier campaign whose window contains the sale and whose merchants, categories or grids
cover the sale's merchant (none named: every merchant) multiplies the member's points by
`multiplier_percent / 100` if the member belongs to its audience. The highest offer applies
(loyalty takes the maximum of all providers, so campaigns never stack). One indexed query when no
multiplier campaign runs; the bonus points come from the bank's pool (loyalty's sale posting).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from campaigns import payouts
from campaigns.models import CampaignType
from loyalty.models import Member


async def earn_multiplier(member_id: int, merchant_id: int | None, at: datetime) -> Decimal:
    """The best multiplier a running campaign offers this member at this merchant (1 when none)."""
    campaigns = await payouts.covering(await payouts.running(CampaignType.MULTIPLIER, at), merchant_id)
    if not campaigns:
        return Decimal(1)
    member = await Member.get_or_none(id=member_id)
    if member is None:
        return Decimal(1)
    best = Decimal(1)
    for campaign in campaigns:
        percent = Decimal(int(campaign.config.get("multiplier_percent", 100))) / 100
        if percent > best and await payouts.admitted(campaign, member, at):
            best = percent
    return best
