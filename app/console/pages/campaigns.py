"""Campaigns: the list, a new flash campaign with inline errors, submit, approve or reject (four eyes)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.console import forms
from app.console.deps import checked, require, roles_of, signed_in
from app.console.i18n import language_of, translator
from app.console.rendering import render
from app.console.session import ConsoleSession
from app.core.errors import ProblemError
from app.core.inputs import Id
from app.core.pagination import PageParams, paginate
from app.core.problem_i18n import translate
from campaigns import repository
from campaigns import router_ops as ops
from campaigns.lifecycle import Action, allowed_actions
from campaigns.management import (
    act_on_campaign,
    approve_campaign,
    campaign_analytics,
    create_campaign,
    reject_campaign,
    submit_campaign,
)
from campaigns.models import CampaignStatus, CampaignType
from campaigns.schemas import CampaignIn
from campaigns.views import campaign_out

router = APIRouter(prefix="/campaigns")
OPERATOR_ACTIONS = ("pause", "resume", "end", "cancel")  # the rest are submit, approve, reject, edit, start

# Where each CampaignIn field is on the form.
FIELDS = {
    "name": "name",
    "starts_at": "starts_at",
    "ends_at": "ends_at",
    "per_member_limit": "per_member_limit",
    "stock": "stock",
    "price_fen": "price",
    "reward": "reward_value",
    "reward.kind": "reward_kind",
    "title": "reward_title",
    "value_fen": "reward_value",
    "points": "reward_points",
    "benefit_id": "benefit_id",
    "cost_fen": "cost",
    "budget_fen": "budget",
}
FORM_FIELDS = (
    "name",
    "starts_at",
    "ends_at",
    "per_member_limit",
    "stock",
    "price",
    "reward_kind",
    "reward_title",
    "reward_value",
    "reward_points",
    "benefit_id",
    "cost",
    "budget",
)


@router.get("")
async def campaign_list(
    request: Request,
    status_: str = Query("", alias="status", max_length=32),
    type_: str = Query("", alias="type", max_length=32),
    cursor: str | None = Query(None, max_length=256),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """Campaigns by status and type, newest first."""
    require(session, ops.list_campaigns)
    # The filter form sends an empty value for "all".
    status = CampaignStatus(status_) if status_ in set(CampaignStatus) else None
    kind = CampaignType(type_) if type_ in set(CampaignType) else None
    query = repository.ops_query(status=status, type_=kind, merchant_id=None)
    rows, next_cursor = await paginate(query, PageParams(cursor, 50))
    context = {
        "campaigns": rows,
        "status": status,
        "type": kind,
        "statuses": list(CampaignStatus),
        "types": list(CampaignType),
        "next": next_cursor,
        "can_create": session.can(roles_of(ops.create_campaign)),
    }
    return render(request, "campaigns.html", context, session=session)


@router.get("/new")
async def new_campaign(request: Request, session: ConsoleSession = Depends(signed_in)) -> Response:
    """The form of a new flash campaign."""
    require(session, ops.create_campaign)
    values = {"per_member_limit": "1", "reward_kind": "voucher", "stock": "100"}
    return render(request, "campaign_new.html", {"values": values, "errors": {}}, session=session)


def _flash_body(values: dict[str, str], errors: forms.FieldErrors, _: Any) -> dict[str, Any]:
    kind = values["reward_kind"] or "voucher"
    reward: dict[str, Any] = {"kind": kind, "title": values["reward_title"]}
    for key, field in (("value_fen", "reward_value"), ("cost_fen", "cost")):
        amount = forms.fen(values[field], field, errors, _)
        if amount is not None:
            reward[key] = amount
    for key, field in (("points", "reward_points"), ("benefit_id", "benefit_id")):
        number = forms.integer(values[field], field, errors, _)
        if number is not None:
            reward[key] = number
    config: dict[str, Any] = {"type": "flash", "reward": reward}
    stock = forms.integer(values["stock"], "stock", errors, _)
    if stock is not None:
        config["stock"] = stock
    config["price_fen"] = forms.fen(values["price"], "price", errors, _) or 0
    body: dict[str, Any] = {
        "name": values["name"],
        "starts_at": forms.instant(values["starts_at"], "starts_at", errors, _),
        "ends_at": forms.instant(values["ends_at"], "ends_at", errors, _),
        "config": config,
    }
    limit = forms.integer(values["per_member_limit"], "per_member_limit", errors, _)
    if limit is not None:
        body["per_member_limit"] = limit
    budget = forms.fen(values["budget"], "budget", errors, _)
    if budget is not None:
        body["budget_fen"] = budget
    return body


@router.post("")
async def create(request: Request, session: ConsoleSession = Depends(checked)) -> Response:
    """Create a draft flash campaign; invalid fields come back inline on the form."""
    require(session, ops.create_campaign)
    _ = translator(language_of(request))
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in FORM_FIELDS}
    errors = forms.FieldErrors()
    body = _flash_body(values, errors, _)
    problem: dict[str, str] | None = None
    if not errors:
        try:
            campaign = await create_campaign(session.principal, CampaignIn.model_validate(body))
        except ValidationError as exc:
            forms.from_validation(exc, FIELDS, errors, _)
        except ProblemError as exc:
            for error in exc.extra.get("errors") or []:
                errors.setdefault(FIELDS.get(str(error.get("field")), "_form"), str(error.get("message")))
            title, detail = translate(language_of(request), exc.status, exc.code, exc.title, exc.detail)
            problem = {"title": title, "detail": detail}
        else:
            return RedirectResponse(f"/console/campaigns/{campaign.id}?done=created", status_code=303)
    context = {"values": values, "errors": errors, "problem": problem}
    return render(request, "campaign_new.html", context, session=session, status_code=422)


@router.get("/{campaign_id}")
async def campaign_detail(
    request: Request, campaign_id: Id, session: ConsoleSession = Depends(signed_in)
) -> Response:
    """A campaign with the actions its status and the operator's roles allow."""
    require(session, ops.get_campaign)
    campaign = await campaign_out(await repository.get_campaign(campaign_id))
    me = session.principal.id
    context = {
        "campaign": campaign,
        "done": request.query_params.get("done"),
        "can_manage": session.can(roles_of(ops.submit_campaign)),
        "can_approve": session.can(roles_of(ops.approve_campaign)),
        "wrote_it": me in (campaign.created_by, campaign.updated_by),
        "can_act": session.can(roles_of(ops.preheat_campaign)),
        "actions": [a.value for a in allowed_actions(campaign.status) if a.value in OPERATOR_ACTIONS],
        "analytics": await campaign_analytics(await repository.get_campaign(campaign_id))
        if session.can(roles_of(ops.campaign_analytics))
        else None,
    }
    return render(request, "campaign.html", context, session=session)


@router.post("/{campaign_id}/submit")
async def submit(campaign_id: Id, session: ConsoleSession = Depends(checked)) -> Response:
    """Send a draft to the approvers."""
    require(session, ops.submit_campaign)
    await submit_campaign(session.principal, campaign_id)
    return RedirectResponse(f"/console/campaigns/{campaign_id}?done=submitted", status_code=303)


@router.post("/{campaign_id}/approve")
async def approve(
    campaign_id: Id,
    version: int | None = Form(None, ge=1),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Approve the version the operator reviewed (four eyes: the service refuses its author)."""
    require(session, ops.approve_campaign)
    await approve_campaign(session.principal, campaign_id, version)
    return RedirectResponse(f"/console/campaigns/{campaign_id}?done=approved", status_code=303)


@router.post("/{campaign_id}/reject")
async def reject(
    campaign_id: Id,
    reason: str = Form(..., min_length=1, max_length=500),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Send a pending campaign back to its author with a reason."""
    require(session, ops.reject_campaign)
    await reject_campaign(session.principal, campaign_id, reason)
    return RedirectResponse(f"/console/campaigns/{campaign_id}?done=rejected", status_code=303)


@router.post("/{campaign_id}/{action}")
async def act(
    campaign_id: Id,
    action: Literal["pause", "resume", "end", "cancel"],
    reason: str = Form("", max_length=500),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Pause, resume, end or cancel a campaign (the service's transitions and audit)."""
    require(session, ops.preheat_campaign)  # the same MANAGE roles as every lifecycle route
    await act_on_campaign(session.principal, campaign_id, Action(action), reason)
    return RedirectResponse(f"/console/campaigns/{campaign_id}?done={action}", status_code=303)
