"""Settlement: statements by business day, merchant and status; confirm, mark paid; the day's CSV."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.console.deps import checked, require, roles_of, signed_in
from app.console.rendering import render
from app.console.session import ConsoleSession
from app.core.inputs import Day, Id
from app.core.pagination import PageParams, paginate
from app.core.timeutil import business_day
from loyalty import router_ops as ops
from loyalty.models import StatementStatus
from loyalty.settlement import advance_statement, settled_days, statement_query, statements_csv

router = APIRouter(prefix="/settlement")


@router.get("")
async def statements(
    request: Request,
    day: Day | None = None,
    status_: str = Query("", alias="status", max_length=16),
    merchant: str = Query("", max_length=20, description="a merchant id"),
    cursor: str | None = Query(None, max_length=256),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """A business day's statements (the latest settled day by default)."""
    require(session, ops.list_statements)
    days = await settled_days()
    day = day or (days[-1] if days else business_day() - timedelta(days=1))
    status = StatementStatus(status_) if status_ in set(StatementStatus) else None
    merchant_id = int(merchant) if merchant.isdigit() else None
    query = statement_query(day=day, merchant_id=merchant_id, status=status).select_related("merchant")
    rows, next_cursor = await paginate(query, PageParams(cursor, 50))
    context = {
        "statements": rows,
        "day": day,
        "merchant": merchant,
        "days": list(reversed(days[-31:])),
        "status": status,
        "statuses": list(StatementStatus),
        "next": next_cursor,
        "can_advance": session.can(roles_of(ops.advance_statement)),
        "totals": {
            "payable": sum(r.payable_fen for r in rows),
            "receivable": sum(r.receivable_fen for r in rows),
            "net": sum(r.net_fen for r in rows),
        },
    }
    return render(request, "settlement.html", context, session=session)


@router.get("/statements.csv")
async def statements_file(day: Day, session: ConsoleSession = Depends(signed_in)) -> Response:
    """The day's statements as the CSV `/ops/v1` hands to the payments system."""
    require(session, ops.statements_csv)
    return Response(
        content=await statements_csv(day),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="settlement-{day.isoformat()}.csv"'},
    )


@router.post("/statements/{statement_id}/{action}")
async def advance(
    statement_id: Id,
    action: Literal["confirm", "pay"],
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Confirm a draft statement or mark a confirmed one paid (audited by the service)."""
    require(session, ops.advance_statement)
    found = await advance_statement(session.principal, statement_id, action)
    return RedirectResponse(
        f"/console/settlement?day={found.business_day.isoformat()}&done={action}", status_code=303
    )
