"""Member login, refresh and logout (`/mp/v1/auth`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from app.core.auth.deps import current_member
from app.core.auth.identity import identity_provider
from app.core.auth.schemas import RefreshIn, TokenOut
from app.core.auth.sessions import open_session, refresh_session, revoke_sessions
from app.core.auth.tokens import Audience, Principal
from app.core.errors import problem_responses
from app.core.ratelimit import limit_per_ip
from loyalty.members import member_for_identity
from miniprogram_api.schemas import LoginIn

router = APIRouter(tags=["Mini-program: auth"])


async def _member_claims(member_id: int) -> tuple[tuple[str, ...], int | None]:
    return (), None


@router.post(
    "/auth/login",
    response_model=TokenOut,
    summary="Log in with a mini-program login code",
    dependencies=[Depends(limit_per_ip("mp-login", limit=30, period=60))],
    responses=problem_responses(
        (401, "auth.invalid_code", "the identity provider rejected the code"),
        (429, "rate_limited", "too many logins from this address"),
        (503, "auth.provider_unavailable", "the identity provider did not answer"),
    ),
)
async def login(body: LoginIn) -> TokenOut:
    """Exchange a `wx.login()` code server-side; creates the member on first login."""
    identity = await identity_provider().code_to_session(body.code)
    member = await member_for_identity(identity)
    return TokenOut.of(await open_session(Audience.MEMBER, member.id, secret=identity.session_key))


@router.post(
    "/auth/refresh",
    response_model=TokenOut,
    summary="Rotate a member refresh token",
    responses=problem_responses((401, "auth.token_invalid", "unknown, expired or reused refresh token")),
)
async def refresh(body: RefreshIn) -> TokenOut:
    """Swap a refresh token for a new token pair."""
    return TokenOut.of(await refresh_session(Audience.MEMBER, body.refresh_token, _member_claims))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this session")
async def logout(member: Principal = Depends(current_member)) -> None:
    """Revoke the calling session."""
    await revoke_sessions([member.session_id])
