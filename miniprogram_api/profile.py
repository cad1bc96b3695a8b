"""The member's profile (`/mp/v1/me`): joining the alliance, consents, phone binding, the member code."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from app.core.auth.deps import current_member
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.ratelimit import limit_per_principal
from loyalty import members
from loyalty.schemas import ConsentsIn, HomeGridIn, JoinIn, MemberCodeOut, MemberOut, PhoneBindIn, ProfileIn
from loyalty.till import issue_member_code

router = APIRouter(tags=["Mini-program: profile"])
_code_limit = limit_per_principal("mp-member-code", current_member, limit=30, period=60)


@router.get("/me", response_model=MemberOut, summary="My profile")
async def me(member: Principal = Depends(current_member)) -> MemberOut:
    """The calling member's profile (phone masked)."""
    return MemberOut.of(await members.get_member(member.id))


@router.patch(
    "/me",
    response_model=MemberOut,
    summary="Change my nickname or birthday",
    responses=problem_responses((422, "validation_error", "a field is empty or too long")),
)
async def update_me(body: ProfileIn, member: Principal = Depends(current_member)) -> MemberOut:
    """Change the editable profile fields; omitted fields stay as they are."""
    return MemberOut.of(
        await members.update_profile(member.id, nickname=body.nickname, birthday=body.birthday)
    )


@router.post("/me/join", response_model=MemberOut, summary="Join the alliance")
async def join(body: JoinIn, member: Principal = Depends(current_member)) -> MemberOut:
    """Become a member of the alliance (one membership valid at every merchant) and set the consents."""
    return MemberOut.of(
        await members.join(
            member.id, share_profile=body.share_profile, marketing=body.marketing, lat=body.lat, lng=body.lng
        )
    )


@router.put(
    "/me/home-grid",
    response_model=MemberOut,
    summary="Choose my home grid",
    responses=problem_responses(
        (404, "grid.not_found", "no such grid"),
        (409, "member.home_grid_locked", "the home grid was changed too recently"),
    ),
)
async def home_grid(body: HomeGridIn, member: Principal = Depends(current_member)) -> MemberOut:
    """The grid I live in or bank at; campaigns limited to grids admit me by it (once per N days)."""
    return MemberOut.of(await members.set_home_grid(member.id, body.grid_id))


@router.put("/me/consents", response_model=MemberOut, summary="Give or withdraw consents")
async def consents(body: ConsentsIn, member: Principal = Depends(current_member)) -> MemberOut:
    """Sharing my masked profile with the merchants I visit, and marketing; withdrawing applies at once."""
    return MemberOut.of(
        await members.set_consents(member.id, share_profile=body.share_profile, marketing=body.marketing)
    )


@router.post(
    "/me/phone",
    response_model=MemberOut,
    summary="Bind my phone number",
    responses=problem_responses(
        (401, "auth.invalid_code", "the phone code was rejected"),
        (409, "member.phone_taken", "the number is bound to another member"),
        (503, "auth.provider_unavailable", "the identity provider did not answer"),
    ),
)
async def bind_phone(body: PhoneBindIn, member: Principal = Depends(current_member)) -> MemberOut:
    """Exchange the getPhoneNumber code server-side; the number is stored encrypted and shown masked."""
    return MemberOut.of(await members.bind_phone(member.id, body.code))


@router.post(
    "/me/code",
    response_model=MemberCodeOut,
    summary="My member code for the till",
    responses=problem_responses(
        (409, "member.not_joined", "join the alliance first"),
        (429, "rate_limited", "too many codes"),
    ),
)
async def member_code(response: Response, member: Principal = Depends(_code_limit)) -> MemberCodeOut:
    """A signed code, valid 60 seconds, to show as a QR code: the till records sales or points payments."""
    await members.joined_member(member.id)
    code, expires_at = issue_member_code(member.id)
    response.headers["Cache-Control"] = "no-store"
    return MemberCodeOut(code=code, expires_at=expires_at)
