"""Settlement runs (re-runs, late events, catch-up) and the database's own guards on the ledger."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import httpx
import pytest
from tortoise.exceptions import BaseORMException

from app.core import sql
from app.core.db import transaction
from app.core.timeutil import business_day, business_day_bounds, utcnow
from loyalty import ledger as loyalty_ledger
from loyalty.ledger.check import run_checks
from loyalty.models import DailyRun, SettlementLine, SettlementStatement
from loyalty.settlement import statements as settlement
from tests.conftest import BACKEND
from tests.helpers import login_operator
from tests.loyalty.support import active_merchant, assert_ledger_sound, joined_member, sale


async def test_a_rebuilt_day_adds_late_lines_to_drafts_only(client: httpx.AsyncClient) -> None:
    merchant, merchant_id = await active_merchant(client)
    member, _ = await joined_member(client)
    today = business_day()
    await sale(client, merchant, member, 10_000)
    await settlement.build_day(today)
    await sale(client, merchant, member, 5_000)

    await settlement.build_day(today)
    statement = await SettlementStatement.get(merchant_id=merchant_id, business_day=today)
    assert (statement.line_count, statement.net_fen) == (2, -150)

    admin = await login_operator(client)
    await client.post(f"/ops/v1/settlement/statements/{statement.id}/confirm", headers=admin)
    await sale(client, merchant, member, 1_000)
    await settlement.build_day(today)

    assert (
        await SettlementLine.filter(statement_id=statement.id).count() == 2
    )  # confirmed: closed for new lines
    breaks = await run_checks()
    assert [b.check for b in breaks] == ["every points event of a settled day is on a statement"]


async def test_days_are_due_until_built_after_they_ended(client: httpx.AsyncClient) -> None:
    today = business_day()
    yesterday = today - timedelta(days=1)
    assert yesterday in await settlement.days_due(today)

    await DailyRun.create(
        name="settlement",
        business_day=yesterday,
        finished_at=business_day_bounds(yesterday)[1] - timedelta(minutes=1),
    )
    assert yesterday in await settlement.days_due(today)  # built before the day was over: build again

    await settlement.build_day(yesterday)
    assert yesterday not in await settlement.days_due(today)
    assert today not in await settlement.days_due(today)


async def test_ops_run_only_ended_days_and_auditors_download(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    auditor = await login_operator(client, "auditor")
    manager = await login_operator(client, "campaign_manager")
    today = business_day()

    early = await client.post("/ops/v1/settlement/runs", json={"day": today.isoformat()}, headers=admin)
    queued = await client.post(
        "/ops/v1/settlement/runs", json={"day": (today - timedelta(days=1)).isoformat()}, headers=admin
    )
    csv_auditor = await client.get(f"/ops/v1/settlement/statements.csv?day={today}", headers=auditor)
    csv_manager = await client.get(f"/ops/v1/settlement/statements.csv?day={today}", headers=manager)

    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "day"
    assert queued.status_code == 202
    assert csv_auditor.status_code == 200 and csv_auditor.text.startswith("statement_id,merchant_id")
    assert csv_manager.status_code == 403


async def test_posted_entries_cannot_be_changed_or_deleted(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    await sale(client, merchant, member, 10_000)
    await loyalty_ledger.spend_points(
        member_id, 10, purpose=loyalty_ledger.SpendPurpose.LUCKY_DRAW, reference="draw"
    )

    for statement in (
        "UPDATE loyalty_entry SET amount = amount + 1",
        "DELETE FROM loyalty_entry",
        "UPDATE loyalty_journal SET points = 0",
        "DELETE FROM loyalty_lot_move",
    ):
        with pytest.raises(BaseORMException):
            async with transaction():
                await sql.execute(statement)
    with pytest.raises(BaseORMException):
        async with transaction():
            await sql.execute("UPDATE loyalty_points_account SET balance = -1")
    await assert_ledger_sound()


async def test_an_unbalanced_journal_is_refused_or_reported(client: httpx.AsyncClient) -> None:
    _, member_id = await joined_member(client)
    now = utcnow()

    async def post_unbalanced() -> None:
        async with transaction():
            rows = await sql.rows(
                "INSERT INTO loyalty_journal"
                " (reference, kind, source, member_id, points, settlement_fen, memo, created_at)"
                " VALUES ('forged', 'earn', 'campaign', $1, 5, 0, '', $2) RETURNING id",
                member_id,
                now,
            )
            journal_id = rows[0]["id"]
            await sql.execute(
                "INSERT INTO loyalty_entry (journal_id, account_kind, account_id, amount)"
                " VALUES ($1, 'member', $2, 5)",
                journal_id,
                member_id,
            )

    if BACKEND == "postgres":
        # The deferred trigger refuses the commit (Tortoise passes COMMIT errors through untranslated).
        with pytest.raises(asyncpg.exceptions.CheckViolationError, match="does not balance"):
            await post_unbalanced()
        assert await run_checks() == []
    else:
        await post_unbalanced()  # SQLite has no deferred triggers: the check finds it
        broken = {b.check for b in await run_checks()}
        assert "journal entries sum to zero (at least two entries)" in broken
