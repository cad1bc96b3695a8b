"""Helpers for campaign tests: operators with the right roles, campaign bodies, members in bulk."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from app.core.auth.tokens import Audience, Principal, issue_access_token
from app.core.models import Operator
from app.core.redis_client import get_redis
from app.core.timeutil import utcnow
from campaigns.flash import persistence as flash_persist
from campaigns.flash.keys import GROUP, k
from campaigns.flash.runtime import runtime
from campaigns.models import FlashWin
from loyalty import ledger as loyalty_ledger
from loyalty.models import (
    Benefit,
    BenefitKind,
    BenefitStatus,
    Eligibility,
    Funder,
    Member,
    MemberTag,
    PointsAccount,
    Voucher,
)
from tests.helpers import bearer

_seq = itertools.count(1)


@dataclass
class Ops:
    """Operators of a campaign test: an author (campaign manager) and an approver (four eyes)."""

    author: dict[str, str]
    approver: dict[str, str]


async def operator(*roles: str) -> dict[str, str]:
    """An operator with roles and a signed access token (minted directly: argon2 logins are slow, and the
    login itself is the core's to test)."""
    row = await Operator.create(
        username=f"campaign-op-{next(_seq)}", password_hash="not-a-login-account", roles=list(roles)
    )
    token, _ = issue_access_token(Principal(Audience.OPERATOR, row.id, str(uuid.uuid4()), tuple(roles)))
    return bearer(token)


async def ops(client: httpx.AsyncClient) -> Ops:
    """The two operators every campaign needs."""
    return Ops(author=await operator("campaign_manager"), approver=await operator("approver"))


def iso(delta: timedelta) -> str:
    """An ISO timestamp `delta` from now."""
    return (utcnow() + delta).isoformat()


def flash_body(
    *,
    stock: int = 100,
    limit: int = 1,
    starts_in: timedelta = timedelta(minutes=-1),
    lasts: timedelta = timedelta(hours=1),
    price_fen: int = 0,
    price_points: int = 0,
    payment_minutes: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A flash campaign body (free unless priced); by default it started a minute ago and runs an hour."""
    reward = extra.pop("reward", {"kind": "voucher", "title": "Latte", "value_fen": 1600, "cost_fen": 100})
    config: dict[str, Any] = {
        "type": "flash",
        "stock": stock,
        "price_fen": price_fen,
        "price_points": price_points,
        "reward": reward,
    }
    if payment_minutes is not None:
        config["payment_minutes"] = payment_minutes
    body: dict[str, Any] = {
        "name": f"flash {next(_seq)}",
        "starts_at": iso(starts_in),
        "ends_at": iso(starts_in + lasts),
        "per_member_limit": limit,
        "config": config,
    }
    body.update(extra)
    return body


async def benefit(*, stock: int | None = None, per_member_limit: int = 100, name: str = "Latte") -> int:
    """An active bank-funded cash benefit valid for 30 days, for campaign rewards; returns its id."""
    row = await Benefit.create(
        name=name,
        kind=BenefitKind.CASH,
        face_value_fen=1600,
        funder=Funder.BANK,
        eligibility=Eligibility.ALL,
        valid_days=30,
        stock_total=stock,
        stock_left=stock,
        per_member_limit=per_member_limit,
        status=BenefitStatus.ACTIVE,
    )
    return int(row.id)


async def with_benefit(body: dict[str, Any]) -> dict[str, Any]:
    """The body with a fresh benefit behind a flash voucher reward that names none."""
    config = body.get("config") or {}
    reward = config.get("reward")
    if (
        config.get("type") == "flash"
        and reward
        and reward.get("kind") != "points"
        and not reward.get("benefit_id")
    ):
        return body | {"config": config | {"reward": reward | {"benefit_id": await benefit()}}}
    return body


async def create(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Create a campaign and return it (a flash voucher reward gets a benefit when it names none)."""
    body = await with_benefit(body)
    response = await client.post("/ops/v1/campaigns", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def approved(client: httpx.AsyncClient, team: Ops, body: dict[str, Any]) -> dict[str, Any]:
    """Create, submit and approve a campaign (it goes live at once if its start has passed)."""
    campaign = await create(client, team.author, body)
    response = await client.post(f"/ops/v1/campaigns/{campaign['id']}/submit", headers=team.author)
    assert response.status_code == 200, response.text
    response = await client.post(f"/ops/v1/campaigns/{campaign['id']}/approve", headers=team.approver)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def live_flash(client: httpx.AsyncClient, team: Ops, **kwargs: Any) -> int:
    """A running flash campaign, loaded into Redis; returns its id."""
    campaign = await approved(client, team, flash_body(**kwargs))
    response = await client.post(f"/ops/v1/campaigns/{campaign['id']}/preheat", headers=team.author)
    assert response.status_code == 200, response.text
    return int(campaign["id"])


async def members(n: int) -> list[tuple[int, dict[str, str]]]:
    """n new members with a valid access token each (created directly: the login route is rate limited)."""
    rows = [Member(openid=f"test-{uuid.uuid4().hex}") for _ in range(n)]
    await Member.bulk_create(rows)
    created = await Member.filter(openid__in=[r.openid for r in rows]).order_by("id")
    out = []
    for member in created:
        token, _ = issue_access_token(Principal(Audience.MEMBER, member.id, str(uuid.uuid4())))
        out.append((member.id, bearer(token)))
    return out


async def segment_members(
    n: int,
    *,
    tier: str = "regular",
    tags: tuple[str, ...] = (),
    joined: bool = True,
    grid: int | None = None,
) -> list[tuple[int, dict[str, str]]]:
    """n new members of a tier holding tags, living in `grid` (joined the alliance unless
    `joined=False`), with tokens."""
    created = await members(n)
    ids = [m for m, _ in created]
    await Member.filter(id__in=ids).update(
        tier=tier, joined_at=utcnow() if joined else None, home_grid_id=grid
    )
    await MemberTag.bulk_create(
        [MemberTag(member_id=m, tag=tag, source="import") for m in ids for tag in tags]
    )
    return created


async def grab(
    client: httpx.AsyncClient, campaign_id: int, headers: dict[str, str], key: str | None = None
) -> httpx.Response:
    """POST a grab."""
    extra = {"Idempotency-Key": key} if key else {}
    return await client.post(f"/mp/v1/campaigns/{campaign_id}/grab", headers=headers | extra)


async def drain(campaign_id: int, consumer: str = "test-persister") -> int:
    """Persist every win of the campaign's stream through the real consumer-group code."""
    total = 0
    while True:
        handled = await flash_persist.consume_once(campaign_id, consumer, count=500)
        total += handled
        if not handled:
            return total


async def pending_in_group(campaign_id: int) -> int:
    """Stream entries delivered but not acknowledged."""
    for group in await get_redis().xinfo_groups(k(campaign_id, "stream")):
        if group["name"] in (GROUP, GROUP.encode()):
            return int(group["pending"])
    raise AssertionError("no consumer group")


@asynccontextmanager
async def process_runtime() -> AsyncIterator[None]:
    """Run this process's flash runtime (event follower, write-behind) as the API lifespan does."""
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.run(stop))
    deadline = asyncio.get_running_loop().time() + ANSWER_DEADLINE
    while not runtime.synced:
        assert asyncio.get_running_loop().time() < deadline, "the flash runtime never subscribed"
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        stop.set()
        await task


ANSWER_DEADLINE = 90.0  # seconds: a rebuild settles in a few; a loaded CI machine is slower


async def grab_until_answered(client: httpx.AsyncClient, campaign_id: int, headers: dict[str, str]) -> str:
    """Grab, retrying while the engine answers 503 (as a mini-program honouring Retry-After does); fails
    when the engine has not answered within ANSWER_DEADLINE seconds."""
    deadline = asyncio.get_running_loop().time() + ANSWER_DEADLINE
    while True:
        assert asyncio.get_running_loop().time() < deadline, f"campaign {campaign_id} never answered"
        response = await grab(client, campaign_id, headers)
        if response.status_code != 503:
            assert response.status_code == 200, response.text
            return str(response.json()["outcome"])
        assert response.json()["code"] == "campaign.unavailable"
        assert response.headers["Retry-After"] == "1"
        await asyncio.sleep(0.05)


async def assert_vouchers_match_wins(campaign_id: int) -> int:
    """Every persisted free or paid win has exactly one loyalty voucher (its ticket as reference, same
    member) and no voucher exists without its win; returns the number of vouchers."""
    wins = dict(
        await FlashWin.filter(campaign_id=campaign_id, status__in=["issued", "paid"]).values_list(
            "ticket_id", "member_id"
        )
    )
    vouchers = await Voucher.filter(
        source="campaign", source_reference__startswith=f"{campaign_id}-"
    ).values_list("source_reference", "member_id")
    assert len(vouchers) == len({reference for reference, _ in vouchers})
    assert dict(vouchers) == wins
    return len(vouchers)


async def with_points(member_ids: list[int], points: int) -> None:
    """Give members a points account (if they have none) and credit them `points` (an ops grant; 0: none)."""
    have = set(await PointsAccount.filter(member_id__in=member_ids).values_list("member_id", flat=True))
    await PointsAccount.bulk_create(
        [PointsAccount(member_id=m, balance=0) for m in member_ids if m not in have]
    )
    for member_id in member_ids if points else []:
        await loyalty_ledger.earn_points(
            member_id,
            points,
            source=loyalty_ledger.EarnSource.OPS_GRANT,
            reference=f"test-grant:{uuid.uuid4()}",
        )


async def persisted_order(campaign_id: int, member_id: int) -> FlashWin:
    """The member's order in the campaign once the stream was persisted."""
    await drain(campaign_id)
    return await FlashWin.get(campaign_id=campaign_id, member_id=member_id, released_at__isnull=True)


async def restocked(campaign_id: int) -> None:
    """Wait until this process's runtime heard that a slot came back (it drops its sold-out flag)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while campaign_id in runtime.sold_out:
        assert loop.time() < deadline, "the restocked event never arrived"
        await asyncio.sleep(0.01)
