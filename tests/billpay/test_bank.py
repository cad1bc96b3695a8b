"""The simulated bank core (idempotent debit, refund and reversal under concurrency, a hypothesis-checked
ledger) and the invariants the database itself enforces on bill orders."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise.exceptions import IntegrityError, OperationalError

from app.core.db import db, transaction
from app.core.timeutil import utcnow
from miniprogram_api.billpay.adapters.bank import DebitState, InsufficientFunds, PaymentReversed
from miniprogram_api.billpay.adapters.simulated_bank import SimulatedBank
from miniprogram_api.billpay.models import (
    Biller,
    BillerType,
    BillOrder,
    BillOrderTransition,
    SimBankAccount,
    SimBankPayment,
)
from tests.billpay.support import OPENING

bank = SimulatedBank()
_members = iter(range(10_000, 10**9))


async def new_member() -> int:
    from loyalty.models import Member

    member = await Member.create(openid=f"bank-test-{next(_members)}")
    return int(member.id)


async def test_debit_is_idempotent_under_concurrency() -> None:
    member_id = await new_member()
    results = await asyncio.gather(*(bank.debit(member_id, "REF-1", 2_500) for _ in range(20)))
    assert {r.txn_no for r in results} == {results[0].txn_no}
    assert (await bank.account(member_id)).balance == OPENING - 2_500
    assert await SimBankPayment.filter(reference="REF-1").count() == 1


async def test_concurrent_refunds_give_money_back_once() -> None:
    member_id = await new_member()
    await bank.debit(member_id, "REF-2", 4_000)
    results = await asyncio.gather(*(bank.refund("REF-2") for _ in range(20)))
    assert {r.state for r in results} == {DebitState.REFUNDED}
    assert (await bank.account(member_id)).balance == OPENING


async def test_reversal_refuses_a_later_debit() -> None:
    member_id = await new_member()
    reversed_ = await bank.refund("REF-3")
    assert reversed_.state is DebitState.REVERSED
    with pytest.raises(PaymentReversed):
        await bank.debit(member_id, "REF-3", 100)
    assert (await bank.account(member_id)).balance == OPENING


async def test_racing_debit_and_reversal_never_leave_money_taken() -> None:
    for i in range(30):
        member_id = await new_member()
        ref = f"RACE-{i}"
        outcomes = await asyncio.gather(
            bank.debit(member_id, ref, 700), bank.refund(ref), return_exceptions=True
        )
        final = await bank.status(ref)
        assert final.state in (DebitState.REFUNDED, DebitState.REVERSED), outcomes
        assert (await bank.account(member_id)).balance == OPENING


async def test_insufficient_funds_takes_nothing() -> None:
    member_id = await new_member()
    await bank.account(member_id)
    await SimBankAccount.filter(member_id=member_id).update(balance=99)
    with pytest.raises(InsufficientFunds):
        await bank.debit(member_id, "REF-4", 100)
    assert await bank.status("REF-4") == await bank.status("never-used")
    assert (await bank.account(member_id)).balance == 99


operations = st.lists(
    st.tuples(st.sampled_from(["debit", "refund"]), st.integers(0, 3), st.integers(1, 400_000)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
async def test_bank_ledger_balances_for_any_sequence(ops: list[tuple[str, int, int]]) -> None:
    member_id = await new_member()
    prefix = f"H{member_id}-"
    for action, ref, amount in ops:
        try:
            if action == "debit":
                await bank.debit(member_id, f"{prefix}{ref}", amount)
            else:
                await bank.refund(f"{prefix}{ref}")
        except (InsufficientFunds, PaymentReversed):
            pass
        standing = await SimBankPayment.filter(reference__startswith=prefix, status="debited")
        balance = (await bank.account(member_id)).balance
        assert balance == OPENING - sum(p.amount for p in standing)
        assert balance >= 0


async def _order(**overrides: object) -> BillOrder:
    member_id = await new_member()
    biller = await Biller.create(
        code=f"c{member_id}", type=BillerType.WATER, name="w", region="r", adapter="simulated"
    )
    fields: dict[str, object] = {
        "ref": f"BP{member_id}",
        "member_id": member_id,
        "biller": biller,
        "account_hash": "h",
        "account_enc": "e",
        "account_mask": "****1234",
        "amount": 1_000,
        "fee": 10,
        "discount": 0,
        "total": 1_010,
        "expires_at": utcnow(),
    } | overrides
    return await BillOrder.create(**fields)


@pytest.mark.parametrize(
    "overrides",
    [
        {"total": 999},
        {"amount": 0, "total": 10},
        {"fee": -1, "total": 999},
        {"state": "paid"},  # paid without a bank debit
        {"state": "refunded", "bank_txn": "D1", "paid_at": utcnow()},  # refunded without a refund
    ],
)
async def test_database_refuses_inconsistent_orders(overrides: dict[str, object]) -> None:
    with pytest.raises(IntegrityError):
        async with transaction():
            await _order(**overrides)


async def test_database_refuses_a_negative_balance_and_a_second_entry_into_a_state() -> None:
    member_id = await new_member()
    await bank.account(member_id)
    with pytest.raises(IntegrityError):
        async with transaction():
            await SimBankAccount.filter(member_id=member_id).update(balance=-1)
    order = await _order()
    await BillOrderTransition.create(order_id=order.id, from_state=None, to_state="created")
    with pytest.raises(IntegrityError):
        async with transaction():
            await BillOrderTransition.create(order_id=order.id, from_state=None, to_state="created")
    with pytest.raises((IntegrityError, OperationalError)):
        async with transaction():
            await BillOrderTransition.filter(order_id=order.id).update(note="rewritten history")


async def test_order_indexes_exist() -> None:
    from tests.conftest import BACKEND

    if BACKEND == "postgres":
        rows = await db().execute_query_dict(
            "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'billpay_order'"
        )
    else:
        rows = await db().execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'billpay_order'"
        )
    # primary key (PostgreSQL), ref, request_hash and the four declared indexes
    assert len([r for r in rows if "pkey" not in r["name"]]) == 6
