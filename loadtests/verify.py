"""After a flash load test: the database, the engine and the client must agree.

* wins in the database = grabs the clients saw won = min(stock, distinct grabbers),
* every ticket a client holds is in the database, and nobody holds more than the limit,
* the campaign's stream is drained: every entry delivered to a persister and acknowledged,
* loyalty vouchers = wins: one voucher per win, its ticket as reference, held by the winner.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from campaigns.flash.persistence import stream_backlog
from campaigns.models import Campaign, FlashWin
from loyalty.models import Voucher


@dataclass
class Verdict:
    """What the verification found."""

    checks: dict[str, bool] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return all(self.checks.values())


async def wait_drained(campaign_id: int, limit: float) -> float:
    """Seconds until the stream had no unacknowledged entry (at most `limit`)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if await stream_backlog(campaign_id) == 0:
            break
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def verify(campaign_id: int, results: dict[str, Any], *, drain_timeout: float = 30.0) -> Verdict:
    """Compare the load test's results with the database and the engine."""
    verdict = Verdict()
    campaign = await Campaign.get(id=campaign_id)
    verdict.facts["drain_seconds"] = round(await wait_drained(campaign_id, drain_timeout), 2)
    backlog = await stream_backlog(campaign_id)
    wins = await FlashWin.filter(campaign_id=campaign_id).values_list("ticket_id", "member_id", "slot")
    tickets = set(results["tickets"])
    per_member = Counter(member for _, member, _ in wins)
    expected = min(campaign.stock, int(results["grabbers"]))
    vouchers = await Voucher.filter(
        source="campaign", source_reference__startswith=f"{campaign_id}-"
    ).values_list("source_reference", "member_id")
    verdict.facts |= {
        "stock": campaign.stock,
        "grabbers": results["grabbers"],
        "won_by_clients": len(results["tickets"]),
        "wins_in_database": len(wins),
        "vouchers": len(vouchers),
        "outcomes": results["outcomes"],
        "backlog": backlog,
    }
    verdict.checks = {
        "wins in database = grabs won = min(stock, distinct grabbers)": len(wins) == len(tickets) == expected,
        "every client ticket is in the database": tickets <= {t for t, _, _ in wins},
        "no member over the limit": max(per_member.values(), default=0) <= campaign.member_limit,
        "no slot twice and none beyond the stock": len({s for *_, s in wins}) == len(wins)
        and all(1 <= s <= campaign.stock for *_, s in wins),
        "stream drained": backlog == 0,
        "vouchers = wins (one per ticket, held by the winner)": len(vouchers) == len(wins)
        and {(t, m) for t, m in vouchers} == {(t, m) for t, m, _ in wins},
    }
    return verdict
