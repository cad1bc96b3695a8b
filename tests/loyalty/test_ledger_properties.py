"""Property-based (hypothesis stateful) test of the points ledger against a model of lots.

Random sequences of earning, spending, expiring, reversing, retried requests and time passing; after
every step the database agrees with the model (balance, each lot's points left) and `linli ledger
check` finds nothing broken. The machine runs in a worker thread and drives the real services on the
test's event loop, against the real database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.core.errors import ProblemError
from app.core.timeutil import utcnow
from loyalty.ledger import balances as points
from loyalty.ledger import postings as ledger
from loyalty.ledger.check import run_checks
from loyalty.ledger.postings import lot_expiry
from loyalty.models import AccountKind, Member, PointsAccount, PointsLot
from loyalty.till.sales import check_amount

T = TypeVar("T")
MEMBERS = 4
WHO = st.integers(0, MEMBERS - 1)


@dataclass
class Lot:
    """The model of one lot."""

    expires_at: datetime
    remaining: int


@dataclass
class Wallet:
    """The model of one member's points."""

    member_id: int
    lots: dict[str, Lot] = field(default_factory=dict)  # by earn reference, in earning order

    @property
    def balance(self) -> int:
        return sum(lot.remaining for lot in self.lots.values())

    def ordered(self, first: str | None = None) -> list[str]:
        """Lots with points left, oldest expiry first (earning order breaks ties), `first` before all."""
        keys = sorted(
            (k for k, lot in self.lots.items() if lot.remaining), key=lambda k: self.lots[k].expires_at
        )
        if first in keys:
            keys.remove(first)
            keys.insert(0, first)
        return keys


class LedgerMachine(RuleBasedStateMachine):
    """Earn, spend, expire, reverse and retry against the real ledger and a model of it."""

    loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        super().__init__()
        self.run_id = uuid.uuid4().hex[:8]
        self.clock = utcnow()
        self.wallets: list[Wallet] = []
        self.posted: dict[str, tuple[str, int, int]] = {}  # reference → (kind, wallet index, points)
        self.spent_from: dict[str, list[tuple[str, int]]] = {}  # spend reference → lots it took from
        self.reversed: dict[str, int] = {}  # reference → points the reversal moved
        self.counter = 0

    def run(self, awaitable: Awaitable[T]) -> T:
        async def wait() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wait(), self.loop).result(timeout=60)

    def reference(self, kind: str) -> str:
        self.counter += 1
        return f"prop:{self.run_id}:{kind}:{self.counter}"

    @initialize()
    def members(self) -> None:
        for n in range(MEMBERS):
            member = self.run(Member.create(openid=f"prop_{self.run_id}_{n}"))
            self.run(PointsAccount.create(member_id=member.id, balance=0))
            self.wallets.append(Wallet(member.id))

    @rule(who=WHO, points=st.integers(1, 400))
    def earn(self, who: int, points: int) -> None:
        wallet, reference = self.wallets[who], self.reference("earn")
        self.run(
            ledger.post_earn(
                wallet.member_id,
                points,
                source="campaign",
                reference=reference,
                funding=[(AccountKind.POOL, 0, points)],
                at=self.clock,
            )
        )
        wallet.lots[reference] = Lot(lot_expiry(self.clock), points)
        self.posted[reference] = ("earn", who, points)

    def _retire(self, wallet: Wallet) -> None:
        for lot in wallet.lots.values():
            if lot.expires_at <= self.clock:
                lot.remaining = 0

    @rule(who=WHO, points=st.integers(1, 500))
    def spend(self, who: int, points: int) -> None:
        wallet, reference = self.wallets[who], self.reference("spend")
        usable = sum(lot.remaining for lot in wallet.lots.values() if lot.expires_at > self.clock)
        try:
            posting = self.run(
                ledger.post_spend(
                    wallet.member_id,
                    points,
                    source="benefit",
                    reference=reference,
                    counterpart=(AccountKind.REDEMPTION, 0),
                    at=self.clock,
                )
            )
        except ProblemError as exc:
            assert exc.code == "points.insufficient" and usable < points, (exc.code, usable, points)
            return  # nothing written, not even the expiry of due lots
        assert usable >= points and posting.points == points
        self._retire(wallet)
        self._consume(who, reference, points)

    def _consume(self, who: int, reference: str, points: int) -> None:
        """The model of a committed spend: the lots that expire first give first."""
        wallet, taken, need = self.wallets[who], [], points
        for key in wallet.ordered():
            take = min(wallet.lots[key].remaining, need)
            wallet.lots[key].remaining -= take
            taken.append((key, take))
            need -= take
            if not need:
                break
        self.spent_from[reference] = taken
        self.posted[reference] = ("spend", who, points)

    @rule(who=WHO, points=st.integers(1, 300), n=st.integers(2, 5), with_expiry=st.booleans())
    def concurrent_spends(self, who: int, points: int, n: int, with_expiry: bool) -> None:
        """Several spends of one member at once (a till and two mini-programs), an expiry run among them
        when drawn: exactly as many succeed as the usable points allow, none overdraws, and the lots
        are taken in the order the database serialised the spends."""
        wallet = self.wallets[who]
        usable = sum(lot.remaining for lot in wallet.lots.values() if lot.expires_at > self.clock)
        references = [self.reference("spend") for _ in range(n)]

        async def all_at_once() -> list[object]:
            spends = [
                ledger.post_spend(
                    wallet.member_id,
                    points,
                    source="benefit",
                    reference=reference,
                    counterpart=(AccountKind.REDEMPTION, 0),
                    at=self.clock,
                )
                for reference in references
            ]
            expiry = [ledger.expire_member(wallet.member_id, self.clock)] if with_expiry else []
            return list(await asyncio.gather(*spends, *expiry, return_exceptions=True))

        results = self.run(all_at_once())
        if with_expiry:
            assert not isinstance(results[-1], BaseException), results[-1]
        committed = []
        for reference, result in zip(references, results[:n], strict=True):
            if isinstance(result, ProblemError):
                assert result.code == "points.insufficient", result.code
            else:
                assert not isinstance(result, BaseException), result
                committed.append((result, reference))
        assert len(committed) == min(n, usable // points), (len(committed), n, usable, points)
        if committed or with_expiry:  # a refused spend writes nothing, not even the expiry of due lots
            self._retire(wallet)
        for _, reference in sorted(committed, key=lambda done: done[0].journal_id):  # type: ignore[attr-defined]
            self._consume(who, reference, points)

    @rule(who=WHO)
    def expire(self, who: int) -> None:
        wallet = self.wallets[who]
        due = sum(lot.remaining for lot in wallet.lots.values() if lot.expires_at <= self.clock)
        posting = self.run(ledger.expire_member(wallet.member_id, self.clock))
        assert (posting.points if posting else 0) == due
        self._retire(wallet)

    @rule(days=st.integers(1, 200))
    def time_passes(self, days: int) -> None:
        self.clock += timedelta(days=days)

    @precondition(lambda self: bool(self.posted))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        reference = data.draw(st.sampled_from(sorted(self.posted)))
        kind, who, points = self.posted[reference]
        wallet = self.wallets[who]
        posting = self.run(ledger.reverse(reference))
        if reference in self.reversed:
            assert posting.replayed and posting.points == self.reversed[reference]
            return
        if kind == "earn":
            expected, need = min(points, wallet.balance), min(points, wallet.balance)
            for key in wallet.ordered(first=reference):
                take = min(wallet.lots[key].remaining, need)
                wallet.lots[key].remaining -= take
                need -= take
        else:
            expected = points
            for key, back in self.spent_from[reference]:
                wallet.lots[key].remaining += back
        assert not posting.replayed and posting.points == expected
        self.reversed[reference] = expected

    @precondition(lambda self: bool(self.posted))
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        reference = data.draw(st.sampled_from(sorted(self.posted)))
        kind, who, points = self.posted[reference]
        member_id = self.wallets[who].member_id
        if kind == "earn":
            request = ledger.post_earn(
                member_id,
                points,
                source="campaign",
                reference=reference,
                funding=[(AccountKind.POOL, 0, points)],
            )
        else:
            request = ledger.post_spend(
                member_id,
                points,
                source="benefit",
                reference=reference,
                counterpart=(AccountKind.REDEMPTION, 0),
            )
        assert self.run(request).replayed

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        for wallet in self.wallets:
            account = self.run(PointsAccount.get(member_id=wallet.member_id))
            assert account.balance == wallet.balance >= 0
            lots = self.run(
                PointsLot.filter(member_id=wallet.member_id).order_by("id").prefetch_related("journal")
            )
            assert {lot.journal.reference: int(lot.remaining) for lot in lots} == {
                key: lot.remaining for key, lot in wallet.lots.items()
            }

    @invariant()
    def the_summary_agrees_with_the_detail(self) -> None:
        for wallet in self.wallets:
            summary = self.run(points.summary(wallet.member_id))
            upcoming = self.run(points.expiring(wallet.member_id))
            assert summary.balance == wallet.balance
            assert summary.next_expiry == (upcoming[0] if upcoming else None)

    @invariant()
    def ledger_check_passes(self) -> None:
        assert self.run(run_checks()) == []


async def test_the_ledger_keeps_its_invariants_under_random_operations(client: httpx.AsyncClient) -> None:
    LedgerMachine.loop = asyncio.get_running_loop()
    machine_settings = settings(
        max_examples=50,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    await asyncio.to_thread(run_state_machine_as_test, LedgerMachine, settings=machine_settings)


def test_amounts_are_validated_whatever_is_sent() -> None:
    @settings(max_examples=200, deadline=None)
    def check(value: object) -> None:
        try:
            accepted = check_amount(value)
        except ProblemError as exc:
            assert exc.status == 422
            assert not (isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 5_000_000)
        else:
            assert isinstance(accepted, int) and 0 < accepted <= 5_000_000

    from hypothesis import given

    given(st.one_of(st.integers(), st.floats(allow_nan=True), st.text(max_size=5), st.booleans(), st.none()))(
        check
    )()
