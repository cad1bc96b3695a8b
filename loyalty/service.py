"""Loyalty rules (the member pool grows here)."""

from __future__ import annotations

from app.auth.identity import Identity
from app.timeutil import utcnow
from loyalty.models import Member


async def member_for_identity(identity: Identity) -> Member:
    """The member for a verified mini-program identity, created on first login."""
    member, created = await Member.get_or_create(
        openid=identity.openid, defaults={"unionid": identity.unionid}
    )
    if not created:
        await Member.filter(id=member.id).update(last_active_at=utcnow())
    return member
