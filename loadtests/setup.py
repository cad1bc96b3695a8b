"""Setup shared by the load test and the benchmarks, run against the same database and Redis as the
server: operators, an approved flash campaign loaded into Redis, members with access tokens."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from app.core.auth.tokens import Audience, Principal, issue_access_token
from app.core.models import Operator
from app.core.timeutil import utcnow
from campaigns.flash import install as flash_install
from campaigns.management import service
from campaigns.models import Campaign
from campaigns.schemas import CampaignIn
from loyalty.models import Benefit, BenefitKind, BenefitStatus, Eligibility, Funder, Member


async def operators() -> tuple[Principal, Principal]:
    """An author and an approver (four eyes) for the campaigns of one run."""
    tag = uuid.uuid4().hex[:8]
    author = await Operator.create(
        username=f"load-author-{tag}", password_hash="load-test", roles=["campaign_manager"]
    )
    approver = await Operator.create(
        username=f"load-approver-{tag}", password_hash="load-test", roles=["approver"]
    )
    return (
        Principal(Audience.OPERATOR, author.id, str(uuid.uuid4()), ("campaign_manager",)),
        Principal(Audience.OPERATOR, approver.id, str(uuid.uuid4()), ("approver",)),
    )


async def flash_campaign(
    *,
    stock: int,
    limit: int,
    starts_at: datetime,
    lasts: timedelta,
    name: str,
    audience: dict[str, Any] | None = None,
    price_fen: int = 0,
) -> Campaign:
    """An approved flash campaign, preheated into Redis (free unless priced: a priced win is an order to
    pay, whose voucher comes with the payment)."""
    author, approver = await operators()
    benefit = await Benefit.create(
        name="Latte",
        kind=BenefitKind.CASH,
        face_value_fen=1600,
        funder=Funder.BANK,
        eligibility=Eligibility.ALL,
        valid_days=30,
        per_member_limit=max(limit, 1),
        status=BenefitStatus.ACTIVE,
    )
    body = CampaignIn.model_validate(
        {
            "name": name,
            "starts_at": starts_at,
            "ends_at": starts_at + lasts,
            "per_member_limit": limit,
            "audience": audience or {},
            "config": {
                "type": "flash",
                "stock": stock,
                "price_fen": price_fen,
                "reward": {
                    "kind": "voucher",
                    "title": "Latte",
                    "value_fen": 1600,
                    "cost_fen": 1500,
                    "benefit_id": benefit.id,
                },
            },
        }
    )
    campaign = await service.create(author, body)
    await service.submit(author, campaign.id)
    await service.approve(approver, campaign.id, now=utcnow())
    result = await flash_install.ensure_loaded(campaign.id)
    assert result in ("installed", "refreshed"), result
    return await Campaign.get(id=campaign.id)


async def member_tokens(n: int) -> list[tuple[int, str]]:
    """n new members with an access token each (for benchmarks; the scenario logs members in itself)."""
    rows = [Member(openid=f"bench-{uuid.uuid4().hex}") for _ in range(n)]
    await Member.bulk_create(rows, batch_size=1000)
    created = await Member.filter(openid__in=[r.openid for r in rows]).values_list("id", flat=True)
    return [
        (int(m), issue_access_token(Principal(Audience.MEMBER, int(m), str(uuid.uuid4())), ttl=3600)[0])
        for m in created
    ]
