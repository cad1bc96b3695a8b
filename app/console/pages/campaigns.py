"""Campaigns: the list, a new flash campaign with inline errors, submit, approve or reject (four eyes)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.console import campaign_form, forms
from app.console.deps import checked, require, roles_of, signed_in
from app.console.i18n import language_of, translator
from app.console.rendering import render
from app.console.session import ConsoleSession
from app.core.errors import InvalidField, ProblemError
from app.core.inputs import Id
from app.core.pagination import PageParams, paginate
from app.core.problem_i18n import translate
from campaigns import repository
from campaigns import router_ops as ops
from campaigns.lifecycle import Action, allowed_actions
from campaigns.management import (
    act_on_campaign,
    add_to_audience,
    approve_campaign,
    campaign_analytics,
    create_campaign,
    reject_campaign,
    remove_from_audience,
    submit_campaign,
    update_campaign,
)
from campaigns.models import CampaignStatus, CampaignType
from campaigns.schemas import CampaignIn, CampaignPatch
from campaigns.views import campaign_out

router = APIRouter(prefix="/campaigns")
MAX_AUDIENCE_BATCH = 10_000  # as the API's bulk body allows
OPERATOR_ACTIONS = ("pause", "resume", "end", "cancel")  # the rest are submit, approve, reject, edit, start


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


def _form_context(
    kind: CampaignType,
    values: dict[str, str],
    checked: dict[str, list[str]],
    errors: dict[str, str],
    problem: dict[str, str] | None = None,
    campaign: Any = None,
) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "types": list(CampaignType),
        "own_fields": campaign_form.own_fields(kind),
        "rewards": campaign_form.rewards_of(kind),
        "prizes": campaign_form.PRIZES,
        "tiers": campaign_form.TIERS,
        "values": values,
        "checked": checked,
        "errors": errors,
        "problem": problem,
        "campaign": campaign,
    }


@router.get("/new")
async def new_campaign(
    request: Request,
    type_: str = Query("flash", alias="type", max_length=32),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """The form of a new campaign of one of the six types."""
    require(session, ops.create_campaign)
    kind = CampaignType(type_) if type_ in set(CampaignType) else CampaignType.FLASH
    values = {"per_member_limit": "1", "stock": "100"}
    context = _form_context(kind, values, {}, {})
    return render(request, "campaign_form.html", context, session=session)


async def _read(
    request: Request, kind: CampaignType
) -> tuple[dict[str, str], dict[str, list[str]], forms.FieldErrors, dict[str, Any]]:
    _ = translator(language_of(request))
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in campaign_form.field_names(kind)}
    checked = {name: [str(v) for v in form.getlist(name)] for name in ("tiers", "new_members_only")}
    errors = forms.FieldErrors()
    body = campaign_form.body(kind, values, checked, errors, _)
    return values, checked, errors, body


def _place(
    request: Request, kind: CampaignType, exc: ValidationError | ProblemError, errors: forms.FieldErrors
) -> dict[str, str] | None:
    """Put a refusal's field errors on the form; a problem without fields is shown above it."""
    _ = translator(language_of(request))
    known = set(campaign_form.field_names(kind)) | {"tiers"}
    if isinstance(exc, ValidationError):
        for error in exc.errors():
            errors.setdefault(campaign_form.field_of(error["loc"], known), forms.message(dict(error), _))
        return None
    for error in exc.extra.get("errors") or []:
        location = str(error.get("field", "")).split(".")
        errors.setdefault(campaign_form.field_of(location, known), str(error.get("message")))
    title, detail = translate(language_of(request), exc.status, exc.code, exc.title, exc.detail)
    return {"title": title, "detail": detail}


@router.post("")
async def create(
    request: Request,
    type_: str = Form("flash", alias="type", max_length=32),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Create a draft campaign; invalid fields come back inline on the form."""
    require(session, ops.create_campaign)
    kind = CampaignType(type_) if type_ in set(CampaignType) else CampaignType.FLASH
    values, checked_boxes, errors, body = await _read(request, kind)
    problem = None
    if not errors:
        try:
            campaign = await create_campaign(session.principal, CampaignIn.model_validate(body))
        except (ValidationError, ProblemError) as exc:
            problem = _place(request, kind, exc, errors)
        else:
            return RedirectResponse(f"/console/campaigns/{campaign.id}?done=created", status_code=303)
    context = _form_context(kind, values, checked_boxes, errors, problem)
    return render(request, "campaign_form.html", context, session=session, status_code=422)


@router.get("/{campaign_id}/edit")
async def edit_form(
    request: Request, campaign_id: Id, session: ConsoleSession = Depends(signed_in)
) -> Response:
    """The campaign's form, filled in, for an edit (an approved campaign goes back to approval)."""
    require(session, ops.update_campaign)
    campaign = await campaign_out(await repository.get_campaign(campaign_id))
    values, checked_boxes = campaign_form.values_of(campaign)
    context = _form_context(campaign.type, values, checked_boxes, {}, campaign=campaign)
    return render(request, "campaign_form.html", context, session=session)


@router.post("/{campaign_id}/edit")
async def edit(
    request: Request,
    campaign_id: Id,
    version: int = Form(..., ge=1),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Save an edit of the version the operator read (409 when someone changed it meanwhile)."""
    require(session, ops.update_campaign)
    campaign = await campaign_out(await repository.get_campaign(campaign_id))
    values, checked_boxes, errors, body = await _read(request, campaign.type)
    problem = None
    if not errors:
        try:
            patch = CampaignPatch.model_validate(body | {"version": version})
            await update_campaign(session.principal, campaign_id, patch)
        except (ValidationError, ProblemError) as exc:
            problem = _place(request, campaign.type, exc, errors)
        else:
            return RedirectResponse(f"/console/campaigns/{campaign_id}?done=edited", status_code=303)
    context = _form_context(campaign.type, values, checked_boxes, errors, problem, campaign=campaign)
    return render(request, "campaign_form.html", context, session=session, status_code=422)


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
        "audience_list": await repository.audience_list(campaign_id).count(),
        "can_edit_audience": session.can(roles_of(ops.add_audience)),
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


@router.post("/{campaign_id}/audience-members")
async def audience_members(
    campaign_id: Id,
    member_ids: str = Form(..., max_length=200_000),
    remove: bool = Form(False),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Add members to the campaign's audience list, or remove them (an approved campaign goes back to
    approval)."""
    require(session, ops.remove_audience if remove else ops.add_audience)
    parts = member_ids.replace(",", " ").split()
    if not parts or len(parts) > MAX_AUDIENCE_BATCH or not all(p.isdigit() for p in parts):
        raise InvalidField("member_ids", f"1 to {MAX_AUDIENCE_BATCH} member ids")
    ids = [int(p) for p in parts]
    if remove:
        await remove_from_audience(session.principal, campaign_id, ids)
    else:
        await add_to_audience(session.principal, campaign_id, ids)
    done = "audience_removed" if remove else "audience_added"
    return RedirectResponse(f"/console/campaigns/{campaign_id}?done={done}", status_code=303)


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
