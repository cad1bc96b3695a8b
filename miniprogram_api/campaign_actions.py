"""Member actions of the non-flash campaigns (`/mp/v1`): check in, draw, refer a friend.

Spend-and-get and points multipliers need no action: they apply to sales at the till.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from app.core.auth.deps import current_member
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.idempotency import idempotent
from app.core.inputs import Id
from app.core.ratelimit import limit_per_principal
from app.core.timeutil import utcnow
from campaigns import audience, flash
from campaigns import types as campaign_types
from campaigns.models import CampaignStatus
from campaigns.schemas import (
    CheckinOut,
    DrawOut,
    DrawsOut,
    FlashReminderOut,
    InvitationOut,
    LuckyDrawConfig,
    PayoutOut,
    ReferralAcceptedOut,
    ReferralAcceptIn,
    ReferralOut,
)
from loyalty import members

router = APIRouter(tags=["Mini-program: campaigns"])
# Per member: draws are cheap to script, and referral codes must not be guessable by brute force.
_checkin_limit = limit_per_principal("mp-checkin", current_member, limit=10, period=60)
_draw_limit = limit_per_principal("mp-draw", current_member, limit=20, period=10)
_accept_limit = limit_per_principal("mp-referral-accept", current_member, limit=10, period=3600)
RATE_LIMITED = (429, "rate_limited", "too many requests from this member; see Retry-After")

NOT_FOUND = (404, "campaign.not_found", "no such campaign, or not for you")
WRONG_TYPE = (409, "campaign.wrong_type", "the campaign is of another type")
NOT_RUNNING = (409, "campaign.not_running", "the campaign is not live now")


def _checkin_out(state: campaign_types.CheckinState) -> CheckinOut:
    progress = state.streak % state.streak_days
    if state.streak and not progress:
        progress = state.streak_days
    return CheckinOut(
        campaign_id=state.campaign_id,
        business_day=state.today,
        checked_in_today=state.checked_in_today,
        streak=state.streak,
        streak_days=state.streak_days,
        progress=progress,
        days_to_reward=state.streak_days - progress if progress < state.streak_days else state.streak_days,
        days=state.days,
        rewards=state.rewards,
        payout=state.payout,
    )


@router.post(
    "/campaigns/{campaign_id}/check-in",
    response_model=CheckinOut,
    summary="Check in today",
    responses=problem_responses(NOT_FOUND, WRONG_TYPE, NOT_RUNNING, RATE_LIMITED),
)
async def check_in(campaign_id: Id, member: Principal = Depends(_checkin_limit)) -> CheckinOut:
    """Check in for today's business day (Asia/Shanghai); again the same day changes nothing. The check-in
    that completes `streak_days` consecutive days pays the reward (`payout` says how it went)."""
    return _checkin_out(await campaign_types.check_in(member.id, campaign_id))


@router.get(
    "/campaigns/{campaign_id}/check-in",
    response_model=CheckinOut,
    summary="My check-in streak",
    responses=problem_responses(NOT_FOUND, WRONG_TYPE),
)
async def check_in_progress(campaign_id: Id, member: Principal = Depends(current_member)) -> CheckinOut:
    """My current streak, my check-in days and my progress towards the next reward."""
    return _checkin_out(await campaign_types.checkin_progress(member.id, campaign_id))


@router.post(
    "/campaigns/{campaign_id}/draw",
    response_model=DrawOut,
    status_code=status.HTTP_201_CREATED,
    summary="Draw once in a lucky draw",
    responses=problem_responses(
        NOT_FOUND,
        WRONG_TYPE,
        NOT_RUNNING,
        (409, "campaign.limit_reached", "you drew as often as allowed (in total or today)"),
        (409, "points.insufficient", "not enough points for a draw (nothing was spent)"),
        RATE_LIMITED,
    ),
)
@idempotent
async def lucky_draw(campaign_id: Id, member: Principal = Depends(_draw_limit)) -> DrawOut:
    """Spend the draw's cost in points and draw: the roll is HMAC-SHA256(seed, reference), so the draw can
    be checked against the published seed commitment once the seed is revealed. Send an Idempotency-Key
    to retry safely: without one, every request is a new draw."""
    made = await campaign_types.make_draw(member.id, campaign_id)
    return DrawOut.model_validate(made)


@router.get(
    "/campaigns/{campaign_id}/draws",
    response_model=DrawsOut,
    summary="My draws and their verification",
    responses=problem_responses(NOT_FOUND, WRONG_TYPE),
)
async def my_draws(campaign_id: Id, member: Principal = Depends(current_member)) -> DrawsOut:
    """My draws, oldest first; once the campaign ended the seed is revealed and each draw is verified."""
    campaign, rows = await campaign_types.my_draws(member.id, campaign_id)
    seed = campaign.draw_seed if campaign.status == CampaignStatus.ENDED else None
    prizes = LuckyDrawConfig.model_validate(campaign.config).prizes
    out = []
    for row in rows:
        item = DrawOut.model_validate(row)
        if seed is not None and campaign.draw_commitment is not None:
            item.verified = campaign_types.verify_draw(seed, campaign.draw_commitment, row, prizes)
        out.append(item)
    return DrawsOut(
        campaign_id=campaign.id, draw_commitment=campaign.draw_commitment, draw_seed=seed, draws=out
    )


@router.get("/me/referral", response_model=ReferralOut, summary="My referral code and invitations")
async def my_referral(member: Principal = Depends(current_member)) -> ReferralOut:
    """My code to share (created on first use), the friends who accepted it, and my own referral."""
    mine = await campaign_types.referred_by(member.id)
    return ReferralOut(
        code=await campaign_types.referral_code_of(member.id),
        invitations=[InvitationOut.model_validate(r) for r in await campaign_types.invitations(member.id)],
        referred=mine is not None,
        referred_status=mine.status.value if mine is not None else None,
    )


@router.post(
    "/referrals/accept",
    response_model=ReferralAcceptedOut,
    summary="Accept a friend's referral code",
    responses=problem_responses(
        (404, "referral.code_not_found", "no member has this code"),
        (409, "referral.not_allowed", "your own code, a referral accepted before, or not a new member"),
        (409, "referral.no_campaign", "no referral campaign is running for you"),
        RATE_LIMITED,
    ),
)
@idempotent
async def accept_referral(
    body: ReferralAcceptIn, member: Principal = Depends(_accept_limit)
) -> ReferralAcceptedOut:
    """Enter a friend's code once, as a new member: both of you are rewarded after your first qualifying
    spend at the alliance. Entering the same code again returns the same referral."""
    return ReferralAcceptedOut.model_validate(await campaign_types.accept_referral(member, body.code))


@router.get(
    "/campaigns/{campaign_id}/rewards",
    response_model=list[PayoutOut],
    summary="My rewards from a campaign",
    responses=problem_responses(NOT_FOUND),
)
async def my_rewards(campaign_id: Id, member: Principal = Depends(current_member)) -> list[PayoutOut]:
    """What this campaign paid me so far, oldest first (at most the campaign's per-member limit)."""
    me = await members.get_member(member.id)
    campaign = await audience.get_visible(me, campaign_id, utcnow())
    return [PayoutOut.model_validate(p) for p in await campaign_types.member_payouts(campaign.id, member.id)]


@router.post(
    "/campaigns/{campaign_id}/remind-me",
    response_model=FlashReminderOut,
    summary="Remind me before a flash sale opens",
    responses=problem_responses(
        NOT_FOUND,
        (409, "campaign.not_flash", "only flash campaigns have reminders"),
        (409, "campaign.already_open", "the flash sale has opened already"),
    ),
)
async def remind_me(campaign_id: Id, member: Principal = Depends(current_member)) -> FlashReminderOut:
    """Be reminded (inbox, and WeChat or SMS by the settings) a few minutes before the sale opens; once."""
    reminder = await flash.remind_me(await members.get_member(member.id), campaign_id, utcnow())
    return FlashReminderOut(
        campaign_id=reminder.campaign_id, created_at=reminder.created_at, sent_at=reminder.sent_at
    )
