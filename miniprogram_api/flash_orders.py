"""My flash orders (`/mp/v1/me/flash-orders`): a won grab of a priced flash sale is an order to pay by its
deadline; unpaid or cancelled, its item goes back on sale."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.core.auth.deps import current_member
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.idempotency import idempotent, idempotent_across_commits
from app.core.inputs import Id
from campaigns import flash
from campaigns.schemas import FlashOrderOut

router = APIRouter(tags=["Mini-program: flash orders"])

NOT_FOUND = (404, "flash.order_not_found", "no such order of mine")
EXPIRED = (409, "flash.order_expired", "the deadline passed: the item went back on sale")
CANCELLED = (409, "flash.order_cancelled", "I cancelled the order")


def _out(order: flash.Order) -> FlashOrderOut:
    win = order.win
    return FlashOrderOut(
        id=win.id,
        campaign_id=win.campaign_id,
        campaign_name=order.campaign_name,
        ticket_id=win.ticket_id,
        status=win.status.value,
        price_fen=int(win.price_fen),
        price_points=int(win.price_points),
        won_at=win.won_at,
        pay_by=win.pay_by,
        seconds_left=order.seconds_left,
        paid_at=win.paid_at,
        released_at=win.released_at,
    )


@router.get("/me/flash-orders", response_model=list[FlashOrderOut], summary="My flash orders to pay")
async def pending(member: Principal = Depends(current_member)) -> list[FlashOrderOut]:
    """My orders awaiting payment, with the amount and the time left, soonest deadline first."""
    return [_out(order) for order in await flash.pending_orders(member.id)]


@router.get(
    "/me/flash-orders/{order_id}",
    response_model=FlashOrderOut,
    summary="One of my flash orders",
    responses=problem_responses(NOT_FOUND),
)
async def one(order_id: Id, member: Principal = Depends(current_member)) -> FlashOrderOut:
    """An order of mine in any state (another member's answers 404)."""
    return _out(await flash.flash_order(member.id, order_id))


@router.post(
    "/me/flash-orders/{order_id}/pay",
    response_model=FlashOrderOut,
    summary="Pay a flash order",
    responses=problem_responses(
        NOT_FOUND,
        EXPIRED,
        CANCELLED,
        (409, "points.insufficient", "not enough points: the order stays payable until its deadline"),
        (409, "flash.order_not_payable", "the order is paid another way"),
    ),
)
@idempotent_across_commits  # a fen payment commits its start before asking the bank
async def pay(order_id: Id, member: Principal = Depends(current_member)) -> FlashOrderOut:
    """Pay in the order's currency (points, or fen from my bank account); the voucher is issued with the
    payment. Paying a paid order answers it again; send an Idempotency-Key to retry safely."""
    return _out(await flash.pay_order(member.id, order_id))


@router.post(
    "/me/flash-orders/{order_id}/cancel",
    response_model=FlashOrderOut,
    summary="Cancel a flash order",
    responses=problem_responses(NOT_FOUND, (409, "flash.order_paid", "the order is paid")),
)
@idempotent
async def cancel(order_id: Id, member: Principal = Depends(current_member)) -> FlashOrderOut:
    """Give the item up before paying: it goes back on sale at once. Cancelling again answers the same."""
    return _out(await flash.cancel_order(member.id, order_id))
