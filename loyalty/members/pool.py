"""The shared member pool: login, joining, profile, consents, phone binding and known members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.exceptions import IntegrityError

from app.core import sql
from app.core.auth.identity import Identity, identity_provider
from app.core.config import get_settings
from app.core.crypto import decrypt, encrypt, lookup_hash, mask_phone
from app.core.db import transaction
from app.core.timeutil import business_day, business_day_bounds, utcnow
from loyalty import hooks
from loyalty.errors import GridNotFound, HomeGridLocked, MemberNotFound, MemberNotJoined, PhoneTaken
from loyalty.models import Member, PointsAccount, Tier
from merchants.grids import covering_grid, record_activity
from merchants.models import Branch


async def member_for_identity(identity: Identity) -> Member:
    """The member for a verified mini-program identity, created (with a points account) on first login."""
    member = await Member.get_or_none(openid=identity.openid)
    if member is None:
        try:
            async with transaction():
                member = await Member.create(openid=identity.openid, unionid=identity.unionid)
                await PointsAccount.create(member_id=member.id, balance=0)
            return member
        except IntegrityError:  # a concurrent first login of the same person created it
            member = await Member.get(openid=identity.openid)
    await touch(member.id, member.last_active_at)
    return member


def _today_starts() -> datetime:
    return business_day_bounds(business_day())[0]


def active_today(last_active_at: datetime | None) -> bool:
    """Whether a member last active at this instant was already active this business day."""
    return last_active_at is not None and last_active_at >= _today_starts()


async def touch(member_id: int, last_active_at: datetime | None = None) -> None:
    """Record that the member was active: at most one write per member and business day.

    Given the `last_active_at` the caller already read, a member active earlier today costs nothing;
    otherwise one conditional UPDATE that matches (and writes) only the first time each business day.
    """
    if active_today(last_active_at):
        return
    await Member.filter(id=member_id, last_active_at__lt=_today_starts()).update(last_active_at=utcnow())


async def get_member(member_id: int) -> Member:
    """A member by id (404 `member.not_found`)."""
    member = await Member.get_or_none(id=member_id)
    if member is None:
        raise MemberNotFound("member not found")
    return member


async def joined_member(member_id: int) -> Member:
    """A member who joined the alliance (409 `member.not_joined` otherwise)."""
    member = await get_member(member_id)
    if member.joined_at is None:
        raise MemberNotJoined("join the alliance first")
    return member


@dataclass(frozen=True)
class Standing:
    """What the till needs of a member who joined: the tier, and whether they were active today."""

    tier: Tier
    active_today: bool


async def joined_standing(member_id: int) -> Standing:
    """A member who joined the alliance (404 `member.not_found`, 409 `member.not_joined`)."""
    found = await sql.rows(
        "SELECT tier, joined_at, last_active_at FROM loyalty_member WHERE id = $1", member_id
    )
    if not found:
        raise MemberNotFound("member not found")
    row = found[0]
    if row["joined_at"] is None:
        raise MemberNotJoined("join the alliance first")
    last_active = sql.optional_instant(row["last_active_at"])
    return Standing(tier=Tier(row["tier"]), active_today=active_today(last_active))


def member_phone(member: Member) -> str | None:
    """The member's phone, masked (138****1234)."""
    return mask_phone(decrypt(member.phone_enc)) if member.phone_enc else None


async def join(
    member_id: int,
    *,
    share_profile: bool,
    marketing: bool,
    lat: float | None = None,
    lng: float | None = None,
) -> Member:
    """Join the alliance (once: joining again only updates the consents); a member without a home grid
    gets the grid covering the location the mini-program sent, if any."""
    now = utcnow()
    grid_id = await covering_grid(lat, lng)
    async with transaction():
        joined = await Member.filter(id=member_id, joined_at__isnull=True).update(joined_at=now)
        await Member.filter(id=member_id).update(
            share_profile=share_profile, marketing=marketing, consents_updated_at=now, last_active_at=now
        )
        if grid_id is not None:
            joined += await Member.filter(id=member_id, home_grid_id__isnull=True).update(
                home_grid_id=grid_id
            )
        if joined:  # a member's joining or grid changes which campaigns admit them
            await hooks.segments_changed(member_id)
    return await get_member(member_id)


async def set_home_grid(member_id: int, grid_id: int) -> Member:
    """The member chooses their home grid: at most once per `home_grid_change_days` (409
    `member.home_grid_locked`), the grid must exist (404 `grid.not_found`)."""
    if not await Branch.exists(id=grid_id):
        raise GridNotFound("grid not found")
    now = utcnow()
    since = now - timedelta(days=get_settings().home_grid_change_days)
    async with transaction():
        member = await Member.select_for_update().get_or_none(id=member_id)
        if member is None:
            raise MemberNotFound("member not found")
        if member.home_grid_id == grid_id:
            return member
        if member.home_grid_changed_at is not None and member.home_grid_changed_at > since:
            raise HomeGridLocked(
                f"the home grid can be changed again after {member.home_grid_changed_at + (now - since)}"
            )
        await Member.filter(id=member_id).update(home_grid_id=grid_id, home_grid_changed_at=now)
        await hooks.segments_changed(member_id)
    return await get_member(member_id)


async def set_consents(member_id: int, *, share_profile: bool | None, marketing: bool | None) -> Member:
    """Give or withdraw consent to share my profile with merchants and to marketing."""
    changes: dict[str, object] = {"consents_updated_at": utcnow()}
    if share_profile is not None:
        changes["share_profile"] = share_profile
    if marketing is not None:
        changes["marketing"] = marketing
    await Member.filter(id=member_id).update(**changes)
    return await get_member(member_id)


async def update_profile(member_id: int, *, nickname: str | None, birthday: date | None) -> Member:
    """Change nickname or birthday."""
    changes: dict[str, object] = {}
    if nickname is not None:
        changes["nickname"] = nickname
    if birthday is not None:
        changes["birthday"] = birthday
    if changes:
        await Member.filter(id=member_id).update(**changes)
    return await get_member(member_id)


async def bind_phone(member_id: int, phone_code: str) -> Member:
    """Exchange a mini-program phone code server-side and bind the number (encrypted, hashed for lookup)."""
    phone = await identity_provider().phone_number(phone_code)
    phone_hash = lookup_hash(phone)
    owner = await Member.get_or_none(phone_hash=phone_hash)
    if owner is not None and owner.id != member_id:
        raise PhoneTaken("this phone number is bound to another member")
    try:
        await Member.filter(id=member_id).update(
            phone_enc=encrypt(phone), phone_hash=phone_hash, phone_bound_at=utcnow()
        )
    except IntegrityError:
        raise PhoneTaken("this phone number is bound to another member") from None
    return await get_member(member_id)


async def note_visit(
    merchant_id: int,
    member_id: int,
    *,
    at: datetime | None = None,
    spend_fen: int = 0,
    points: int = 0,
    redemptions: int = 0,
    member_active_today: bool = False,
    merchant_active_recently: bool = False,
) -> None:
    """Make the member known to the merchant, or count one more visit (scan, sale or redemption).

    The visit is activity for both: the member's last active day and the merchant's last activity
    (which feeds the grid dashboard's inactivity flag) move on, each by at most a cheap conditional write.
    A caller that already read them says so, and an up-to-date one costs no statement at all.
    """
    at = at or utcnow()
    await sql.execute(
        """
        INSERT INTO loyalty_merchant_member
            (merchant_id, member_id, first_seen_at, last_seen_at,
             visits, spend_fen, points_earned, redemptions)
        VALUES ($1, $2, $3, $3, 1, $4, $5, $6)
        ON CONFLICT (merchant_id, member_id) DO UPDATE SET
            last_seen_at = excluded.last_seen_at,
            visits = loyalty_merchant_member.visits + 1,
            spend_fen = loyalty_merchant_member.spend_fen + excluded.spend_fen,
            points_earned = loyalty_merchant_member.points_earned + excluded.points_earned,
            redemptions = loyalty_merchant_member.redemptions + excluded.redemptions
        """,
        merchant_id,
        member_id,
        at,
        spend_fen,
        points,
        redemptions,
    )
    if not member_active_today:
        await touch(member_id)
    if not merchant_active_recently:
        await record_activity(merchant_id, at)


async def note_store_scan(member_id: int, merchant_id: int) -> None:
    """A member scanned a merchant's store QR code: they become known to that merchant."""
    await get_member(member_id)
    async with transaction():
        await note_visit(merchant_id, member_id)
