"""Members: look up by id or phone (shown masked), by tier and tag; tags and their CSV import; points
credited by an admin (audited, once per form)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from app.console.deps import checked, require, roles_of, signed_in
from app.console.rendering import render
from app.console.session import ConsoleSession
from app.core.errors import InvalidField
from app.core.idempotency import one_time_reference
from app.core.inputs import Id
from app.core.pagination import PageParams, paginate
from loyalty import admin
from loyalty import repository as loyalty_repository
from loyalty import router_ops as ops
from loyalty.members import get_member, import_tags, remove_tag, tag_counts
from loyalty.models import Tier

router = APIRouter(prefix="/members")
NONCE_BYTES = 16


@router.get("")
async def member_list(
    request: Request,
    q: str = Query("", max_length=32, description="member id or phone"),
    tier_: str = Query("", alias="tier", max_length=16),
    tag: str = Query("", max_length=32),
    cursor: str | None = Query(None, max_length=256),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """Look a member up by id or phone, or list members by tier and tag, newest first."""
    require(session, ops.list_members)
    q = q.strip()
    if q:
        found = await loyalty_repository.member_by_phone(q) if len(q) == 11 else None
        if found is None and q.isdigit() and len(q) < 19:
            found = await get_member(int(q))  # 404 member.not_found when nobody has that id
        if found is None:
            raise InvalidField("q", "no member has that phone")
        return RedirectResponse(f"/console/members/{found.id}", status_code=303)
    tier = Tier(tier_) if tier_ in set(Tier) else None
    rows, next_cursor = await paginate(admin.members_query(tier, tag or None), PageParams(cursor, 50))
    context = {
        "members": [await admin.member_out(m) for m in rows],
        "tier": tier,
        "tiers": list(Tier),
        "tag": tag,
        "next": next_cursor,
    }
    return render(request, "members.html", context, session=session)


@router.get("/tags")
async def tags(request: Request, session: ConsoleSession = Depends(signed_in)) -> Response:
    """Tags in use and the CSV import form."""
    require(session, ops.list_tags)
    context = {
        "tags": await tag_counts(),
        "can_import": session.can(roles_of(ops.import_tags)),
        "report": None,
        "done": request.query_params.get("done"),
    }
    return render(request, "tags.html", context, session=session)


@router.post("/tags/import")
async def tags_import(
    request: Request,
    tag: str = Form(..., max_length=32),
    file: UploadFile = File(...),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Tag the members a CSV names; the page shows the import's report."""
    require(session, ops.import_tags)
    content = await file.read(ops.MAX_IMPORT_BYTES + 1)
    if len(content) > ops.MAX_IMPORT_BYTES:
        raise InvalidField("file", f"at most {ops.MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    report = await import_tags(session.principal, tag, content)
    context = {"tags": await tag_counts(), "can_import": True, "report": report, "done": None}
    return render(request, "tags.html", context, session=session)


@router.post("/tags/{tag}/remove")
async def tag_remove(request: Request, tag: str, session: ConsoleSession = Depends(checked)) -> Response:
    """Untag every member (e.g. before importing a fresh list); automatic tags are refused."""
    require(session, ops.remove_tag)
    await remove_tag(session.principal, tag)
    return RedirectResponse("/console/members/tags?done=tag_removed", status_code=303)


@router.get("/{member_id}")
async def member_detail(
    request: Request, member_id: Id, session: ConsoleSession = Depends(signed_in)
) -> Response:
    """A member's tier, tags, balance and consents (phone masked)."""
    require(session, ops.get_member)
    member = await admin.member_out(await get_member(member_id))
    context = {
        "member": member,
        "can_grant": session.can(roles_of(ops.grant_points)),
        "nonce": secrets.token_urlsafe(NONCE_BYTES),
        "done": request.query_params.get("done"),
    }
    return render(request, "member.html", context, session=session)


@router.post("/{member_id}/points")
async def grant(
    member_id: Id,
    points: int = Form(..., gt=0, le=10_000_000),
    reason: str = Form(..., min_length=3, max_length=200),
    nonce: str = Form(..., min_length=8, max_length=64),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Credit points from the bank's pool (admin); the form's nonce makes a resubmission post once."""
    require(session, ops.grant_points)
    with one_time_reference(f"console:{session.principal.id}:{nonce}"):
        await admin.grant_points(session.principal, member_id, points, reason)
    return RedirectResponse(f"/console/members/{member_id}?done=points_granted", status_code=303)
