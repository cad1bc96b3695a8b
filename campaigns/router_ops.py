"""Ops routes: configure campaigns, approve them (four eyes), run them, watch flash campaigns live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Body, Depends, Query, status
from fastapi.responses import StreamingResponse

from app.core.auth.deps import OperatorRole, current_operator, roles
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.idempotency import idempotent
from app.core.inputs import Id
from app.core.pagination import Page, PageParams, page_params, paginate
from campaigns import repository
from campaigns.flash import stats as flash_stats
from campaigns.lifecycle.table import Action
from campaigns.management import analytics, service
from campaigns.models import CampaignStatus, CampaignType
from campaigns.schemas import (
    AnalyticsOut,
    ApproveIn,
    AudienceMembersIn,
    AudienceMembersOut,
    BlockedOut,
    BlockIn,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    DrawVerificationOut,
    LiveOut,
    ReasonIn,
)
from campaigns.types import draw
from campaigns.views import campaign_out

router = APIRouter(tags=["Ops: campaigns"])

MANAGE = (OperatorRole.CAMPAIGN_MANAGER,)
READ = (OperatorRole.CAMPAIGN_MANAGER, OperatorRole.APPROVER, OperatorRole.AUDITOR)
NOT_FOUND = (404, "campaign.not_found", "no such campaign")
TRANSITION = (409, "campaign.invalid_transition", "the campaign's status does not allow this")
INVALID = (422, "validation_error", "a field is invalid (named in `errors`)")


@router.post(
    "/campaigns",
    response_model=CampaignOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a campaign (draft)",
    responses=problem_responses(INVALID),
)
@roles(*MANAGE)
@idempotent
async def create_campaign(body: CampaignIn, operator: Principal = Depends(current_operator)) -> CampaignOut:
    """Create a draft campaign of any type; it needs submitting and another operator's approval."""
    return await campaign_out(await service.create(operator, body))


@router.get("/campaigns", response_model=Page[CampaignOut], summary="List campaigns")
@roles(*READ)
async def list_campaigns(
    status_: CampaignStatus | None = Query(None, alias="status"),
    type_: CampaignType | None = Query(None, alias="type"),
    merchant_id: Id | None = Query(None, ge=1),
    page: PageParams = Depends(page_params),
) -> Page[CampaignOut]:
    """Campaigns, newest first, filtered by status, type or participating merchant."""
    rows, cursor = await paginate(
        repository.ops_query(status=status_, type_=type_, merchant_id=merchant_id), page
    )
    merchants = await repository.merchant_ids(c.id for c in rows)
    return Page(items=[await campaign_out(c, merchants.get(c.id, [])) for c in rows], next_cursor=cursor)


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    summary="One campaign",
    responses=problem_responses(NOT_FOUND),
)
@roles(*READ)
async def get_campaign(campaign_id: Id) -> CampaignOut:
    """A campaign with its configuration, approval and budget."""
    return await campaign_out(await repository.get_campaign(campaign_id))


@router.patch(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    summary="Edit a campaign",
    responses=problem_responses(
        NOT_FOUND,
        (409, "campaign.not_editable", "live, paused, ended and cancelled campaigns cannot be edited"),
        (409, "campaign.version_conflict", "the campaign changed since you read it"),
        INVALID,
    ),
)
@roles(*MANAGE)
async def update_campaign(
    campaign_id: Id, body: CampaignPatch, operator: Principal = Depends(current_operator)
) -> CampaignOut:
    """Change a draft, pending or approved campaign; an approved one goes back to pending approval."""
    return await campaign_out(await service.update(operator, campaign_id, body))


@router.post(
    "/campaigns/{campaign_id}/submit",
    response_model=CampaignOut,
    summary="Submit for approval",
    responses=problem_responses(
        NOT_FOUND,
        TRANSITION,
        (422, "campaign.audience_unsupported", "the audience uses a criterion nothing evaluates yet"),
        (422, "campaign.reward_invalid", "the reward's benefit is missing, inactive or too small"),
    ),
)
@roles(*MANAGE)
async def submit_campaign(campaign_id: Id, operator: Principal = Depends(current_operator)) -> CampaignOut:
    """Send a draft to the approvers."""
    return await campaign_out(await service.submit(operator, campaign_id))


@router.post(
    "/campaigns/{campaign_id}/approve",
    response_model=CampaignOut,
    summary="Approve (four eyes)",
    responses=problem_responses(
        NOT_FOUND,
        TRANSITION,
        (403, "campaign.four_eyes", "you created or last edited this campaign"),
        (409, "campaign.version_conflict", "the campaign changed since you reviewed it"),
        (422, "campaign.reward_invalid", "the reward's benefit is no longer active or too small"),
    ),
)
@roles(OperatorRole.APPROVER)
async def approve_campaign(
    campaign_id: Id,
    body: ApproveIn = Body(default_factory=ApproveIn),
    operator: Principal = Depends(current_operator),
) -> CampaignOut:
    """Approve a pending campaign; it is scheduled (and goes live by itself at its start)."""
    return await campaign_out(await service.approve(operator, campaign_id, body.version))


@router.post(
    "/campaigns/{campaign_id}/reject",
    response_model=CampaignOut,
    summary="Reject back to draft",
    responses=problem_responses(NOT_FOUND, TRANSITION, (403, "campaign.four_eyes", "you wrote it")),
)
@roles(OperatorRole.APPROVER)
async def reject_campaign(
    campaign_id: Id, body: ReasonIn, operator: Principal = Depends(current_operator)
) -> CampaignOut:
    """Send a pending campaign back to its author with a reason."""
    return await campaign_out(await service.reject(operator, campaign_id, body.reason))


def _lifecycle_route(action: Action, summary: str, doc: str) -> None:
    @router.post(
        f"/campaigns/{{campaign_id}}/{action.value}",
        response_model=CampaignOut,
        summary=summary,
        responses=problem_responses(NOT_FOUND, TRANSITION),
        name=f"{action.value}_campaign",
    )
    @roles(*MANAGE)
    async def endpoint(
        campaign_id: Id,
        body: ReasonIn = Body(default_factory=ReasonIn),
        operator: Principal = Depends(current_operator),
    ) -> CampaignOut:
        return await campaign_out(await service.act(operator, campaign_id, action, body.reason))

    endpoint.__doc__ = doc


_lifecycle_route(Action.PAUSE, "Pause a live campaign", "Stop grabs and payouts until resumed.")
_lifecycle_route(Action.RESUME, "Resume a paused campaign", "Continue a paused campaign (ends it if over).")
_lifecycle_route(Action.END, "End a campaign early", "End a live or paused campaign now.")
_lifecycle_route(Action.CANCEL, "Cancel a campaign", "Cancel a campaign that has not started.")


@router.post(
    "/campaigns/{campaign_id}/preheat",
    response_model=LiveOut,
    summary="Load a flash campaign into Redis now",
    responses=problem_responses(
        NOT_FOUND, TRANSITION, (409, "campaign.not_flash", "only flash campaigns are preheated")
    ),
)
@roles(*MANAGE)
async def preheat_campaign(campaign_id: Id, operator: Principal = Depends(current_operator)) -> LiveOut:
    """Preheat (or refresh) now instead of waiting for the scheduled preheat before the start."""
    await service.preheat(operator, campaign_id)
    return await flash_stats.live(await repository.get_campaign(campaign_id))


@router.get(
    "/campaigns/{campaign_id}/audience-members",
    response_model=Page[int],
    summary="The campaign's audience list",
    responses=problem_responses(NOT_FOUND),
)
@roles(*READ)
async def list_audience(campaign_id: Id, page: PageParams = Depends(page_params)) -> Page[int]:
    """Member ids on the audience list, newest first."""
    await repository.get_campaign(campaign_id)
    rows, cursor = await paginate(repository.audience_list(campaign_id), page)
    return Page(items=[r.member_id for r in rows], next_cursor=cursor)


@router.post(
    "/campaigns/{campaign_id}/audience-members",
    response_model=AudienceMembersOut,
    summary="Add members to the audience list",
    responses=problem_responses(
        NOT_FOUND, (409, "campaign.not_editable", "the campaign is running"), INVALID
    ),
)
@roles(*MANAGE)
async def add_audience(
    campaign_id: Id, body: AudienceMembersIn, operator: Principal = Depends(current_operator)
) -> AudienceMembersOut:
    """Import members (an approved campaign goes back to pending approval)."""
    changed, total = await service.add_audience(operator, campaign_id, body.member_ids)
    return AudienceMembersOut(changed=changed, total=total)


@router.post(
    "/campaigns/{campaign_id}/audience-members/remove",
    response_model=AudienceMembersOut,
    summary="Remove members from the audience list",
    responses=problem_responses(NOT_FOUND, (409, "campaign.not_editable", "the campaign is running")),
)
@roles(*MANAGE)
async def remove_audience(
    campaign_id: Id, body: AudienceMembersIn, operator: Principal = Depends(current_operator)
) -> AudienceMembersOut:
    """Remove members (an approved campaign goes back to pending approval)."""
    changed, total = await service.remove_audience(operator, campaign_id, body.member_ids)
    return AudienceMembersOut(changed=changed, total=total)


@router.get(
    "/campaigns/{campaign_id}/live",
    response_model=LiveOut,
    summary="Live view of a flash campaign",
    responses=problem_responses(NOT_FOUND),
)
@roles(*READ)
async def live_view(campaign_id: Id) -> LiveOut:
    """Stock left, grabs per second, wins answered and persisted, right now (poll it)."""
    return await flash_stats.live(await repository.get_campaign(campaign_id))


@router.get(
    "/campaigns/{campaign_id}/live/events",
    summary="Live view as server-sent events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "one `live` event per interval"},
        **problem_responses(NOT_FOUND),
    },
)
@roles(*READ)
async def live_events(
    campaign_id: Id,
    interval: float = Query(1.0, ge=0.2, le=60, description="seconds between events"),
    limit: int = Query(3600, ge=1, le=86_400, description="events before the stream closes (reconnect)"),
) -> StreamingResponse:
    """The live view pushed every `interval` seconds; closes after `limit` events or once the campaign ended
    and its wins are all persisted."""
    await repository.get_campaign(campaign_id)

    async def events() -> AsyncIterator[bytes]:
        for n in range(limit):
            campaign = await repository.get_campaign(campaign_id)
            view = await flash_stats.live(campaign)
            yield f"id: {n}\nevent: live\ndata: {view.model_dump_json()}\n\n".encode()
            if (
                campaign.status in (CampaignStatus.ENDED, CampaignStatus.CANCELLED)
                and view.pending_persist == 0
            ):
                return
            if n + 1 < limit:
                await asyncio.sleep(interval)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/campaigns/{campaign_id}/analytics",
    response_model=AnalyticsOut,
    summary="Campaign results",
    responses=problem_responses(NOT_FOUND),
)
@roles(*READ)
async def campaign_analytics(campaign_id: Id) -> AnalyticsOut:
    """Participants, grabs tried and won, rewards issued, cost and new members acquired."""
    return await analytics.analytics(await repository.get_campaign(campaign_id))


@router.get("/campaign-blocklist", response_model=Page[BlockedOut], summary="Members barred from grabbing")
@roles(*READ)
async def blocklist(page: PageParams = Depends(page_params)) -> Page[BlockedOut]:
    """Blocked members, newest first."""
    rows, cursor = await paginate(repository.blocklist(), page)
    return Page(items=[BlockedOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/campaign-blocklist",
    response_model=BlockedOut,
    status_code=status.HTTP_201_CREATED,
    summary="Block a member from grabbing",
    responses=problem_responses(INVALID),
)
@roles(*MANAGE)
async def block_member(body: BlockIn, operator: Principal = Depends(current_operator)) -> BlockedOut:
    """Bar a member from every flash campaign, effective at once (blocking twice keeps the first reason)."""
    return BlockedOut.model_validate(await service.block(operator, body.member_id, body.reason))


@router.delete(
    "/campaign-blocklist/{member_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Unblock a member",
    responses=problem_responses((404, "campaign.not_blocked", "the member is not blocked")),
)
@roles(*MANAGE)
async def unblock_member(member_id: Id, operator: Principal = Depends(current_operator)) -> None:
    """Lift a block."""
    await service.unblock(operator, member_id)


@router.get(
    "/campaigns/{campaign_id}/draws/verification",
    response_model=DrawVerificationOut,
    summary="Verify a lucky draw's fairness",
    responses=problem_responses(NOT_FOUND, (409, "campaign.wrong_type", "not a lucky draw")),
)
@roles(*READ)
async def verify_draws(campaign_id: Id) -> DrawVerificationOut:
    """Recompute every draw from the seed (HMAC-SHA256(seed, reference)), check the seed against its
    published commitment, and check each prize's stock against the times it was won. The seed itself
    is shown in the campaign only once it ended."""
    return await draw.verification(await repository.get_campaign(campaign_id))
