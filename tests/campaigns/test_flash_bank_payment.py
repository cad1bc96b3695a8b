"""Flash orders priced in fen are paid from the member's bank account through the bank core interface
bill payment uses (the simulated core): idempotent by the order's reference, a lost answer settled by
asking the bank, a debit that comes too late refunded; every debit has its voucher or its refund."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.core import bank
from app.core.config import get_settings
from app.core.timeutil import business_day, utcnow
from campaigns.flash import orders, payments
from campaigns.models import FlashWin
from loyalty.models import SettlementLine, SettlementStatement
from loyalty.settlement.statements import build_day
from miniprogram_api.billpay.models import SimBankAccount, SimBankPayment
from tests.campaigns import support as ch
from tests.helpers import run_jobs
from tests.loyalty.support import active_merchant


@pytest.fixture(autouse=True)
def _one_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "flash_ip_rate", 0)


async def account_balance(member_id: int) -> int:
    return int((await SimBankAccount.get(member_id=member_id)).balance)


async def test_paying_in_fen_debits_once_and_issues_the_voucher(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    cid = await ch.live_flash(client, team, stock=2, price_fen=100)
    [(member_id, member), (other_id, other)] = await ch.segment_members(2)
    assert (await ch.grab(client, cid, member)).json()["outcome"] == "won"
    order = await ch.persisted_order(cid, member_id)
    opening = get_settings().billpay_sim_opening_balance

    key = {"Idempotency-Key": "pay-fen-1"}
    paid = await client.post(f"/mp/v1/me/flash-orders/{order.id}/pay", headers=member | key)
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    assert (
        await client.post(f"/mp/v1/me/flash-orders/{order.id}/pay", headers=member | key)
    ).json() == paid.json()
    assert (await client.post(f"/mp/v1/me/flash-orders/{order.id}/pay", headers=member)).json()[
        "status"
    ] == "paid"
    assert await account_balance(member_id) == opening - 100
    debit = await SimBankPayment.get(reference=orders.payment_reference(order))
    assert (debit.status, debit.amount) == ("debited", 100)
    assert (await FlashWin.get(id=order.id)).bank_txn_no == debit.txn_no
    assert [v["name"] for v in (await client.get("/mp/v1/vouchers", headers=member)).json()["items"]] == [
        "Latte"
    ]
    assert await payments.settle_now(order.id) == "paid"  # the settlement job finds it settled

    # Not enough money: 402, the order stays payable.
    assert (await ch.grab(client, cid, other)).json()["outcome"] == "won"
    poor = await ch.persisted_order(cid, other_id)
    await bank.payment_provider().account(other_id)
    await SimBankAccount.filter(member_id=other_id).update(balance=50)
    short = await client.post(f"/mp/v1/me/flash-orders/{poor.id}/pay", headers=other)
    assert short.status_code == 402 and short.json()["code"] == "flash.insufficient_funds", short.text
    assert (await FlashWin.get(id=poor.id)).status == "awaiting_payment"
    await SimBankAccount.filter(member_id=other_id).update(balance=500)
    assert (await client.post(f"/mp/v1/me/flash-orders/{poor.id}/pay", headers=other)).json()[
        "status"
    ] == "paid"
    assert await ch.assert_vouchers_match_wins(cid) == 2


async def test_a_lost_debit_answer_is_settled_by_asking_the_bank(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    cid = await ch.live_flash(client, team, stock=2, price_fen=100)
    [(member_id, member), (late_id, late)] = await ch.segment_members(2)
    for headers in (member, late):
        assert (await ch.grab(client, cid, headers)).json()["outcome"] == "won"
    order = await ch.persisted_order(cid, member_id)
    late_order = await ch.persisted_order(cid, late_id)
    # Both asked the bank and lost the answer: the debit happened at the bank, we never heard of it.
    for win in (order, late_order):
        await FlashWin.filter(id=win.id).update(debit_started_at=utcnow())
        await bank.payment_provider().debit(win.member_id, orders.payment_reference(win), 100)
    # Within the deadline the settlement finds the debit and completes the order with its voucher.
    assert await payments.settle_now(order.id) == "paid"
    assert (await FlashWin.get(id=order.id)).status == "paid"
    # The other order's deadline passes first: it expires, and its debit is refunded.
    opening = await account_balance(late_id)
    assert await orders.expire_overdue(utcnow() + timedelta(minutes=11)) == 1
    await run_jobs()
    refunded = await SimBankPayment.get(reference=orders.payment_reference(late_order))
    assert refunded.status == "refunded"
    assert await account_balance(late_id) == opening + 100
    assert (await FlashWin.get(id=late_order.id)).refunded_at is not None
    late_pay = await client.post(f"/mp/v1/me/flash-orders/{late_order.id}/pay", headers=late)
    assert late_pay.status_code == 409 and late_pay.json()["code"] == "flash.order_expired"
    # Every debit has its voucher or its refund.
    for row in await SimBankPayment.filter(reference__startswith="flash-order:"):
        win = await FlashWin.get(ticket_id=row.reference.removeprefix("flash-order:"))
        assert (row.status == "debited") == (win.status == "paid"), (row.status, win.status)
    assert await ch.assert_vouchers_match_wins(cid) == 1


async def test_a_merchant_funded_sale_pays_its_takings_to_the_merchant(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    _, merchant_id = await active_merchant(client, "Corner Coffee")
    funded = await ch.live_flash(
        client, team, stock=2, price_fen=100, funder="merchant", funder_merchant_id=merchant_id
    )
    by_bank = await ch.live_flash(client, team, stock=2, price_fen=100)
    [(member_id, member)] = await ch.segment_members(1)
    for cid in (funded, by_bank):
        assert (await ch.grab(client, cid, member)).json()["outcome"] == "won"
        order = await ch.persisted_order(cid, member_id)
        assert (
            await client.post(f"/mp/v1/me/flash-orders/{order.id}/pay", headers=member)
        ).status_code == 200
    await build_day(business_day())
    statement = await SettlementStatement.get(merchant_id=merchant_id, business_day=business_day())
    lines = await SettlementLine.filter(statement_id=statement.id).values_list("kind", "amount_fen")
    assert lines == [("member_payment", 100)]  # the bank-funded sale's takings stay with the bank
    assert statement.payable_fen == 100
