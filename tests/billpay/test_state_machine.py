"""Property-based test of the bill-order state machine against the real database: any interleaving of
member actions, crashes mid-payment, expiry, job deliveries, duplicate and stale redeliveries and sweeps,
with any biller behaviour, keeps the history valid and the money where it belongs, and always ends in
succeeded, refunded or cancelled. With loyalty: points exist only while the order is succeeded (once, by
its reference), and its voucher is used exactly while the order is in flight or succeeded."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.core.errors import ProblemError
from app.core.jobs import Job
from app.core.models import OutboxMessage
from app.core.timeutil import utcnow
from loyalty import ledger as loyalty_ledger
from loyalty import vouchers as loyalty_vouchers
from loyalty.models import (
    Benefit,
    BenefitKind,
    BenefitStatus,
    Eligibility,
    Funder,
    Journal,
    Member,
    PointsAccount,
    Voucher,
    VoucherStatus,
)
from miniprogram_api.billpay import bills, service, state_machine
from miniprogram_api.billpay.adapters import payment_provider
from miniprogram_api.billpay.adapters.bank import DebitState, DebitStatus, InsufficientFunds, PaymentReversed
from miniprogram_api.billpay.models import (
    TERMINAL_STATES,
    TRANSITIONS,
    Biller,
    BillerType,
    BillOrder,
    BillOrderTransition,
    OrderState,
    SimBankAccount,
    SimBillerPayment,
)
from miniprogram_api.billpay.schemas import OrderIn
from miniprogram_api.billpay.tasks import TASKS
from tests.billpay.support import (
    OPENING,
    billpay_settings,
    quick_billpay_jobs,  # noqa: F401  (autouse fixture)
)

JOBS: dict[str, Job] = {job.name: job for job in TASKS}
ACCOUNTS = {
    "pays": "3100000001",
    "rejects": "9200000001",
    "times_out_once": "9110000001",
    "times_out_thrice": "9130000001",
    "loses_the_answer": "9400000001",
}
_seq = itertools.count()

ACTIONS = [
    "pay",
    "start",
    "debit",
    "finish",
    "cancel",
    "expire",
    "resume",
    "sweep",
    "job",
    "redeliver",
    "reverse",
]
actions = st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 7)), min_size=5, max_size=40)


@dataclass
class World:
    """One order and what the test knows happened outside the database."""

    order_id: int
    member_id: int
    ref: str
    total: int
    voucher_id: int | None = None
    debit: DebitStatus | None = None
    delivered: list[tuple[Job, list[Any]]] = field(default_factory=list)


async def _bill_voucher(member_id: int) -> int:
    benefit = await Benefit.create(
        name="缴费立减",
        kind=BenefitKind.CASH,
        face_value_fen=700,
        funder=Funder.BANK,
        eligibility=Eligibility.BILL_PAYMENT,
        valid_days=30,
        status=BenefitStatus.ACTIVE,
    )
    issued = await loyalty_vouchers.issue_vouchers(
        benefit.id, [loyalty_vouchers.VoucherGrant(member_id, f"sm:{benefit.id}")]
    )
    assert issued[0].voucher_id is not None
    return issued[0].voucher_id


async def _open(behaviour: str, funded: bool, with_voucher: bool = False) -> World:
    n = next(_seq)
    member = await Member.create(openid=f"sm-{n}-{utcnow().timestamp()}")
    await PointsAccount.create(member_id=member.id, balance=0)  # as login creates it
    biller = await Biller.create(
        code=f"sm-{member.id}", type=BillerType.WATER, name="水务", region="r", adapter="simulated"
    )
    account = ACCOUNTS[behaviour]
    bill = await bills.lookup_bill(biller.id, account)
    assert bill.amount_due
    voucher_id = await _bill_voucher(member.id) if with_voucher else None
    order = await service.create_order(
        member.id,
        OrderIn(biller_id=biller.id, account_no=account, amount=bill.amount_due, voucher_id=voucher_id),
    )
    await payment_provider().account(member.id)
    if not funded:
        await SimBankAccount.filter(member_id=member.id).update(balance=order.total - 1)
    return World(order.id, member.id, order.ref, order.total, voucher_id)


async def _pending(world: World) -> list[OutboxMessage]:
    rows = await OutboxMessage.filter(job_name__startswith="billpay.").order_by("id")
    return [m for m in rows if m.args and m.args[0] == world.order_id]


async def _deliver(world: World, message: OutboxMessage) -> None:
    job = JOBS[message.job_name]
    await job.fn(*message.args, **message.kwargs)
    await OutboxMessage.filter(id=message.id).delete()
    world.delivered.append((job, list(message.args)))


async def _step(world: World, action: str, pick: int) -> None:
    order = await BillOrder.get(id=world.order_id)
    try:
        if action == "pay":
            await service.pay_order(world.member_id, world.order_id)
        elif action == "start":
            await service.start_payment(order)
        elif action == "debit" and order.payment_started_at is not None:
            world.debit = await payment_provider().debit(world.member_id, world.ref, world.total)
        elif action == "finish" and world.debit is not None:
            await state_machine.mark_paid(world.order_id, world.debit)
        elif action == "cancel":
            await service.cancel_order(world.member_id, world.order_id)
        elif action == "expire":
            await BillOrder.filter(id=world.order_id).update(expires_at=utcnow() - timedelta(seconds=1))
        elif action == "resume":
            with billpay_settings(billpay_stuck_after=0):
                await state_machine.resume_overdue()
        elif action == "sweep":
            await state_machine.expire_unpaid()
        elif action == "job" and (pending := await _pending(world)):
            await _deliver(world, pending[pick % len(pending)])
        elif action == "reverse" and order.state is OrderState.SUCCEEDED:
            # the biller loses the payment and ops reverse the order (what POST …/reverse does)
            await SimBillerPayment.filter(order_ref=world.ref).delete()
            await state_machine.reverse_success(order, "reversed", "the biller has no such payment")
        elif action == "redeliver" and world.delivered:
            job, args = world.delivered[pick % len(world.delivered)]
            await job.fn(*args)
    except (ProblemError, InsufficientFunds, PaymentReversed):
        pass  # refusals the API turns into 4xx responses


async def _check(world: World) -> OrderState:
    order = await BillOrder.get(id=world.order_id)
    steps = await BillOrderTransition.filter(order_id=world.order_id).order_by("id")
    assert steps[0].from_state is None and steps[0].to_state == OrderState.CREATED
    for before, after in itertools.pairwise(steps):
        assert after.from_state == before.to_state
        assert OrderState(after.to_state) in TRANSITIONS[OrderState(before.to_state)]
    assert steps[-1].to_state == order.state

    bank = (await payment_provider().status(world.ref)).state
    expected_bank = {
        OrderState.CREATED: {DebitState.NONE, DebitState.DEBITED},
        OrderState.PAID: {DebitState.DEBITED},
        OrderState.CONFIRMING: {DebitState.DEBITED},
        OrderState.SUCCEEDED: {DebitState.DEBITED},
        OrderState.FAILED: {DebitState.DEBITED},
        OrderState.REFUNDED: {DebitState.REFUNDED},
        OrderState.CANCELLED: {DebitState.NONE, DebitState.REVERSED, DebitState.REFUNDED},
    }[order.state]
    assert bank in expected_bank, (order.state, bank)
    balance = (await SimBankAccount.get(member_id=world.member_id)).balance
    funded_or_short = {OPENING, world.total - 1}
    taken = world.total if bank is DebitState.DEBITED else 0
    assert balance + taken in funded_or_short

    received = await SimBillerPayment.filter(order_ref=world.ref, accepted=True).count()
    assert received <= 1
    if received:
        assert order.state in (OrderState.CONFIRMING, OrderState.SUCCEEDED)
    if order.state is OrderState.SUCCEEDED:
        assert received == 1

    # loyalty: points only while the order is succeeded (awarded once, taken back by a reversal); the
    # voucher used exactly while the order is in flight or succeeded
    earned = await Journal.filter(reference=f"billpay:{world.order_id}").count()
    balance_points = await loyalty_ledger.points_balance(world.member_id)
    if order.state is OrderState.SUCCEEDED:
        assert earned == 1 and order.points > 0 and balance_points == order.points
        assert order.points_reversed_at is None
    else:
        assert balance_points == 0
        assert earned == (1 if order.points else 0)
        assert not order.points or order.points_reversed_at is not None
    if world.voucher_id is not None:
        status = (await Voucher.get(id=world.voucher_id)).status
        holding = order.state not in (OrderState.FAILED, OrderState.REFUNDED, OrderState.CANCELLED)
        assert status == (VoucherStatus.USED if holding else VoucherStatus.ACTIVE), (order.state, status)
        assert order.discount == 700 and order.total == order.amount + order.fee - 700
    return order.state


async def _drain(world: World) -> OrderState:
    for _ in range(40):
        await BillOrder.filter(id=world.order_id, state=OrderState.CREATED).update(
            expires_at=utcnow() - timedelta(seconds=1)
        )
        for message in await _pending(world):
            await _deliver(world, message)
        with billpay_settings(billpay_stuck_after=0):
            await state_machine.resume_overdue()
        await state_machine.expire_unpaid()
        state = await _check(world)
        if state in TERMINAL_STATES and not await _pending(world):
            return state
    raise AssertionError(f"order {world.order_id} never settled: {state}")


@example(
    behaviour="pays",
    funded=True,
    max_attempts=2,
    script=[("start", 0), ("expire", 0), ("job", 0), ("debit", 0)],
    with_voucher=False,
)
@example(
    behaviour="pays",
    funded=True,
    max_attempts=2,
    script=[("start", 0), ("debit", 0), ("expire", 0), ("job", 0)],
    with_voucher=False,
)
@example(
    behaviour="pays",
    funded=True,
    max_attempts=2,
    script=[("start", 0), ("debit", 0), ("cancel", 0), ("finish", 0)],
    with_voucher=False,
)
@example(
    behaviour="rejects",
    funded=True,
    max_attempts=2,
    script=[("pay", 0), *[("job", 1)] * 4, ("redeliver", 2)],
    with_voucher=False,
)
@example(
    behaviour="pays",
    funded=False,
    max_attempts=2,
    script=[("pay", 0), ("expire", 0), ("sweep", 0), ("job", 0)],
    with_voucher=False,
)
@example(
    behaviour="rejects",
    funded=True,
    max_attempts=2,
    script=[("pay", 0), *[("job", 0)] * 4, ("redeliver", 1)],
    with_voucher=True,
)
@example(
    behaviour="pays",
    funded=True,
    max_attempts=2,
    script=[("pay", 0), *[("job", 0)] * 3, ("redeliver", 0), ("redeliver", 1)],
    with_voucher=True,
)
@example(
    behaviour="times_out_once",
    funded=True,
    max_attempts=3,
    script=[("pay", 0), *[("job", 0)] * 3, ("reverse", 0), ("redeliver", 0), ("reverse", 0)],
    with_voucher=True,
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    behaviour=st.sampled_from(sorted(ACCOUNTS)),
    funded=st.booleans(),
    max_attempts=st.integers(2, 4),
    script=actions,
    with_voucher=st.booleans(),
)
async def test_any_interleaving_keeps_history_and_money_consistent(
    behaviour: str, funded: bool, max_attempts: int, script: list[tuple[str, int]], with_voucher: bool
) -> None:
    with billpay_settings(billpay_confirm_max_attempts=max_attempts):
        world = await _open(behaviour, funded, with_voucher)
        for action, pick in script:
            await _step(world, action, pick)
            await _check(world)
        final = await _drain(world)

    balance = (await SimBankAccount.get(member_id=world.member_id)).balance
    start = OPENING if funded else world.total - 1
    if final is OrderState.SUCCEEDED:
        assert balance == start - world.total
        assert behaviour in ("pays", "times_out_once", "loses_the_answer") or (
            behaviour == "times_out_thrice" and max_attempts == 4
        )
    else:
        assert final in (OrderState.REFUNDED, OrderState.CANCELLED)
        assert balance == start
        assert await SimBillerPayment.filter(order_ref=world.ref, accepted=True).count() == 0
