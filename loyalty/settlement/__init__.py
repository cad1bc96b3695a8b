"""Settlement: one statement per merchant per business day, its life cycle and its file.

What the composition root's ops console calls (the same functions `/ops/v1` calls), and what a paid flash
sale records for the merchant who funded it."""

from loyalty.settlement.statements import CSV_COLUMNS, record_member_payment, settled_days
from loyalty.settlement.statements import advance as advance_statement
from loyalty.settlement.statements import day_csv as statements_csv
from loyalty.settlement.statements import statement as get_statement
from loyalty.settlement.statements import statements as statement_query

__all__ = [
    "CSV_COLUMNS",
    "advance_statement",
    "get_statement",
    "record_member_payment",
    "settled_days",
    "statement_query",
    "statements_csv",
]
