"""Bill-payment request and response bodies (money in fen)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.inputs import MAX_INT64, Day, Id, Patch
from miniprogram_api.billpay.models import BillerType, MismatchKind, OrderState

ACCOUNT_PATTERN = r"^[0-9A-Za-z-]{4,32}$"
MAX_AMOUNT = 10_000_000  # 100,000 yuan


class BillerBrief(BaseModel):
    """A biller as shown next to an account or order."""

    id: int = Field(description="biller id")
    type: BillerType = Field(description="what the biller collects")
    name: str = Field(description="display name")


class BillerOut(BaseModel):
    """A biller members can pay, with its fee rule."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 3,
                "type": "electricity",
                "name": "国网上海电力",
                "region": "上海市",
                "fee_fixed": 0,
                "fee_rate_bp": 0,
                "fee_cap": None,
                "earn_rate": 100,
                "topup_amounts": None,
            }
        }
    )

    id: int = Field(description="biller id")
    type: BillerType = Field(description="what the biller collects")
    name: str = Field(description="display name")
    region: str = Field(description="city or district the biller serves")
    fee_fixed: int = Field(description="fee per order in fen")
    fee_rate_bp: int = Field(description="fee in basis points of the amount")
    fee_cap: int | None = Field(description="largest fee in fen")
    earn_rate: int = Field(description="loyalty points per 100 yuan paid (amount less voucher discount)")
    topup_amounts: list[int] | None = Field(description="phone top-up: the amounts (fen) a member may choose")


class LookupIn(BaseModel):
    """Which bill to look up."""

    model_config = ConfigDict(json_schema_extra={"example": {"biller_id": 3, "account_no": "3100123456"}})

    biller_id: Id = Field(description="the biller (GET /bills/billers)")
    account_no: str = Field(pattern=ACCOUNT_PATTERN, description="the account number printed on the bill")


class BillOut(BaseModel):
    """The amount due on an account, with what paying it costs."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "biller": {"id": 3, "type": "electricity", "name": "国网上海电力"},
                "account_mask": "****3456",
                "holder": "张*",
                "amount_due": 12850,
                "period": "2026-11",
                "due_date": "2026-11-25",
                "fee": 0,
                "total": 12850,
                "topup_amounts": None,
            }
        }
    )

    biller: BillerBrief = Field(description="who issued the bill")
    account_mask: str = Field(description="the account number, masked")
    holder: str | None = Field(description="the account holder's name, masked")
    amount_due: int | None = Field(description="fen; null for phone top-up (choose from topup_amounts)")
    period: str | None = Field(description="billing period, e.g. 2026-11")
    due_date: date | None = Field(description="last day to pay, when the biller gives one")
    fee: int = Field(description="fee for paying amount_due")
    total: int | None = Field(
        description="what paying amount_due debits before any voucher (GET /bills/vouchers lists those)"
    )
    topup_amounts: list[int] | None = Field(description="phone top-up: the amounts (fen) to choose from")


class HouseholdAccountIn(BaseModel):
    """Save an account at a biller."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"biller_id": 3, "account_no": "3100123456", "nickname": "家里电费"}}
    )

    biller_id: Id = Field(description="the biller (GET /bills/billers)")
    account_no: str = Field(pattern=ACCOUNT_PATTERN, description="the account number printed on the bill")
    nickname: str = Field(min_length=1, max_length=32, description="my name for it, e.g. 家里电费")


class HouseholdAccountPatch(BaseModel):
    """Rename a saved account."""

    model_config = ConfigDict(json_schema_extra={"example": {"nickname": "父母家电费"}})

    nickname: str = Field(min_length=1, max_length=32, description="the new name")


class HouseholdAccountOut(BaseModel):
    """A saved account (number masked) and its reminder day, if any."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 12,
                "biller": {"id": 3, "type": "electricity", "name": "国网上海电力"},
                "account_mask": "****3456",
                "nickname": "家里电费",
                "reminder_day": 5,
                "created_at": "2026-11-01T02:00:00Z",
            }
        }
    )

    id: int = Field(description="saved account id")
    biller: BillerBrief = Field(description="the biller of the account")
    account_mask: str = Field(description="the account number, masked")
    nickname: str = Field(description="my name for it")
    reminder_day: int | None = Field(description="day of month a reminder is sent; null when none")
    created_at: datetime = Field(description="when it was saved")


class ReminderIn(BaseModel):
    """A monthly reminder day."""

    model_config = ConfigDict(json_schema_extra={"example": {"day_of_month": 5}})

    day_of_month: int = Field(ge=1, le=28, description="1-28, Asia/Shanghai calendar")


class ReminderOut(BaseModel):
    """A saved account's monthly reminder."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"household_account_id": 12, "day_of_month": 5, "created_at": "2026-11-01T02:00:00Z"}
        }
    )

    household_account_id: Id = Field(description="the saved account reminded of")
    day_of_month: int = Field(description="1-28, Asia/Shanghai calendar")
    created_at: datetime = Field(description="when the reminder was set")


class OrderIn(BaseModel):
    """Create a bill order, from a saved account or a biller and account number."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"household_account_id": 12, "amount": 12850, "voucher_id": 5531},
                {"biller_id": 3, "account_no": "3100123456", "amount": 12850},
            ]
        }
    )

    household_account_id: Id | None = Field(None, description="pay a saved account")
    biller_id: Id | None = Field(None, description="or a biller and an account number")
    account_no: str | None = Field(
        None, pattern=ACCOUNT_PATTERN, description="the account number on the bill"
    )
    amount: int = Field(gt=0, le=MAX_AMOUNT, description="fen: the amount due, or a top-up amount")
    voucher_id: Id | None = Field(
        None,
        description="a bill-payment voucher of mine (see GET /bills/vouchers); it takes its discount off "
        "the total and is used by this order, and is active again if the order fails or is cancelled",
    )

    @model_validator(mode="after")
    def _one_source(self) -> OrderIn:
        saved = self.household_account_id is not None
        direct = self.biller_id is not None or self.account_no is not None
        if saved == direct or (direct and (self.biller_id is None or self.account_no is None)):
            raise ValueError("give household_account_id, or biller_id and account_no")
        return self


class TransitionOut(BaseModel):
    """One step of an order's history."""

    model_config = ConfigDict(from_attributes=True)

    from_state: OrderState | None = Field(description="state before (null for the first step)")
    to_state: OrderState = Field(description="state entered")
    note: str | None = Field(description="why, e.g. a failure code or `expired`")
    created_at: datetime = Field(description="when")


class ReceiptOut(BaseModel):
    """The biller's receipt of a succeeded order."""

    receipt_no: str | None = Field(description="the biller's receipt number")
    biller_day: date | None = Field(description="the biller's business day of the payment")


class FailureOut(BaseModel):
    """Why an order failed (shown to the member)."""

    code: str = Field(description="stable failure code, e.g. biller_rejected or biller_unavailable")
    reason: str | None = Field(description="why, in words the member can read")


_ORDER_EXAMPLE: dict[str, Any] = {
    "id": 981,
    "ref": "BP261122A1B2C3D4E5F6",
    "biller": {"id": 3, "type": "electricity", "name": "国网上海电力"},
    "household_account_id": 12,
    "account_mask": "****3456",
    "period": "2026-11",
    "amount": 12850,
    "fee": 0,
    "discount": 1000,
    "total": 11850,
    "voucher_id": 5531,
    "points": 118,
    "points_reversed": False,
    "state": "succeeded",
    "expires_at": "2026-11-22T03:30:00Z",
    "created_at": "2026-11-22T03:00:00Z",
    "paid_at": "2026-11-22T03:00:05Z",
    "succeeded_at": "2026-11-22T03:00:07Z",
    "failed_at": None,
    "refunded_at": None,
    "cancelled_at": None,
    "receipt": {"receipt_no": "R202611220012345678", "biller_day": "2026-11-22"},
    "failure": None,
    "transitions": [
        {"from_state": None, "to_state": "created", "note": None, "created_at": "2026-11-22T03:00:00Z"},
        {"from_state": "created", "to_state": "paid", "note": None, "created_at": "2026-11-22T03:00:05Z"},
        {"from_state": "paid", "to_state": "confirming", "note": None, "created_at": "2026-11-22T03:00:06Z"},
        {
            "from_state": "confirming",
            "to_state": "succeeded",
            "note": None,
            "created_at": "2026-11-22T03:00:07Z",
        },
    ],
}


class OrderOut(BaseModel):
    """A bill order with its history; `failure.reason` says why a failed order was refunded."""

    model_config = ConfigDict(json_schema_extra={"example": _ORDER_EXAMPLE})

    id: int = Field(description="order id")
    ref: str = Field(description="our reference, quoted to the bank and the biller")
    biller: BillerBrief = Field(description="who is paid")
    household_account_id: int | None = Field(description="the saved account paid, if any")
    account_mask: str = Field(description="the account number, masked")
    period: str | None = Field(description="billing period, e.g. 2026-11")
    amount: int = Field(description="fen: the original bill amount paid to the biller")
    fee: int = Field(description="fen: the biller's fee")
    discount: int = Field(description="fen: taken off by the voucher (0 without one)")
    total: int = Field(
        description="fen: the amount paid, amount + fee - discount, debited from the bank account"
    )
    voucher_id: int | None = Field(
        description="the voucher used; active again if the order fails or is cancelled"
    )
    points: int = Field(description="loyalty points awarded when the order succeeded (0 before)")
    points_reversed: bool = Field(description="the awarded points were taken back (the payment was reversed)")
    state: OrderState = Field(
        description="created, paid, confirming, succeeded, failed, refunded or cancelled"
    )
    expires_at: datetime = Field(description="an unpaid order is cancelled after this")
    created_at: datetime = Field(description="when the order was created")
    paid_at: datetime | None = Field(description="when the bank debit went through")
    succeeded_at: datetime | None = Field(description="when the biller confirmed")
    failed_at: datetime | None = Field(description="when the payment failed")
    refunded_at: datetime | None = Field(description="when the debit was refunded")
    cancelled_at: datetime | None = Field(description="when the unpaid order was cancelled")
    receipt: ReceiptOut | None = Field(description="the biller's receipt (succeeded orders)")
    failure: FailureOut | None = Field(description="why the order failed (failed, refunded)")
    transitions: list[TransitionOut] = Field(description="every state change, oldest first")


class OpsOrderOut(OrderOut):
    """A bill order as ops see it, with its processing details."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": _ORDER_EXAMPLE
            | {
                "member_id": 42,
                "attempt": 1,
                "due_at": None,
                "last_error": None,
                "bank_txn": "D20261122A1B2C3D4E5F60718",
                "refund_txn": None,
            }
        }
    )

    member_id: int
    attempt: int
    due_at: datetime | None
    last_error: str | None
    bank_txn: str | None
    refund_txn: str | None


class PaymentAccountOut(BaseModel):
    """The member's bank account used for bill payment."""

    model_config = ConfigDict(json_schema_extra={"example": {"account_mask": "****0042", "balance": 987150}})

    account_mask: str = Field(description="the bank account number, masked")
    balance: int = Field(description="fen")


class BillVoucherOut(BaseModel):
    """A voucher of mine usable on a bill of the given amount, and what it takes off."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "voucher_id": 5531,
                "benefit_id": 18,
                "name": "缴费立减10元",
                "discount": 1000,
                "amount_after": 11850,
                "valid_until": "2026-12-31T16:00:00Z",
            }
        }
    )

    voucher_id: int = Field(description="send it as `voucher_id` when creating the order")
    benefit_id: int = Field(description="the catalogue benefit the voucher came from")
    name: str = Field(description="the benefit's name")
    discount: int = Field(description="fen taken off this bill amount")
    amount_after: int = Field(description="fen: the bill amount less the discount (the fee comes on top)")
    valid_until: datetime = Field(description="the voucher expires at this time")


class BillerIn(BaseModel):
    """A new biller."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "code": "sh-power",
                "type": "electricity",
                "name": "国网上海电力",
                "region": "上海市",
                "adapter": "simulated",
                "adapter_config": {"latency_ms": 20, "timeout_rate": 0.05},
                "fee_fixed": 0,
                "fee_rate_bp": 0,
                "fee_cap": None,
                "earn_rate": 100,
            }
        }
    )

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,31}$", description="stable code shared with the biller")
    type: BillerType
    name: str = Field(min_length=1, max_length=64)
    region: str = Field(min_length=1, max_length=64)
    adapter: str = Field(min_length=1, max_length=32, description="e.g. simulated")
    adapter_config: dict[str, Any] = Field(default_factory=dict)
    fee_fixed: int = Field(0, ge=0, le=100_000)
    fee_rate_bp: int = Field(0, ge=0, le=10_000)
    fee_cap: int | None = Field(None, ge=0, le=MAX_INT64)
    earn_rate: int = Field(100, ge=0, le=10_000, description="loyalty points per 100 yuan paid")
    is_active: bool = True


class BillerPatch(Patch):
    """Change a biller; absent fields stay as they are (`fee_cap: null` removes the cap)."""

    nullable: ClassVar[frozenset[str]] = frozenset({"fee_cap"})

    model_config = ConfigDict(
        json_schema_extra={"example": {"adapter_config": {"down": True}, "is_active": True}}
    )

    name: str | None = Field(None, min_length=1, max_length=64)
    region: str | None = Field(None, min_length=1, max_length=64)
    adapter_config: dict[str, Any] | None = None
    fee_fixed: int | None = Field(None, ge=0, le=100_000)
    fee_rate_bp: int | None = Field(None, ge=0, le=10_000)
    fee_cap: int | None = Field(None, ge=0, le=MAX_INT64)
    earn_rate: int | None = Field(None, ge=0, le=10_000, description="loyalty points per 100 yuan paid")
    is_active: bool | None = None


class BillerOpsOut(BillerOut):
    """A biller with its adapter configuration."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": 3,
                "code": "sh-power",
                "type": "electricity",
                "name": "国网上海电力",
                "region": "上海市",
                "adapter": "simulated",
                "adapter_config": {"latency_ms": 20, "timeout_rate": 0.05},
                "fee_fixed": 0,
                "fee_rate_bp": 0,
                "fee_cap": None,
                "earn_rate": 100,
                "topup_amounts": None,
                "is_active": True,
                "created_at": "2026-11-01T02:00:00Z",
                "updated_at": "2026-11-01T02:00:00Z",
            }
        },
    )

    code: str
    adapter: str
    adapter_config: dict[str, Any]
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ReconcileIn(BaseModel):
    """Reconcile one business day, for one biller or all."""

    model_config = ConfigDict(json_schema_extra={"example": {"day": "2026-11-21", "biller_id": None}})

    day: Day = Field(description="Asia/Shanghai business day")
    biller_id: Id | None = None


class ReconcileQueuedOut(BaseModel):
    """Reconciliation jobs queued."""

    model_config = ConfigDict(json_schema_extra={"example": {"day": "2026-11-21", "biller_ids": [3, 4]}})

    day: date
    biller_ids: list[int]


class ReconciliationOut(BaseModel):
    """The result of comparing a day's succeeded orders with a biller's statement."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": 7,
                "biller_id": 3,
                "day": "2026-11-21",
                "matched": 1520,
                "mismatched": 1,
                "our_total": 19876500,
                "biller_total": 19889350,
                "finished_at": "2026-11-21T18:30:04Z",
            }
        },
    )

    id: int
    biller_id: int
    day: date
    matched: int
    mismatched: int
    our_total: int
    biller_total: int
    finished_at: datetime


class MismatchOut(BaseModel):
    """A disagreement between an order and the biller's statement."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": 5,
                "run_id": 7,
                "order_ref": "BP261121A1B2C3D4E5F6",
                "order_id": 977,
                "kind": "paid_but_not_succeeded",
                "our_state": "refunded",
                "our_amount": 12850,
                "biller_amount": 12850,
                "resolved_at": None,
                "resolved_by": None,
                "resolution_note": None,
                "created_at": "2026-11-21T18:30:04Z",
            }
        },
    )

    id: int
    run_id: int
    order_ref: str
    order_id: int | None
    kind: MismatchKind
    our_state: str | None
    our_amount: int | None
    biller_amount: int | None
    resolved_at: datetime | None
    resolved_by: int | None
    resolution_note: str | None
    created_at: datetime


class ReverseIn(BaseModel):
    """Why ops reverse a succeeded order (shown to the member as the failure reason)."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"reason": "The biller has no record of this payment; refunded."}}
    )

    reason: str = Field(min_length=1, max_length=255, description="shown to the member")


class ResolveIn(BaseModel):
    """How ops settled a mismatch."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"note": "biller refunded the payment on 2026-11-23, ticket 4411"}}
    )

    note: str = Field(min_length=1, max_length=255)
