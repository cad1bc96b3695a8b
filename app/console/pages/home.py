"""The home page: today's figures (Asia/Shanghai business day) that the operator's roles may read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.console.deps import roles_of, signed_in
from app.console.rendering import render
from app.console.session import ConsoleSession
from app.core import queries
from app.core import router_ops as core_ops
from app.core.timeutil import business_day, business_day_bounds
from campaigns import repository as campaign_repository
from campaigns import router_ops as campaign_ops
from campaigns.flash import stock_left
from campaigns.models import CampaignStatus, CampaignType
from loyalty import repository as loyalty_repository
from loyalty import router_ops as loyalty_ops
from merchants import repository as merchant_repository
from merchants import router_ops as merchant_ops
from miniprogram_api.billpay import repository as billpay_repository
from miniprogram_api.billpay import router_ops as billpay_ops

router = APIRouter()
LIVE_SHOWN = 10


async def live_flash(limit: int = LIVE_SHOWN) -> list[dict[str, Any]]:
    """Live flash campaigns with the stock the engine holds now."""
    query = campaign_repository.ops_query(
        status=CampaignStatus.LIVE, type_=CampaignType.FLASH, merchant_id=None
    )
    out = []
    for campaign in await query.order_by("-id").limit(limit):
        stock, left = await stock_left(campaign.id)
        out.append({"id": campaign.id, "name": campaign.name, "stock": stock or campaign.stock, "left": left})
    return out


async def figures(session: ConsoleSession) -> dict[str, Any]:
    """Today's figures this operator may read (each guarded by the roles of the ops endpoint behind it)."""
    out: dict[str, Any] = {}
    start, end = business_day_bounds(business_day())
    if session.can(roles_of(merchant_ops.list_merchants)):
        scope = await merchant_repository.ops_scope(session.principal)
        out["merchants"] = await merchant_repository.status_counts(scope)
    if session.can(roles_of(loyalty_ops.list_members)):
        out["loyalty"] = await loyalty_repository.day_figures(start, end)
    if session.can(roles_of(campaign_ops.list_campaigns)):
        pending = campaign_repository.ops_query(
            status=CampaignStatus.PENDING_APPROVAL, type_=None, merchant_id=None
        )
        out["campaigns_pending"] = await pending.count()
        out["live_flash"] = await live_flash()
    if session.can(roles_of(core_ops.audit_log)):
        out["audit_today"] = await queries.audit_entries(since=start).count()
    if session.can(roles_of(core_ops.dead_jobs)):
        out["dead_jobs"] = await queries.dead_jobs().count()
    if session.can(roles_of(billpay_ops.list_mismatches)):
        out["mismatches_open"] = await billpay_repository.mismatches(resolved=False).count()
    return out


@router.get("/")
async def home(request: Request, session: ConsoleSession = Depends(signed_in)) -> Response:
    """Today's figures and the queues waiting for this operator."""
    context = {"figures": await figures(session), "day": business_day()}
    return render(request, "home.html", context, session=session)
