"""Merchant console routes of loyalty (`/merchant/v1`): the till, known members, benefits."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from app.core.auth.deps import StaffRole, current_staff, require_staff_role
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.idempotency import idempotent
from app.core.inputs import Id
from app.core.pagination import Page, PageParams, page_params, paginate
from loyalty import admin, repository
from loyalty.schemas import (
    BenefitOut,
    BenefitProposalIn,
    KnownMemberOut,
    LineOut,
    PointsPaymentIn,
    PointsPaymentOut,
    ProgramOut,
    RedemptionIn,
    RedemptionOut,
    SaleIn,
    SaleOut,
    StatementOut,
)
from loyalty.settlement import statements as settlement
from loyalty.till import sales
from loyalty.vouchers import benefits, redemption

router = APIRouter()
TILL_TAG = "Merchant console: till"
MEMBERS_TAG = "Merchant console: members"
BENEFITS_TAG = "Merchant console: benefits"
SETTLEMENT_TAG = "Merchant console: settlement"
_managers = require_staff_role(StaffRole.OWNER, StaffRole.MANAGER)

_CODE_ERRORS = (
    (400, "member_code.invalid", "the member code is malformed or forged"),
    (410, "member_code.expired", "the member code is older than 60 seconds"),
    (404, "member.not_found", "the member no longer exists"),
    (409, "member.not_joined", "the member has not joined the alliance"),
    (409, "merchant.not_active", "your merchant is not active in the alliance"),
)


def _merchant(staff: Principal) -> int:
    assert staff.merchant_id is not None
    return staff.merchant_id


@router.post(
    "/sales",
    response_model=SaleOut,
    status_code=status.HTTP_201_CREATED,
    tags=[TILL_TAG],
    summary="Record a sale: the member earns points",
    responses=problem_responses(
        *_CODE_ERRORS,
        (409, "sale.reference_conflict", "this receipt number was recorded for another sale"),
        (422, "validation_error", "amount not a positive whole number of fen, or over the limit"),
    ),
)
@idempotent
async def record_sale(body: SaleIn, staff: Principal = Depends(current_staff)) -> SaleOut:
    """Scan the member's code and record what they paid; points = amount × rate × tier × campaign."""
    sale = await sales.record_sale(staff, body.member_code, body.amount_fen, body.receipt_no)
    return SaleOut.of(sale)


@router.get("/sales", response_model=Page[SaleOut], tags=[TILL_TAG], summary="List sales")
async def list_sales(
    staff: Principal = Depends(current_staff), page: PageParams = Depends(page_params)
) -> Page[SaleOut]:
    """The merchant's sales, newest first."""
    rows, cursor = await paginate(repository.sales_of(_merchant(staff)), page)
    return Page(items=[SaleOut.of(r) for r in rows], next_cursor=cursor)


@router.get(
    "/sales/{sale_id}",
    response_model=SaleOut,
    tags=[TILL_TAG],
    summary="One sale",
    responses=problem_responses((404, "sale.not_found", "no such sale at your merchant")),
)
async def get_sale(sale_id: Id, staff: Principal = Depends(current_staff)) -> SaleOut:
    """A sale of the caller's merchant."""
    return SaleOut.of(await repository.sale_of(_merchant(staff), sale_id))


@router.post(
    "/sales/{sale_id}/refund",
    response_model=SaleOut,
    tags=[TILL_TAG],
    summary="Refund a sale: its points are taken back",
    responses=problem_responses(
        (404, "sale.not_found", "no such sale at your merchant"),
        (409, "sale.refunded", "the sale was refunded already"),
    ),
)
@idempotent
async def refund_sale(sale_id: Id, staff: Principal = Depends(current_staff)) -> SaleOut:
    """Mark the sale refunded and reverse its points (what the member already spent is written off)."""
    return SaleOut.of(await sales.refund_sale(staff, sale_id))


@router.post(
    "/points-payments",
    response_model=PointsPaymentOut,
    status_code=status.HTTP_201_CREATED,
    tags=[TILL_TAG],
    summary="The member pays with points",
    responses=problem_responses(
        *_CODE_ERRORS,
        (409, "member_code.used", "this member code already paid once"),
        (409, "points.insufficient", "the member does not have that many points"),
        (422, "validation_error", "points not a positive whole number, or over the limit"),
    ),
)
@idempotent
async def pay_with_points(
    body: PointsPaymentIn, staff: Principal = Depends(current_staff)
) -> PointsPaymentOut:
    """Debit the member's points; the bank pays their value to the merchant in settlement."""
    return PointsPaymentOut.of(await sales.pay_with_points(staff, body.member_code, body.points))


@router.get(
    "/points-payments", response_model=Page[PointsPaymentOut], tags=[TILL_TAG], summary="List points payments"
)
async def list_points_payments(
    staff: Principal = Depends(current_staff), page: PageParams = Depends(page_params)
) -> Page[PointsPaymentOut]:
    """The merchant's points payments, newest first."""
    rows, cursor = await paginate(repository.payments_of(_merchant(staff)), page)
    return Page(items=[PointsPaymentOut.of(r) for r in rows], next_cursor=cursor)


@router.post(
    "/points-payments/{payment_id}/reverse",
    response_model=PointsPaymentOut,
    tags=[TILL_TAG],
    summary="Reverse a points payment (refund at the till)",
    responses=problem_responses(
        (404, "points_payment.not_found", "no such payment at your merchant"),
        (409, "points_payment.reversed", "the payment was reversed already"),
        (409, "reversal.window_closed", "older than the reversal window (24 hours)"),
    ),
)
@idempotent
async def reverse_points_payment(
    payment_id: Id, staff: Principal = Depends(current_staff)
) -> PointsPaymentOut:
    """Give the points back to the member; settlement nets it out."""
    return PointsPaymentOut.of(await sales.reverse_points_payment(staff, payment_id))


@router.get("/loyalty/terms", response_model=ProgramOut, tags=[TILL_TAG], summary="My loyalty terms")
async def my_terms(staff: Principal = Depends(current_staff)) -> ProgramOut:
    """The earning rate and point value in force at the caller's merchant, and its category."""
    return await admin.terms_out(_merchant(staff))


@router.get("/members", response_model=Page[KnownMemberOut], tags=[MEMBERS_TAG], summary="My members")
async def known_members(
    staff: Principal = Depends(current_staff), page: PageParams = Depends(page_params)
) -> Page[KnownMemberOut]:
    """Members who visited the caller's merchant and consent to being seen, masked, newest first."""
    rows, cursor = await paginate(repository.known_members_of(_merchant(staff)), page)
    return Page(items=[KnownMemberOut.of(r) for r in rows], next_cursor=cursor)


_TOKEN_ERRORS = (
    (400, "voucher.token_invalid", "the token is malformed or forged"),
    (410, "voucher.token_expired", "the token is older than 60 seconds"),
    (409, "voucher.token_used", "this token was already scanned once"),
    (404, "voucher.not_found", "the token names no voucher"),
    (403, "voucher.not_valid_here", "the voucher cannot be redeemed at your merchant"),
    (409, "voucher.used", "the voucher was already redeemed"),
    (409, "voucher.revoked", "the voucher was taken back (its purchase was refunded)"),
    (410, "voucher.expired", "the voucher's validity is over"),
    (409, "voucher.not_yet_valid", "the voucher's validity has not started"),
    (422, "voucher.min_spend_not_met", "the bill is below the voucher's minimum spend"),
    (409, "merchant.not_active", "your merchant is not active in the alliance"),
)


@router.post(
    "/redemptions",
    response_model=RedemptionOut,
    status_code=status.HTTP_201_CREATED,
    tags=[TILL_TAG],
    summary="Redeem a scanned voucher (核销)",
    responses=problem_responses(
        *_TOKEN_ERRORS, (422, "validation_error", "bill amount not a positive whole number of fen")
    ),
)
@idempotent
async def redeem_voucher(body: RedemptionIn, staff: Principal = Depends(current_staff)) -> RedemptionOut:
    """Redeem the voucher whose QR token was scanned against the bill; a token works once."""
    return RedemptionOut.of(await redemption.redeem_at_till(staff, body.token, body.bill_amount_fen))


@router.get("/redemptions", response_model=Page[RedemptionOut], tags=[TILL_TAG], summary="List redemptions")
async def list_redemptions(
    staff: Principal = Depends(current_staff), page: PageParams = Depends(page_params)
) -> Page[RedemptionOut]:
    """Vouchers redeemed at the caller's merchant, newest first."""
    rows, cursor = await paginate(repository.redemptions_of(_merchant(staff)), page)
    return Page(items=[RedemptionOut.of(r) for r in rows], next_cursor=cursor)


@router.get(
    "/redemptions/{redemption_id}",
    response_model=RedemptionOut,
    tags=[TILL_TAG],
    summary="One redemption",
    responses=problem_responses((404, "redemption.not_found", "no such redemption at your merchant")),
)
async def get_redemption(redemption_id: Id, staff: Principal = Depends(current_staff)) -> RedemptionOut:
    """A redemption at the caller's merchant."""
    return RedemptionOut.of(await repository.redemption_of(_merchant(staff), redemption_id))


@router.post(
    "/redemptions/{redemption_id}/reverse",
    response_model=RedemptionOut,
    tags=[TILL_TAG],
    summary="Reverse a redemption (refund at the till)",
    responses=problem_responses(
        (404, "redemption.not_found", "no such redemption at your merchant"),
        (409, "redemption.reversed", "the redemption was reversed already"),
        (409, "reversal.window_closed", "older than the reversal window (24 hours)"),
    ),
)
@idempotent
async def reverse_redemption(redemption_id: Id, staff: Principal = Depends(current_staff)) -> RedemptionOut:
    """Make the voucher usable again (the scanned token stays spent); settlement nets it out."""
    return RedemptionOut.of(await redemption.reverse_at_till(staff, redemption_id))


@router.post(
    "/benefits",
    response_model=BenefitOut,
    status_code=status.HTTP_201_CREATED,
    tags=[BENEFITS_TAG],
    summary="Propose a benefit my store funds",
    responses=problem_responses(
        (422, "validation_error", "a field is missing, out of range or inconsistent")
    ),
)
async def propose_benefit(body: BenefitProposalIn, staff: Principal = Depends(_managers)) -> BenefitOut:
    """Propose a voucher funded by the caller's merchant, redeemable there only; ops review it."""
    return await benefits.benefit_out(await benefits.propose_benefit(staff, body))


@router.get("/benefits", response_model=Page[BenefitOut], tags=[BENEFITS_TAG], summary="My benefits")
async def my_benefits(
    staff: Principal = Depends(current_staff), page: PageParams = Depends(page_params)
) -> Page[BenefitOut]:
    """Benefits the caller's merchant funds, with their review status, newest first."""
    rows, cursor = await paginate(benefits.of_merchant(_merchant(staff)), page)
    return Page(items=[await benefits.benefit_out(r) for r in rows], next_cursor=cursor)


@router.get(
    "/benefits/{benefit_id}",
    response_model=BenefitOut,
    tags=[BENEFITS_TAG],
    summary="One of my benefits",
    responses=problem_responses((404, "benefit.not_found", "no such benefit funded by your merchant")),
)
async def my_benefit(benefit_id: Id, staff: Principal = Depends(current_staff)) -> BenefitOut:
    """A benefit the caller's merchant funds."""
    return await benefits.benefit_out(await benefits.get_benefit(benefit_id, merchant_id=_merchant(staff)))


@router.get(
    "/settlement/statements",
    response_model=Page[StatementOut],
    tags=[SETTLEMENT_TAG],
    summary="My settlement statements",
)
async def my_statements(
    staff: Principal = Depends(_managers), page: PageParams = Depends(page_params)
) -> Page[StatementOut]:
    """The caller's merchant's daily statements, newest first (owner and managers)."""
    rows, cursor = await paginate(settlement.statements(merchant_id=_merchant(staff)), page)
    return Page(items=[StatementOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/settlement/statements/{statement_id}",
    response_model=StatementOut,
    tags=[SETTLEMENT_TAG],
    summary="One of my statements",
    responses=problem_responses((404, "settlement.not_found", "no such statement of your merchant")),
)
async def my_statement(statement_id: Id, staff: Principal = Depends(_managers)) -> StatementOut:
    """A statement of the caller's merchant."""
    return StatementOut.model_validate(await settlement.statement(statement_id, merchant_id=_merchant(staff)))


@router.get(
    "/settlement/statements/{statement_id}/lines",
    response_model=Page[LineOut],
    tags=[SETTLEMENT_TAG],
    summary="The lines of one of my statements",
    responses=problem_responses((404, "settlement.not_found", "no such statement of your merchant")),
)
async def my_statement_lines(
    statement_id: Id, staff: Principal = Depends(_managers), page: PageParams = Depends(page_params)
) -> Page[LineOut]:
    """Every event on a statement of the caller's merchant, oldest first."""
    await settlement.statement(statement_id, merchant_id=_merchant(staff))
    rows, cursor = await paginate(settlement.lines_of(statement_id), page, newest_first=False)
    return Page(items=[LineOut.model_validate(r) for r in rows], next_cursor=cursor)
