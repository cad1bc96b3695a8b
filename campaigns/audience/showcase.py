"""What the mini-program home screen shows of campaigns: live and upcoming, for the member's grid.

Every home request needs the published campaigns, which change only when a campaign changes status.
Each process keeps them as a cache, checked against a version in Redis that every transition replaces
after its commit: a request costs one Redis GET, not a query, and a change shows at once everywhere.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from app.core.redis_client import get_redis
from campaigns.audience import eligibility
from campaigns.models import AudienceMember, Campaign, CampaignStatus, CampaignType
from loyalty.models import Member

VERSION_KEY = "campaigns:showcase:version"
# A safety net only (the version is what keeps the cache right): reload at least this often.
MAX_AGE_SECONDS = 30.0
# Enough candidates for a home screen even when audiences filter many out; the home shows a few.
CANDIDATES = 200


@dataclass(frozen=True)
class Published:
    """A published campaign as the home screen needs it."""

    id: int
    type: str
    status: str
    name: str
    banner_url: str
    starts_at: datetime
    ends_at: datetime
    grid_ids: list[int]
    audience: dict[str, Any]


@dataclass(frozen=True)
class Showcase:
    """Campaigns running now and campaigns about to start, soonest first."""

    live: list[Published]
    upcoming: list[Published]


@dataclass
class _Cache:
    version: bytes | None = None
    loaded_at: float = float("-inf")
    rows: tuple[Published, ...] = ()


_cache = _Cache()


async def changed() -> None:
    """Tell every process that the published campaigns changed (call after the change commits)."""
    await get_redis().set(VERSION_KEY, uuid.uuid4().hex)


async def _published(now: datetime) -> list[Published]:
    version = await get_redis().get(VERSION_KEY)
    if version != _cache.version or time.monotonic() - _cache.loaded_at > MAX_AGE_SECONDS:
        loaded_at = time.monotonic()
        rows = (
            await Campaign.filter(status__in=[CampaignStatus.APPROVED, CampaignStatus.LIVE], ends_at__gt=now)
            .order_by("starts_at", "id")
            .limit(CANDIDATES)
            .values(*Published.__dataclass_fields__)
        )
        _cache.rows = tuple(Published(**row) for row in rows)
        _cache.version, _cache.loaded_at = version, loaded_at
    return [c for c in _cache.rows if c.ends_at > now]


def _in_grid(campaign: Published, grid_id: int | None) -> bool:
    # A campaign without grids runs everywhere; one limited to grids shows only where the member is.
    # A flash campaign's grids are whom it admits (their home grid, checked by `admitted`), not a place.
    if campaign.type == CampaignType.FLASH:
        return True
    return not campaign.grid_ids or (grid_id is not None and grid_id in campaign.grid_ids)


class _Targeted(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def audience(self) -> dict[str, Any]: ...

    @property
    def type(self) -> str: ...

    @property
    def grid_ids(self) -> list[int]: ...


T = TypeVar("T", bound=_Targeted)


async def admitted(member: Member | None, campaigns: Sequence[T], now: datetime) -> list[T]:
    """The campaigns whose audience admits the member; a visitor who has not logged in sees only the
    campaigns open to everyone. At most one query for audience lists and one for tags."""
    if member is None:
        return [c for c in campaigns if not eligibility.restricted(eligibility.criteria(c))]
    restricted = [c.id for c in campaigns if c.audience.get("member_list")]
    listed: set[Any] = (
        set(
            await AudienceMember.filter(member_id=member.id, campaign_id__in=restricted).values_list(
                "campaign_id", flat=True
            )
        )
        if restricted
        else set()
    )
    needs_tags = any(eligibility.uses_tags(c.audience) for c in campaigns)
    tags = await eligibility.member_tags(member.id) if needs_tags else frozenset()
    return [
        c for c in campaigns if eligibility.admits(eligibility.criteria(c), member, now, c.id in listed, tags)
    ]


async def for_member(member: Member, grid_id: int | None, now: datetime, limit: int) -> Showcase:
    """The live and upcoming campaigns the member may take part in where they are."""
    eligible = await admitted(member, [c for c in await _published(now) if _in_grid(c, grid_id)], now)
    live = [c for c in eligible if c.starts_at <= now][:limit]
    upcoming = [c for c in eligible if c.starts_at > now][:limit]
    return Showcase(live=live, upcoming=upcoming)
