"""The home page: today's figures (Asia/Shanghai business day) for the signed-in operator's scope."""

from __future__ import annotations

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
from campaigns.models import CampaignStatus
from merchants import repository as merchant_repository
from merchants import router_ops as merchant_ops
from merchants.models import MerchantStatus

router = APIRouter()


async def figures(session: ConsoleSession) -> dict[str, int]:
    """Today's figures this operator may read (each guarded by the roles of the ops endpoint behind it)."""
    out: dict[str, int] = {}
    if session.can(roles_of(merchant_ops.list_merchants)):
        scope = await merchant_repository.ops_scope(session.principal)
        merchants = merchant_repository.merchants_in(scope)
        out["merchants_submitted"] = await merchants.filter(status=MerchantStatus.SUBMITTED).count()
        out["merchants_active"] = await merchants.filter(status=MerchantStatus.ACTIVE).count()
    if session.can(roles_of(campaign_ops.list_campaigns)):
        pending = campaign_repository.ops_query(
            status=CampaignStatus.PENDING_APPROVAL, type_=None, merchant_id=None
        )
        live = campaign_repository.ops_query(status=CampaignStatus.LIVE, type_=None, merchant_id=None)
        out["campaigns_pending"] = await pending.count()
        out["campaigns_live"] = await live.count()
    if session.can(roles_of(core_ops.audit_log)):
        start, _ = business_day_bounds(business_day())
        out["audit_today"] = await queries.audit_entries(since=start).count()
    if session.can(roles_of(core_ops.dead_jobs)):
        out["dead_jobs"] = await queries.dead_jobs().count()
    return out


@router.get("/")
async def home(request: Request, session: ConsoleSession = Depends(signed_in)) -> Response:
    """Today's figures and the queues waiting for this operator."""
    return render(request, "home.html", {"figures": await figures(session)}, session=session)
