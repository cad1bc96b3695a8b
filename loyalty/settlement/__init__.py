"""Settlement: one statement per merchant per business day, its life cycle and its file."""

from loyalty.settlement.statements import record_member_payment

__all__ = ["record_member_payment"]
