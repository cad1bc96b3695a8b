"""Campaigns for members (`/mp/v1/campaigns`): browse, see the stock, grab, see my wins."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from app.core.auth.deps import current_member
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.fastlane import fast_lane
from app.core.inputs import Id
from app.core.pagination import Page, PageParams, page_params, paginate
from app.core.ratelimit import client_ip
from app.core.timeutil import utcnow
from campaigns import audience, flash
from campaigns.models import FlashWin
from campaigns.schemas import CampaignPublicOut, GrabOut, ParticipationOut, StockOut, WinOut
from campaigns.views import public_out
from loyalty import members
from loyalty import vouchers as loyalty_vouchers
from miniprogram_api import grab_lane

router = APIRouter(tags=["Mini-program: campaigns"])

NOT_FOUND = (404, "campaign.not_found", "no such campaign, or not for you")


@router.get("/campaigns", response_model=Page[CampaignPublicOut], summary="Campaigns for me")
async def list_campaigns(
    merchant_id: Id | None = Query(None, ge=1, description="only campaigns of this store"),
    page: PageParams = Depends(page_params),
    member: Principal = Depends(current_member),
) -> Page[CampaignPublicOut]:
    """Upcoming and running campaigns I am eligible for, newest first (a store page passes `merchant_id`)."""
    me = await members.get_member(member.id)
    rows, cursor = await audience.visible_page(me, page, utcnow(), merchant_id=merchant_id)
    return Page(items=await public_out(rows), next_cursor=cursor)


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignPublicOut,
    summary="One campaign",
    responses=problem_responses(NOT_FOUND),
)
async def get_campaign(campaign_id: Id, member: Principal = Depends(current_member)) -> CampaignPublicOut:
    """A campaign's details (a lucky draw shows its seed commitment, and the seed once it ended)."""
    me = await members.get_member(member.id)
    return (await public_out([await audience.get_visible(me, campaign_id, utcnow())]))[0]


@router.get(
    "/campaigns/{campaign_id}/stock", response_model=StockOut, summary="Stock left of a flash campaign"
)
async def stock(campaign_id: Id, member: Principal = Depends(current_member)) -> StockOut:
    """Items left, read from the flash engine (null before the campaign is loaded)."""
    total, left = await flash.stock_left(campaign_id)
    return StockOut(campaign_id=campaign_id, stock=total, left=left)


@router.post(
    "/campaigns/{campaign_id}/grab",
    response_model=GrabOut,
    summary="Grab one item of a flash campaign",
    responses=problem_responses(
        NOT_FOUND,
        (422, "validation_error", "malformed Idempotency-Key"),
        (429, "rate_limited", "too many grabs from this member or address; see Retry-After"),
        (503, "campaign.unavailable", "the engine is (re)loading the campaign; see Retry-After"),
    ),
)
@fast_lane(grab_lane.answer)
async def grab(
    campaign_id: Id,
    request: Request,
    member: Principal = Depends(current_member),
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        description="Send the same key when retrying a grab whose answer you did not receive: you get the "
        "first answer again (won, sold_out, limit_reached). Scoped to you and this campaign.",
    ),
) -> Response:
    """Answered at once: `won` with a ticket id (the win shows in my wins within seconds), `sold_out`,
    `limit_reached`, `not_eligible`, `not_started`, `paused` or `ended`. (In the running app the grab
    fast lane, `miniprogram_api.grab_lane`, answers this route with the same code before routing.)"""
    body = await grab_lane.grab_body(campaign_id, member.id, idempotency_key, client_ip(request))
    return Response(body, media_type="application/json")


async def _with_vouchers(member_id: Id, wins: list[FlashWin]) -> list[WinOut]:
    """The wins as shown to their member, each with the voucher it became (one query)."""
    vouchers = await loyalty_vouchers.member_vouchers_by_reference(member_id, [w.ticket_id for w in wins])
    return [
        WinOut.model_validate(w).model_copy(update={"voucher_id": vouchers.get(w.ticket_id)}) for w in wins
    ]


@router.get(
    "/campaigns/{campaign_id}/participation",
    response_model=ParticipationOut,
    summary="My part in a campaign",
    responses=problem_responses(NOT_FOUND),
)
async def participation(campaign_id: Id, member: Principal = Depends(current_member)) -> ParticipationOut:
    """My wins in this campaign, how many are still being written, and how many more I may win."""
    me = await members.get_member(member.id)
    campaign = await audience.get_visible(me, campaign_id, utcnow())
    wins = await flash.member_wins(member.id, campaign_id).order_by("sequence")
    won = max(len(wins), await flash.answered_wins(campaign_id, member.id))
    return ParticipationOut(
        campaign_id=campaign_id,
        wins=await _with_vouchers(member.id, wins),
        pending=won - len(wins),
        remaining=max(0, campaign.member_limit - won),
    )


@router.get("/me/campaign-wins", response_model=Page[WinOut], summary="My flash wins")
async def my_wins(
    member: Principal = Depends(current_member), page: PageParams = Depends(page_params)
) -> Page[WinOut]:
    """Every flash win of mine, newest first, with the voucher each one became."""
    rows, cursor = await paginate(flash.member_wins(member.id), page)
    return Page(items=await _with_vouchers(member.id, rows), next_cursor=cursor)
