"""Ops routes of loyalty (`/ops/v1`): merchants' terms, points corrections, the benefits catalogue."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from fastapi.responses import PlainTextResponse

from app.core.auth.deps import OperatorRole, current_operator, roles
from app.core.auth.tokens import Principal
from app.core.errors import InvalidField, problem_responses
from app.core.idempotency import idempotent
from app.core.inputs import Day, Id
from app.core.pagination import Page, PageParams, page_params, paginate
from loyalty import admin
from loyalty.ledger import check
from loyalty.members import pool as members
from loyalty.members import segments
from loyalty.messages import broadcasts
from loyalty.models import BenefitStatus, StatementStatus, Tier
from loyalty.schemas import (
    BenefitIn,
    BenefitOut,
    BenefitPatch,
    BreakOut,
    BroadcastIn,
    BroadcastOut,
    BroadcastPreviewOut,
    GrantIn,
    GrantOut,
    LineOut,
    OpsMemberOut,
    PointsGrantIn,
    PostingOut,
    ProgramIn,
    ProgramOut,
    RejectIn,
    ReversalIn,
    SettlementRunIn,
    SettlementRunOut,
    StatementOut,
    TagCountOut,
    TagImportOut,
)
from loyalty.settlement import statements as settlement
from loyalty.vouchers import benefits

router = APIRouter()
POINTS_TAG = "Ops: loyalty"
BENEFITS_TAG = "Ops: benefits"
SETTLEMENT_TAG = "Ops: settlement"
MEMBERS_TAG = "Ops: members"
MESSAGES_TAG = "Ops: messages"


@router.get(
    "/loyalty/merchants/{merchant_id}/terms",
    response_model=ProgramOut,
    tags=[POINTS_TAG],
    summary="A merchant's loyalty terms",
    responses=problem_responses((404, "merchant.not_found", "no such merchant")),
)
@roles(OperatorRole.GRID_MANAGER, OperatorRole.CAMPAIGN_MANAGER, OperatorRole.AUDITOR)
async def get_terms(merchant_id: Id, operator: Principal = Depends(current_operator)) -> ProgramOut:
    """Earning rate and point value in force (platform defaults when none set) and the merchant's category."""
    return await admin.terms_for_ops(operator, merchant_id)


@router.put(
    "/loyalty/merchants/{merchant_id}/terms",
    response_model=ProgramOut,
    tags=[POINTS_TAG],
    summary="Set a merchant's loyalty terms",
    responses=problem_responses((404, "merchant.not_found", "no such merchant")),
)
@roles(OperatorRole.GRID_MANAGER)
async def set_terms(
    merchant_id: Id, body: ProgramIn, operator: Principal = Depends(current_operator)
) -> ProgramOut:
    """Set the earning rate (points per ¥100) and point value (fen); audited.

    The merchant's category, which decides category-scoped benefits, is its business category in the
    merchants domain (one list for customers' filters and benefits alike), not a loyalty setting.
    """
    await admin.set_terms(operator, merchant_id, body.earn_rate, body.point_value_fen)
    return await admin.terms_out(merchant_id)


MAX_IMPORT_BYTES = 5 * 1024 * 1024


@router.post(
    "/members/tags/import",
    response_model=TagImportOut,
    tags=[MEMBERS_TAG],
    summary="Import a tag for members from a CSV",
    responses=problem_responses(
        (422, "validation_error", "bad tag name, automatic tag, no usable column, not UTF-8, or too large"),
    ),
)
@roles(OperatorRole.CAMPAIGN_MANAGER)
async def import_tags(
    tag: str = Form(description="the tag, e.g. payroll, mortgage, card_holder"),
    file: UploadFile = File(
        description="CSV with a header and a member_id, phone_hash or phone column; an optional grid_id"
        " column sets each member's home grid (the customer's branch)"
    ),
    operator: Principal = Depends(current_operator),
) -> TagImportOut:
    """Tag every member the CSV names (by member id, phone lookup hash or phone), set home grids; audited."""
    content = await file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise InvalidField("file", f"at most {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    report = await segments.import_tags(operator, tag, content)
    return TagImportOut(**vars(report))


@router.get("/members/tags", response_model=list[TagCountOut], tags=[MEMBERS_TAG], summary="Tags in use")
@roles(OperatorRole.CAMPAIGN_MANAGER, OperatorRole.AUDITOR)
async def list_tags() -> list[TagCountOut]:
    """Every tag with its number of members (automatic ones included)."""
    return [TagCountOut(tag=tag, members=n) for tag, n in await segments.tag_counts()]


@router.delete(
    "/members/tags/{tag}",
    response_model=TagCountOut,
    tags=[MEMBERS_TAG],
    summary="Remove an imported tag from every member",
    responses=problem_responses((422, "validation_error", "bad tag name or an automatic tag")),
)
@roles(OperatorRole.CAMPAIGN_MANAGER)
async def remove_tag(tag: str, operator: Principal = Depends(current_operator)) -> TagCountOut:
    """Untag everybody (e.g. before importing a fresh list); answers how many lost it; audited."""
    return TagCountOut(tag=tag, members=await segments.remove_tag(operator, tag))


@router.get("/members", response_model=Page[OpsMemberOut], tags=[MEMBERS_TAG], summary="Members by segment")
@roles(OperatorRole.CAMPAIGN_MANAGER, OperatorRole.AUDITOR)
async def list_members(
    tier: Tier | None = None,
    tag: str | None = Query(None, max_length=32),
    page: PageParams = Depends(page_params),
) -> Page[OpsMemberOut]:
    """Members, newest first, filtered by tier and tag."""
    rows, cursor = await paginate(admin.members_query(tier, tag), page)
    return Page(items=[await admin.member_out(m) for m in rows], next_cursor=cursor)


@router.get(
    "/members/{member_id}",
    response_model=OpsMemberOut,
    tags=[MEMBERS_TAG],
    summary="One member",
    responses=problem_responses((404, "member.not_found", "no such member")),
)
@roles(OperatorRole.CAMPAIGN_MANAGER, OperatorRole.AUDITOR)
async def get_member(member_id: Id) -> OpsMemberOut:
    """A member's tier, tags, balance and consents (phone masked)."""
    return await admin.member_out(await members.get_member(member_id))


@router.post(
    "/members/{member_id}/points",
    response_model=PostingOut,
    status_code=201,
    tags=[POINTS_TAG],
    summary="Credit points to a member",
    responses=problem_responses(
        (404, "member.not_found", "no such member"),
        (422, "validation_error", "points not a positive whole number, or over the limit"),
    ),
)
@roles()
@idempotent
async def grant_points(
    member_id: Id, body: PointsGrantIn, operator: Principal = Depends(current_operator)
) -> PostingOut:
    """A goodwill credit or correction from the bank's pool (admin only); audited."""
    return PostingOut.model_validate(
        await admin.grant_points(operator, member_id, body.points, body.reason), from_attributes=True
    )


@router.post(
    "/points/reversals",
    response_model=PostingOut,
    status_code=201,
    tags=[POINTS_TAG],
    summary="Reverse a journal",
    responses=problem_responses(
        (404, "points.journal_not_found", "no journal with that reference"),
        (409, "points.not_reversible", "expiries and reversals cannot be reversed"),
    ),
)
@roles()
@idempotent
async def reverse(body: ReversalIn, operator: Principal = Depends(current_operator)) -> PostingOut:
    """Post the reversing journal of a journal (admin only); reversing twice returns the first reversal."""
    return PostingOut.model_validate(
        await admin.reverse(operator, body.reference, body.reason), from_attributes=True
    )


@router.post(
    "/benefits",
    response_model=BenefitOut,
    status_code=201,
    tags=[BENEFITS_TAG],
    summary="Add a benefit to the catalogue",
    responses=problem_responses(
        (422, "validation_error", "a field is missing, out of range or inconsistent")
    ),
)
@roles(OperatorRole.CAMPAIGN_MANAGER)
async def create_benefit(body: BenefitIn, operator: Principal = Depends(current_operator)) -> BenefitOut:
    """Create a benefit as a draft; publish it to make it available."""
    return await benefits.benefit_out(await benefits.create_benefit(operator, body))


@router.get("/benefits", response_model=Page[BenefitOut], tags=[BENEFITS_TAG], summary="The catalogue")
@roles(OperatorRole.CAMPAIGN_MANAGER, OperatorRole.APPROVER, OperatorRole.AUDITOR)
async def list_benefits(
    status: BenefitStatus | None = None, page: PageParams = Depends(page_params)
) -> Page[BenefitOut]:
    """Every benefit, newest first, optionally by status (e.g. `pending_review` proposals)."""
    rows, cursor = await paginate(benefits.listing(status), page)
    return Page(items=[await benefits.benefit_out(r) for r in rows], next_cursor=cursor)


@router.get(
    "/benefits/{benefit_id}",
    response_model=BenefitOut,
    tags=[BENEFITS_TAG],
    summary="One benefit",
    responses=problem_responses((404, "benefit.not_found", "no such benefit")),
)
@roles(OperatorRole.CAMPAIGN_MANAGER, OperatorRole.APPROVER, OperatorRole.AUDITOR)
async def get_benefit(benefit_id: Id) -> BenefitOut:
    """A benefit with its merchant list and stock."""
    return await benefits.benefit_out(await benefits.get_benefit(benefit_id))


@router.patch(
    "/benefits/{benefit_id}",
    response_model=BenefitOut,
    tags=[BENEFITS_TAG],
    summary="Change a benefit's texts, price or stock",
    responses=problem_responses(
        (404, "benefit.not_found", "no such benefit"),
        (422, "validation_error", "unlimited stock, or removing more than is left"),
    ),
)
@roles(OperatorRole.CAMPAIGN_MANAGER)
async def update_benefit(
    benefit_id: Id, body: BenefitPatch, operator: Principal = Depends(current_operator)
) -> BenefitOut:
    """Rename, reprice, or add (or remove unissued) stock; audited."""
    return await benefits.benefit_out(await benefits.update_benefit(operator, benefit_id, body))


_TRANSITION_ERRORS = problem_responses(
    (404, "benefit.not_found", "no such benefit"),
    (409, "benefit.invalid_transition", "not allowed from the benefit's current status"),
)


@router.post(
    "/benefits/{benefit_id}/lifecycle/{action}",
    response_model=BenefitOut,
    tags=[BENEFITS_TAG],
    summary="Publish, pause, resume or end a benefit",
    responses=_TRANSITION_ERRORS,
)
@roles(OperatorRole.CAMPAIGN_MANAGER)
async def run_benefit(
    benefit_id: Id,
    action: Literal["publish", "pause", "resume", "end"],
    operator: Principal = Depends(current_operator),
) -> BenefitOut:
    """Move a benefit through draft → active ⇄ paused → ended; audited."""
    return await benefits.benefit_out(await benefits.transition(operator, benefit_id, action))


@router.post(
    "/benefits/{benefit_id}/review/approve",
    response_model=BenefitOut,
    tags=[BENEFITS_TAG],
    summary="Approve a merchant's proposal",
    responses=_TRANSITION_ERRORS,
)
@roles(OperatorRole.APPROVER)
async def approve_benefit(benefit_id: Id, operator: Principal = Depends(current_operator)) -> BenefitOut:
    """A pending merchant-funded benefit becomes active; audited."""
    return await benefits.benefit_out(await benefits.transition(operator, benefit_id, "approve"))


@router.post(
    "/benefits/{benefit_id}/review/reject",
    response_model=BenefitOut,
    tags=[BENEFITS_TAG],
    summary="Reject a merchant's proposal",
    responses=_TRANSITION_ERRORS,
)
@roles(OperatorRole.APPROVER)
async def reject_benefit(
    benefit_id: Id, body: RejectIn, operator: Principal = Depends(current_operator)
) -> BenefitOut:
    """A pending merchant-funded benefit is rejected with a reason the merchant sees; audited."""
    return await benefits.benefit_out(await benefits.transition(operator, benefit_id, "reject", body.reason))


@router.post(
    "/benefits/{benefit_id}/grants",
    response_model=list[GrantOut],
    tags=[BENEFITS_TAG],
    summary="Give vouchers of a benefit to members",
    responses=problem_responses(
        (404, "benefit.not_found", "no such benefit"),
        (404, "member.not_found", "a member does not exist"),
        (409, "benefit.unavailable", "the benefit is not active, or its merchant is not"),
        (409, "benefit.sold_out", "not enough stock for all of them (none given)"),
    ),
)
@roles(OperatorRole.CAMPAIGN_MANAGER)
@idempotent
async def grant_vouchers(
    benefit_id: Id, body: GrantIn, operator: Principal = Depends(current_operator)
) -> list[GrantOut]:
    """Issue one voucher to each member (care, compensation); members at the limit get none; audited."""
    issued = await admin.grant_vouchers(operator, benefit_id, body.member_ids, body.reason)
    return [GrantOut(member_id=i.member_id, outcome=i.outcome.value, voucher_id=i.voucher_id) for i in issued]


@router.post(
    "/settlement/runs",
    response_model=SettlementRunOut,
    status_code=202,
    tags=[SETTLEMENT_TAG],
    summary="Build a business day's statements",
    responses=problem_responses((422, "validation_error", "the day has not ended yet")),
)
@roles()
async def run_settlement(
    body: SettlementRunIn, operator: Principal = Depends(current_operator)
) -> SettlementRunOut:
    """Queue building (or completing) the statements of an ended day; re-running never duplicates lines."""
    await admin.queue_settlement(operator, body.day)
    return SettlementRunOut(day=body.day, queued=True)


@router.get(
    "/settlement/statements",
    response_model=Page[StatementOut],
    tags=[SETTLEMENT_TAG],
    summary="Settlement statements",
)
@roles(OperatorRole.AUDITOR)
async def list_statements(
    day: Day | None = None,
    merchant_id: Id | None = None,
    status: StatementStatus | None = None,
    page: PageParams = Depends(page_params),
) -> Page[StatementOut]:
    """Statements, newest first, by business day, merchant or status."""
    rows, cursor = await paginate(
        settlement.statements(day=day, merchant_id=merchant_id, status=status), page
    )
    return Page(items=[StatementOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/settlement/statements.csv",
    tags=[SETTLEMENT_TAG],
    summary="Download a day's statements as CSV",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {"example": ",".join(settlement.CSV_COLUMNS) + "\n"}}}},
)
@roles(OperatorRole.AUDITOR)
async def statements_csv(day: Day) -> Response:
    """One row per merchant with payable, receivable and net amounts, for the payments system."""
    return Response(
        content=await settlement.day_csv(day),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="settlement-{day.isoformat()}.csv"'},
    )


@router.get(
    "/settlement/statements/{statement_id}",
    response_model=StatementOut,
    tags=[SETTLEMENT_TAG],
    summary="One statement",
    responses=problem_responses((404, "settlement.not_found", "no such statement")),
)
@roles(OperatorRole.AUDITOR)
async def get_statement(statement_id: Id) -> StatementOut:
    """A statement with its totals."""
    return StatementOut.model_validate(await settlement.statement(statement_id))


@router.get(
    "/settlement/statements/{statement_id}/lines",
    response_model=Page[LineOut],
    tags=[SETTLEMENT_TAG],
    summary="A statement's lines",
    responses=problem_responses((404, "settlement.not_found", "no such statement")),
)
@roles(OperatorRole.AUDITOR)
async def statement_lines(statement_id: Id, page: PageParams = Depends(page_params)) -> Page[LineOut]:
    """The events on a statement, oldest first."""
    await settlement.statement(statement_id)
    rows, cursor = await paginate(settlement.lines_of(statement_id), page, newest_first=False)
    return Page(items=[LineOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/settlement/statements/{statement_id}/{action}",
    response_model=StatementOut,
    tags=[SETTLEMENT_TAG],
    summary="Confirm a statement or mark it paid",
    responses=problem_responses(
        (404, "settlement.not_found", "no such statement"),
        (409, "settlement.invalid_transition", "confirm needs a draft, pay a confirmed statement"),
    ),
)
@roles()
async def advance_statement(
    statement_id: Id, action: Literal["confirm", "pay"], operator: Principal = Depends(current_operator)
) -> StatementOut:
    """draft → confirmed → paid; audited."""
    return StatementOut.model_validate(await settlement.advance(operator, statement_id, action))


@router.get("/ledger/check", response_model=list[BreakOut], tags=[POINTS_TAG], summary="Verify the ledger")
@roles(OperatorRole.AUDITOR)
async def ledger_check() -> list[BreakOut]:
    """Every broken ledger or settlement invariant (empty when sound), like `linli ledger check`."""
    return [BreakOut(check=b.check, detail=b.detail) for b in await check.run_checks()]


@router.post(
    "/broadcasts",
    response_model=BroadcastOut,
    status_code=201,
    tags=[MESSAGES_TAG],
    summary="Write a broadcast to a segment",
    responses=problem_responses((422, "validation_error", "empty or too long text, unknown tier, bad tag")),
)
@roles(OperatorRole.CAMPAIGN_MANAGER)
async def create_broadcast(
    body: BroadcastIn, operator: Principal = Depends(current_operator)
) -> BroadcastOut:
    """A draft promotional message to a segment; it sends nothing until another operator approves it."""
    broadcast = await broadcasts.create(
        operator,
        title=body.title,
        body=body.body,
        tiers=[t.value for t in body.tiers],
        tags=body.tags,
        send_at=body.send_at,
    )
    return BroadcastOut.of(broadcast, await broadcasts.figures(broadcast.id))


@router.get(
    "/broadcasts/{broadcast_id}",
    response_model=BroadcastOut,
    tags=[MESSAGES_TAG],
    summary="A broadcast and its delivery figures",
    responses=problem_responses((404, "broadcast.not_found", "no such broadcast")),
)
@roles(OperatorRole.CAMPAIGN_MANAGER, OperatorRole.APPROVER, OperatorRole.AUDITOR)
async def get_broadcast(broadcast_id: Id) -> BroadcastOut:
    """The broadcast with its figures: targeted, sent, suppressed by reason, waiting, channels, opened."""
    return BroadcastOut.of(await broadcasts.get(broadcast_id), await broadcasts.figures(broadcast_id))


@router.get(
    "/broadcasts/{broadcast_id}/preview",
    response_model=BroadcastPreviewOut,
    tags=[MESSAGES_TAG],
    summary="How many members a broadcast reaches",
    responses=problem_responses((404, "broadcast.not_found", "no such broadcast")),
)
@roles(OperatorRole.CAMPAIGN_MANAGER, OperatorRole.APPROVER)
async def preview_broadcast(broadcast_id: Id) -> BroadcastPreviewOut:
    """The segment's size, less members without the marketing consent or who refused broadcasts."""
    reach = await broadcasts.preview(broadcast_id)
    return BroadcastPreviewOut(
        segment=reach.segment,
        no_consent=reach.no_consent,
        opted_out=reach.opted_out,
        reachable=reach.reachable,
    )


@router.post(
    "/broadcasts/{broadcast_id}/approve",
    response_model=BroadcastOut,
    tags=[MESSAGES_TAG],
    summary="Approve a broadcast (four eyes)",
    responses=problem_responses(
        (403, "broadcast.four_eyes", "its author cannot approve it"),
        (404, "broadcast.not_found", "no such broadcast"),
        (409, "broadcast.not_draft", "it was approved or cancelled already"),
    ),
)
@roles(OperatorRole.APPROVER)
async def approve_broadcast(
    broadcast_id: Id, operator: Principal = Depends(current_operator)
) -> BroadcastOut:
    """Approve a draft by another operator than its author; it goes out in batches from its time."""
    broadcast = await broadcasts.approve(operator, broadcast_id)
    return BroadcastOut.of(broadcast, await broadcasts.figures(broadcast_id))


@router.post(
    "/broadcasts/{broadcast_id}/cancel",
    response_model=BroadcastOut,
    tags=[MESSAGES_TAG],
    summary="Cancel a broadcast before it sends",
    responses=problem_responses(
        (404, "broadcast.not_found", "no such broadcast"),
        (409, "broadcast.not_draft", "it has started sending or was cancelled"),
    ),
)
@roles(OperatorRole.CAMPAIGN_MANAGER, OperatorRole.APPROVER)
async def cancel_broadcast(broadcast_id: Id, operator: Principal = Depends(current_operator)) -> BroadcastOut:
    """Cancel a draft or approved broadcast that has not started sending."""
    broadcast = await broadcasts.cancel(operator, broadcast_id)
    return BroadcastOut.of(broadcast, await broadcasts.figures(broadcast_id))
