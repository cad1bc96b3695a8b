"""Bill-payment tables: billers, saved household accounts, orders and their transitions, reminders,
reconciliation, and the state of the simulated biller and bank core (external systems in production)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from loyalty.models import Member


class BillerType(StrEnum):
    """What a biller collects."""

    WATER = "water"
    ELECTRICITY = "electricity"
    GAS = "gas"
    PHONE_TOPUP = "phone_topup"
    PROPERTY = "property"
    HEATING = "heating"


class OrderState(StrEnum):
    """Life of a bill order: created → paid → confirming → succeeded | failed → refunded (or cancelled)."""

    CREATED = "created"
    PAID = "paid"
    CONFIRMING = "confirming"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


# The only moves the state machine makes; each state is entered at most once (unique per order).
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.CREATED: frozenset({OrderState.PAID, OrderState.CANCELLED}),
    OrderState.PAID: frozenset({OrderState.CONFIRMING}),
    OrderState.CONFIRMING: frozenset({OrderState.SUCCEEDED, OrderState.FAILED}),
    OrderState.FAILED: frozenset({OrderState.REFUNDED}),
    # Only ops leave succeeded: reversing a payment the biller does not have (refund, points taken back).
    OrderState.SUCCEEDED: frozenset({OrderState.FAILED}),
    OrderState.REFUNDED: frozenset(),
    OrderState.CANCELLED: frozenset(),
}
# Where the jobs leave an order; a succeeded order moves on only by an ops reversal.
TERMINAL_STATES = frozenset({OrderState.SUCCEEDED, OrderState.REFUNDED, OrderState.CANCELLED})


class Biller(Model):
    """A bill issuer (utility, carrier, property manager) configured by ops and reached through an adapter."""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True, description="stable code shared with the biller")
    type = fields.CharEnumField(BillerType, max_length=16)
    name = fields.CharField(max_length=64)
    region = fields.CharField(max_length=64, description="city or district the biller serves")
    adapter = fields.CharField(max_length=32, description="adapter name, e.g. simulated")
    adapter_config: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    fee_fixed = fields.BigIntField(default=0, description="fee per order in fen")
    fee_rate_bp = fields.IntField(default=0, description="fee in basis points of the bill amount")
    fee_cap = fields.BigIntField(null=True, description="largest fee in fen, no cap when null")
    earn_rate = fields.IntField(
        default=100, description="loyalty points per 100 yuan paid (bill amount less voucher discount)"
    )
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "billpay_biller"
        indexes = (("type", "region"),)
        constraints = [
            CheckConstraint(check="fee_fixed >= 0", name="billpay_biller_fee_fixed_nonnegative"),
            CheckConstraint(check="fee_rate_bp BETWEEN 0 AND 10000", name="billpay_biller_fee_rate_range"),
            CheckConstraint(
                check="fee_cap IS NULL OR fee_cap >= 0", name="billpay_biller_fee_cap_nonnegative"
            ),
        ]


class HouseholdAccount(Model):
    """A member's saved account at a biller, the number encrypted at rest and shown masked."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="household_accounts", on_delete=fields.CASCADE
    )
    member_id: int
    biller: fields.ForeignKeyRelation[Biller] = fields.ForeignKeyField(
        "billpay.Biller", related_name="household_accounts", on_delete=fields.RESTRICT
    )
    biller_id: int
    account_hash = fields.CharField(max_length=64)
    account_enc = fields.TextField()
    account_mask = fields.CharField(max_length=24)
    nickname = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "billpay_household_account"
        unique_together = (("member", "biller", "account_hash"),)


class BillOrder(Model):
    """One payment of a bill: debited at the bank, confirmed with the biller, refunded on failure."""

    id = fields.BigIntField(primary_key=True)
    ref = fields.CharField(max_length=32, unique=True, description="our reference at the bank and the biller")
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="bill_orders", on_delete=fields.RESTRICT
    )
    member_id: int
    biller: fields.ForeignKeyRelation[Biller] = fields.ForeignKeyField(
        "billpay.Biller", related_name="orders", on_delete=fields.RESTRICT
    )
    biller_id: int
    household_account: fields.ForeignKeyNullableRelation[HouseholdAccount] = fields.ForeignKeyField(
        "billpay.HouseholdAccount", related_name="orders", null=True, on_delete=fields.SET_NULL
    )
    household_account_id: int | None
    account_hash = fields.CharField(max_length=64)
    account_enc = fields.TextField()
    account_mask = fields.CharField(max_length=24)
    period = fields.CharField(max_length=16, null=True, description="billing period, e.g. 2026-11")
    amount = fields.BigIntField(description="bill amount in fen")
    fee = fields.BigIntField(default=0)
    discount = fields.BigIntField(default=0)
    total = fields.BigIntField(description="amount + fee - discount, debited from the member")
    voucher_id = fields.BigIntField(null=True, description="loyalty voucher used on this order")
    points = fields.BigIntField(default=0, description="loyalty points awarded when the order succeeded")
    points_reversed_at = fields.DatetimeField(
        null=True, description="when the awarded points were taken back"
    )
    state = fields.CharEnumField(OrderState, max_length=16, default=OrderState.CREATED)
    request_hash = fields.CharField(max_length=64, null=True, unique=True, description="Idempotency-Key")
    expires_at = fields.DatetimeField(description="an unpaid order is cancelled after this")
    payment_started_at = fields.DatetimeField(null=True)
    bank_txn = fields.CharField(max_length=40, null=True)
    paid_at = fields.DatetimeField(null=True)
    attempt = fields.IntField(default=0, description="current biller confirmation attempt")
    due_at = fields.DatetimeField(null=True, description="when the next job for this order should have run")
    last_error = fields.CharField(max_length=255, null=True)
    receipt_no = fields.CharField(max_length=40, null=True)
    biller_day = fields.DateField(null=True, description="the biller's business day of the payment")
    succeeded_at = fields.DatetimeField(null=True)
    failure_code = fields.CharField(max_length=40, null=True)
    failure_reason = fields.CharField(max_length=255, null=True)
    failed_at = fields.DatetimeField(null=True)
    refund_txn = fields.CharField(max_length=40, null=True)
    refunded_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "billpay_order"
        indexes = (
            ("member_id", "state"),
            ("state", "due_at"),
            ("biller_id", "biller_day"),
            ("biller_id", "account_hash", "period"),
        )
        constraints = [
            CheckConstraint(check="amount > 0", name="billpay_order_amount_positive"),
            CheckConstraint(
                check="fee >= 0 AND discount >= 0", name="billpay_order_fee_discount_nonnegative"
            ),
            CheckConstraint(check="total = amount + fee - discount", name="billpay_order_total_adds_up"),
            CheckConstraint(check="total >= 0", name="billpay_order_total_nonnegative"),
            # Migration 0004 adds, as raw SQL (Tortoise cannot add a CHECK to an existing SQLite table
            # without rebuilding it): points >= 0, points only on succeeded orders (or reversed ones),
            # a discount only with a voucher, and Biller.earn_rate BETWEEN 0 AND 10000.
            CheckConstraint(
                check="state IN ('created','paid','confirming','succeeded','failed','refunded','cancelled')",
                name="billpay_order_state_known",
            ),
            CheckConstraint(
                check="state IN ('created','cancelled') OR (bank_txn IS NOT NULL AND paid_at IS NOT NULL)",
                name="billpay_order_paid_has_debit",
            ),
            CheckConstraint(
                check="state <> 'refunded' OR refund_txn IS NOT NULL",
                name="billpay_order_refunded_has_refund",
            ),
        ]


class BillOrderTransition(Model):
    """One state change of a bill order, append-only, shown in the member's order history."""

    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[BillOrder] = fields.ForeignKeyField(
        "billpay.BillOrder", related_name="transitions", on_delete=fields.RESTRICT
    )
    order_id: int
    from_state = fields.CharField(max_length=16, null=True)
    to_state = fields.CharField(max_length=16)
    note = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "billpay_order_transition"
        unique_together = (("order", "to_state"),)


class ReminderSubscription(Model):
    """A member's monthly reminder to pay the bill of a saved account."""

    id = fields.BigIntField(primary_key=True)
    household_account: fields.OneToOneRelation[HouseholdAccount] = fields.OneToOneField(
        "billpay.HouseholdAccount", related_name="reminder", on_delete=fields.CASCADE
    )
    household_account_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="bill_reminders", on_delete=fields.CASCADE
    )
    member_id: int
    day_of_month = fields.SmallIntField()
    last_queued_month = fields.CharField(max_length=7, null=True, description="YYYY-MM last sent for")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "billpay_reminder"
        indexes = (("day_of_month", "last_queued_month"),)
        constraints = [
            CheckConstraint(check="day_of_month BETWEEN 1 AND 28", name="billpay_reminder_day_range"),
        ]


class ReminderDelivery(Model):
    """A reminder handled for one month: sent, nothing due, or skipped (account or biller gone)."""

    id = fields.BigIntField(primary_key=True)
    subscription: fields.ForeignKeyRelation[ReminderSubscription] = fields.ForeignKeyField(
        "billpay.ReminderSubscription", related_name="deliveries", on_delete=fields.CASCADE
    )
    subscription_id: int
    month = fields.CharField(max_length=7)
    outcome = fields.CharField(max_length=16, description="sent, nothing_due or skipped")
    amount_due = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "billpay_reminder_delivery"
        unique_together = (("subscription", "month"),)


class MismatchKind(StrEnum):
    """How our orders and a biller's statement disagree."""

    MISSING_AT_BILLER = "missing_at_biller"
    UNKNOWN_ORDER = "unknown_order"
    PAID_BUT_NOT_SUCCEEDED = "paid_but_not_succeeded"
    AMOUNT_DIFFERS = "amount_differs"


class ReconciliationRun(Model):
    """The comparison of our succeeded orders with one biller's statement for one business day."""

    id = fields.BigIntField(primary_key=True)
    biller: fields.ForeignKeyRelation[Biller] = fields.ForeignKeyField(
        "billpay.Biller", related_name="reconciliations", on_delete=fields.RESTRICT
    )
    biller_id: int
    day = fields.DateField()
    matched = fields.IntField(default=0)
    mismatched = fields.IntField(default=0)
    our_total = fields.BigIntField(default=0, description="fen of our succeeded orders that day")
    biller_total = fields.BigIntField(default=0, description="fen on the biller's statement")
    finished_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "billpay_reconciliation"
        unique_together = (("biller", "day"),)


class ReconciliationMismatch(Model):
    """One disagreement found by reconciliation, for ops to investigate and resolve."""

    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[ReconciliationRun] = fields.ForeignKeyField(
        "billpay.ReconciliationRun", related_name="mismatches", on_delete=fields.CASCADE
    )
    run_id: int
    order_ref = fields.CharField(max_length=32)
    order: fields.ForeignKeyNullableRelation[BillOrder] = fields.ForeignKeyField(
        "billpay.BillOrder", related_name="mismatches", null=True, on_delete=fields.RESTRICT
    )
    order_id: int | None
    kind = fields.CharEnumField(MismatchKind, max_length=32)
    our_state = fields.CharField(max_length=16, null=True)
    our_amount = fields.BigIntField(null=True)
    biller_amount = fields.BigIntField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    resolved_by = fields.BigIntField(null=True, description="operator id")
    resolution_note = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "billpay_reconciliation_mismatch"
        unique_together = (("run", "order_ref"),)
        indexes = (("resolved_at", "id"),)


class SimBillerPayment(Model):
    """A payment the simulated biller received, keyed by our order reference (the biller's own records)."""

    id = fields.BigIntField(primary_key=True)
    biller_code = fields.CharField(max_length=32)
    order_ref = fields.CharField(max_length=32)
    account_no = fields.CharField(max_length=32)
    period = fields.CharField(max_length=16, null=True)
    amount = fields.BigIntField()
    accepted = fields.BooleanField()
    reason_code = fields.CharField(max_length=40, null=True)
    receipt_no = fields.CharField(max_length=40, null=True)
    business_day = fields.DateField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "billpay_sim_biller_payment"
        unique_together = (("biller_code", "order_ref"),)
        indexes = (("biller_code", "account_no", "period"), ("biller_code", "business_day"))


class SimBillerCall(Model):
    """How many pay or query calls the simulated biller got for an order, driving its deterministic faults."""

    id = fields.BigIntField(primary_key=True)
    biller_code = fields.CharField(max_length=32)
    order_ref = fields.CharField(max_length=32)
    calls = fields.IntField(default=0)

    class Meta:
        table = "billpay_sim_biller_call"
        unique_together = (("biller_code", "order_ref"),)


class SimBankAccount(Model):
    """A member's current account at the simulated bank core."""

    id = fields.BigIntField(primary_key=True)
    member_id = fields.BigIntField(unique=True)
    account_no = fields.CharField(max_length=19, unique=True)
    balance = fields.BigIntField(description="fen")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "billpay_sim_bank_account"
        constraints = [CheckConstraint(check="balance >= 0", name="billpay_sim_bank_balance_nonnegative")]


class SimBankPayment(Model):
    """A debit at the simulated bank core by our reference: debited, refunded, or reversed beforehand."""

    id = fields.BigIntField(primary_key=True)
    reference = fields.CharField(max_length=64, unique=True)
    account: fields.ForeignKeyNullableRelation[SimBankAccount] = fields.ForeignKeyField(
        "billpay.SimBankAccount", related_name="payments", null=True, on_delete=fields.RESTRICT
    )
    account_id: int | None
    amount = fields.BigIntField()
    status = fields.CharField(max_length=16, description="debited, refunded or reversed")
    txn_no = fields.CharField(max_length=40, null=True)
    refund_txn_no = fields.CharField(max_length=40, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    refunded_at = fields.DatetimeField(null=True)

    class Meta:
        table = "billpay_sim_bank_payment"
        constraints = [
            CheckConstraint(check="amount >= 0", name="billpay_sim_bank_payment_amount_nonnegative"),
            CheckConstraint(
                check="status IN ('debited','refunded','reversed')", name="billpay_sim_bank_payment_status"
            ),
        ]
