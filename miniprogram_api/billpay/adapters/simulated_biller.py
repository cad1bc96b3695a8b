"""The simulated biller for development, tests and load tests.

Bills are derived from the account number, and the payments it receives are kept in the database, so the
API process and every worker process see the same biller. Faults are deterministic.

Account numbers (utilities: 6-20 digits or letters; phone top-up: a mainland mobile number, whose digits
after the first three are matched instead, e.g. 138 92 001234 is rejected):

| starts with | behaviour |
|---|---|
| `404` | unknown account |
| `96` | nothing due this month |
| `91N` (N = 1-9) | the first N pay calls for an order time out without reaching the biller |
| `92` | payments are rejected (account in arrears) |
| `93` | slow: the payment is recorded, then the answer takes `slow_ms` |
| `94` | the payment is recorded but the answer to the first pay call is lost (a timeout) |
| `95` | slow rejection: the rejection is recorded, then the answer takes `slow_ms` |
| anything else | a bill of 10.00-500.00 yuan this month, derived from the number, less what was paid |

Biller-wide settings (`adapter_config`): `latency_ms` added to every call; `timeout_rate` and
`rejection_rate` (0-1, decided by a hash of the order reference and call number, so a replay behaves
the same); `slow_ms`; `timeout_ms`, how long a simulated timeout hangs; `down`, every call times out.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from app.core.timeutil import business_day
from miniprogram_api.billpay.adapters.biller import (
    Bill,
    BillerAccountNotFound,
    BillerProfile,
    BillerUnavailable,
    PaymentResult,
    PaymentStatus,
    StatementLine,
)
from miniprogram_api.billpay.models import BillerType, SimBillerCall, SimBillerPayment

MIN_DUE, MAX_DUE = 1_000, 50_000
_SURNAMES = "张王李赵刘陈杨黄周吴"
_REASONS = {
    "account_in_arrears": "The account is in arrears; please pay at a service counter.",
    "amount_mismatch": "The amount no longer matches the bill.",
    "nothing_due": "This bill has already been paid.",
    "biller_declined": "The biller declined the payment.",
}


class SimulatedBillerConfig(BaseModel):
    """Knobs of a simulated biller (its `adapter_config`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"latency_ms": 20, "timeout_rate": 0.1, "rejection_rate": 0.02}},
    )

    latency_ms: int = Field(0, ge=0, le=10_000, description="added to every call")
    timeout_rate: float = Field(0, ge=0, le=1, description="share of pay calls that time out")
    rejection_rate: float = Field(0, ge=0, le=1, description="share of payments rejected")
    slow_ms: int = Field(30_000, ge=0, le=600_000, description="answer delay of `93`/`95` accounts")
    timeout_ms: int = Field(0, ge=0, le=60_000, description="how long a simulated timeout hangs")
    down: bool = Field(False, description="every call times out")


@dataclass(frozen=True)
class _Rule:
    unknown: bool = False
    nothing_due: bool = False
    unreachable_calls: int = 0
    rejects: bool = False
    slow: bool = False
    loses_first_answer: bool = False


def _rule(digits: str) -> _Rule:
    if digits.startswith("404"):
        return _Rule(unknown=True)
    if digits.startswith("96"):
        return _Rule(nothing_due=True)
    if digits.startswith("91") and len(digits) > 2 and digits[2].isdigit():
        return _Rule(unreachable_calls=int(digits[2]))
    if digits.startswith("92"):
        return _Rule(rejects=True)
    if digits.startswith("93"):
        return _Rule(slow=True)
    if digits.startswith("94"):
        return _Rule(loses_first_answer=True)
    if digits.startswith("95"):
        return _Rule(rejects=True, slow=True)
    return _Rule()


def _hash(*parts: object) -> int:
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def _roll(*parts: object) -> float:
    """A deterministic number in [0, 1) for these inputs."""
    return _hash(*parts) / float(16**12)


def _period_of(day: date) -> str:
    return f"{day:%Y-%m}"


def _result(payment: SimBillerPayment) -> PaymentResult:
    if payment.accepted:
        return PaymentResult(
            PaymentStatus.SUCCEEDED, receipt_no=payment.receipt_no, business_day=payment.business_day
        )
    return PaymentResult(
        PaymentStatus.REJECTED,
        business_day=payment.business_day,
        reason_code=payment.reason_code,
        reason=_REASONS.get(payment.reason_code or "", "The biller declined the payment."),
    )


class SimulatedBiller:
    """A BillerAdapter whose state lives in the database (`billpay_sim_*` tables)."""

    def __init__(self, profile: BillerProfile) -> None:
        self.code = profile.code
        self.type = profile.type
        self.config = SimulatedBillerConfig.model_validate(profile.config)

    async def lookup(self, account_no: str) -> Bill:
        """The bill of this month, derived from the account number, less what was paid already."""
        await self._enter()
        rule = _rule(self._digits(account_no))
        if rule.unknown:
            raise BillerAccountNotFound(account_no)
        if self.type is BillerType.PHONE_TOPUP:
            return Bill(account_no=account_no, holder=None, amount_due=None, period=None, due_date=None)
        today = business_day()
        period = _period_of(today)
        due = 0 if rule.nothing_due else await self._due(account_no, period)
        surname = _SURNAMES[_hash(self.code, account_no, "holder") % len(_SURNAMES)]
        return Bill(
            account_no=account_no,
            holder=f"{surname}*",
            amount_due=due,
            period=period,
            due_date=today.replace(day=25),
        )

    async def pay(self, order_ref: str, account_no: str, amount: int, period: str | None) -> PaymentResult:
        """Record a payment once per order reference and answer with its outcome."""
        await self._enter()
        call = await self._count_pay_call(order_ref)
        recorded = await SimBillerPayment.get_or_none(biller_code=self.code, order_ref=order_ref)
        if recorded is not None:
            return _result(recorded)
        rule = _rule(self._digits(account_no))
        if call <= rule.unreachable_calls or _roll(order_ref, call, "timeout") < self.config.timeout_rate:
            await self._time_out()
        reason = await self._rejection(order_ref, account_no, amount, period, rule)
        today = business_day()
        try:
            recorded = await SimBillerPayment.create(
                biller_code=self.code,
                order_ref=order_ref,
                account_no=account_no,
                period=period,
                amount=amount,
                accepted=reason is None,
                reason_code=reason,
                receipt_no=None if reason else f"R{today:%Y%m%d}{_hash(self.code, order_ref) % 10**10:010d}",
                business_day=today,
            )
        except IntegrityError:  # a concurrent duplicate call recorded it first
            recorded = await SimBillerPayment.get(biller_code=self.code, order_ref=order_ref)
        if rule.slow:
            await asyncio.sleep(self.config.slow_ms / 1000)
        if rule.loses_first_answer and call == 1:
            await self._time_out()
        return _result(recorded)

    async def query(self, order_ref: str) -> PaymentResult:
        """What happened to the payment with this reference."""
        await self._enter()
        recorded = await SimBillerPayment.get_or_none(biller_code=self.code, order_ref=order_ref)
        return PaymentResult(PaymentStatus.NOT_FOUND) if recorded is None else _result(recorded)

    async def statement(self, day: date) -> list[StatementLine]:
        """Every payment accepted on `day`."""
        await self._enter()
        rows = await SimBillerPayment.filter(biller_code=self.code, business_day=day, accepted=True)
        return [StatementLine(r.order_ref, r.amount, r.receipt_no, r.business_day) for r in rows]

    def _digits(self, account_no: str) -> str:
        return account_no[3:] if self.type is BillerType.PHONE_TOPUP else account_no

    async def _enter(self) -> None:
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        if self.config.down:
            await self._time_out()

    async def _time_out(self) -> None:
        if self.config.timeout_ms:
            await asyncio.sleep(self.config.timeout_ms / 1000)
        raise BillerUnavailable(f"biller {self.code} did not answer (simulated)")

    async def _count_pay_call(self, order_ref: str) -> int:
        for _ in range(3):
            bumped = await SimBillerCall.filter(biller_code=self.code, order_ref=order_ref).update(
                calls=F("calls") + 1
            )
            if not bumped:
                try:
                    await SimBillerCall.create(biller_code=self.code, order_ref=order_ref, calls=1)
                except IntegrityError:
                    continue
            row = await SimBillerCall.get(biller_code=self.code, order_ref=order_ref)
            return row.calls
        raise BillerUnavailable("simulated biller could not count the call")

    async def _due(self, account_no: str, period: str) -> int:
        billed = MIN_DUE + _hash(self.code, account_no, period) % (MAX_DUE - MIN_DUE + 1)
        paid = await SimBillerPayment.filter(
            biller_code=self.code, account_no=account_no, period=period, accepted=True
        ).only("id", "amount")
        return max(0, billed - sum(int(p.amount) for p in paid))

    async def _rejection(
        self, order_ref: str, account_no: str, amount: int, period: str | None, rule: _Rule
    ) -> str | None:
        if rule.rejects:
            return "account_in_arrears"
        if _roll(order_ref, "reject") < self.config.rejection_rate:
            return "biller_declined"
        if self.type is BillerType.PHONE_TOPUP:
            return None
        if rule.nothing_due:
            return "nothing_due"
        due = await self._due(account_no, period or _period_of(business_day()))
        if due == 0:
            return "nothing_due"
        return None if amount == due else "amount_mismatch"
