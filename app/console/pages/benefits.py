"""Benefits: the catalogue by status, a new benefit with inline errors, its lifecycle, merchant proposals
approved or rejected by an approver, vouchers given to members."""

from __future__ import annotations

import secrets
from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.console import forms
from app.console.deps import checked, require, roles_of, signed_in
from app.console.i18n import language_of, translator
from app.console.rendering import render
from app.console.session import ConsoleSession
from app.core.errors import InvalidField
from app.core.idempotency import one_time_reference
from app.core.inputs import Id
from app.core.pagination import PageParams, paginate
from loyalty import admin
from loyalty import router_ops as ops
from loyalty.models import BenefitKind, BenefitStatus
from loyalty.schemas import BenefitIn
from loyalty.vouchers import benefit_listing, benefit_out, benefit_transition, create_benefit, get_benefit

router = APIRouter(prefix="/benefits")
FIELDS = {
    "name": "name",
    "kind": "kind",
    "face_value_fen": "face_value",
    "discount_percent": "discount_percent",
    "discount_cap_fen": "discount_cap",
    "min_spend_fen": "min_spend",
    "valid_days": "valid_days",
    "stock_total": "stock_total",
    "per_member_limit": "per_member_limit",
    "price_points": "price_points",
}
FORM_FIELDS = tuple(FIELDS.values())
MAX_GRANT = 1000


@router.get("")
async def benefit_list(
    request: Request,
    status_: str = Query("", alias="status", max_length=16),
    cursor: str | None = Query(None, max_length=256),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """The catalogue by status (`pending_review`: merchants' proposals waiting for an approver)."""
    require(session, ops.list_benefits)
    status = BenefitStatus(status_) if status_ in set(BenefitStatus) else None
    rows, next_cursor = await paginate(benefit_listing(status), PageParams(cursor, 50))
    context = {
        "benefits": [await benefit_out(r) for r in rows],
        "status": status,
        "statuses": list(BenefitStatus),
        "next": next_cursor,
        "can_create": session.can(roles_of(ops.create_benefit)),
        "values": {"kind": "cash", "per_member_limit": "1", "valid_days": "30"},
        "errors": {},
    }
    return render(request, "benefits.html", context, session=session)


def _body(values: dict[str, str], errors: forms.FieldErrors, _: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": values["name"], "kind": values["kind"] or "cash", "eligibility": "all"}
    for key, field in (
        ("face_value_fen", "face_value"),
        ("discount_cap_fen", "discount_cap"),
        ("min_spend_fen", "min_spend"),
    ):
        amount = forms.fen(values[field], field, errors, _)
        if amount is not None:
            body[key] = amount
    for key in ("discount_percent", "valid_days", "stock_total", "per_member_limit", "price_points"):
        number = forms.integer(values[FIELDS[key]], FIELDS[key], errors, _)
        if number is not None:
            body[key] = number
    return body


@router.post("")
async def create(request: Request, session: ConsoleSession = Depends(checked)) -> Response:
    """Add a bank-funded benefit for every merchant as a draft; invalid fields come back inline."""
    require(session, ops.create_benefit)
    _ = translator(language_of(request))
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in FORM_FIELDS}
    errors = forms.FieldErrors()
    body = _body(values, errors, _)
    if not errors:
        try:
            benefit = await create_benefit(session.principal, BenefitIn.model_validate(body))
        except ValidationError as exc:
            forms.from_validation(exc, FIELDS, errors, _)
        except InvalidField as exc:
            for error in exc.extra.get("errors") or []:
                errors.setdefault(FIELDS.get(str(error.get("field")), "_form"), str(error.get("message")))
        else:
            return RedirectResponse(f"/console/benefits/{benefit.id}?done=created", status_code=303)
    rows, next_cursor = await paginate(benefit_listing(None), PageParams(None, 50))
    context = {
        "benefits": [await benefit_out(r) for r in rows],
        "status": None,
        "statuses": list(BenefitStatus),
        "next": next_cursor,
        "can_create": True,
        "values": values,
        "errors": errors,
    }
    return render(request, "benefits.html", context, session=session, status_code=422)


@router.get("/{benefit_id}")
async def benefit_detail(
    request: Request, benefit_id: Id, session: ConsoleSession = Depends(signed_in)
) -> Response:
    """A benefit with the actions its status and the operator's roles allow."""
    require(session, ops.get_benefit)
    context = {
        "benefit": await benefit_out(await get_benefit(benefit_id)),
        "kinds": list(BenefitKind),
        "can_run": session.can(roles_of(ops.run_benefit)),
        "can_review": session.can(roles_of(ops.approve_benefit)),
        "can_grant": session.can(roles_of(ops.grant_vouchers)),
        "nonce": secrets.token_urlsafe(16),
        "done": request.query_params.get("done"),
        "granted": request.query_params.get("granted"),
    }
    return render(request, "benefit.html", context, session=session)


@router.post("/{benefit_id}/lifecycle/{action}")
async def run(
    benefit_id: Id,
    action: Literal["publish", "pause", "resume", "end"],
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Publish, pause, resume or end a benefit."""
    require(session, ops.run_benefit)
    await benefit_transition(session.principal, benefit_id, action)
    return RedirectResponse(f"/console/benefits/{benefit_id}?done={action}", status_code=303)


@router.post("/{benefit_id}/review/{decision}")
async def review(
    benefit_id: Id,
    decision: Literal["approve", "reject"],
    reason: str = Form("", max_length=200),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Approve a merchant's proposal, or reject it with a reason the merchant sees."""
    require(session, ops.approve_benefit if decision == "approve" else ops.reject_benefit)
    if decision == "reject" and len(reason.strip()) < 3:
        raise InvalidField("reason", "say why the proposal is rejected")
    await benefit_transition(session.principal, benefit_id, decision, reason)
    return RedirectResponse(f"/console/benefits/{benefit_id}?done=review_{decision}", status_code=303)


@router.post("/{benefit_id}/grants")
async def grant(
    benefit_id: Id,
    member_ids: str = Form(..., max_length=20_000),
    reason: str = Form(..., min_length=3, max_length=200),
    nonce: str = Form(..., min_length=8, max_length=64),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """One voucher to each member listed (ids separated by commas, spaces or lines); once per form."""
    require(session, ops.grant_vouchers)
    ids = [int(p) for p in member_ids.replace(",", " ").split() if p.isdigit()]
    if not 1 <= len(ids) <= MAX_GRANT or len(ids) != len(member_ids.replace(",", " ").split()):
        raise InvalidField("member_ids", f"1 to {MAX_GRANT} member ids")
    with one_time_reference(f"console:{session.principal.id}:{nonce}"):
        issued = await admin.grant_vouchers(session.principal, benefit_id, ids, reason)
    given = sum(1 for i in issued if i.voucher_id is not None)
    return RedirectResponse(f"/console/benefits/{benefit_id}?done=granted&granted={given}", status_code=303)
