import re

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

from app.core.migration_ops import per_dialect

# A sale records the earn-multiplier decision made in its transaction: campaign, percent, bonus points and
# what the bonus took from the campaign's budget. All four or none, and the bonus is part of the points.
_MULTIPLIER = (
    "(multiplier_campaign_id IS NULL AND multiplier_percent IS NULL AND bonus_points IS NULL"
    " AND bonus_cost_fen IS NULL) OR (multiplier_campaign_id IS NOT NULL AND multiplier_percent IS NOT NULL"
    " AND bonus_points IS NOT NULL AND bonus_cost_fen IS NOT NULL AND multiplier_percent BETWEEN 101 AND 1000"
    " AND bonus_points >= 1 AND bonus_points <= points AND bonus_cost_fen >= 0)"
)
# The trigger's condition reads the new row (the lookbehind keeps `points` out of `bonus_points`).
_COLUMNS = re.compile(
    r"(?<![\w.\"])(multiplier_campaign_id|multiplier_percent|bonus_points|bonus_cost_fen|points)(?![\w\"])"
)


def _on_new_row(expression: str) -> str:
    return _COLUMNS.sub(lambda m: f'NEW."{m.group(1)}"', expression)


# SQLite cannot add a CHECK to an existing table without rebuilding it (losing its triggers): it gets
# the same BEFORE INSERT / UPDATE triggers as `app.core.migration_ops.check_constraints` writes.
_SQLITE_CHECK = "".join(
    f'CREATE TRIGGER "loyalty_sale_multiplier_{event.lower()}" BEFORE {event} ON "loyalty_sale" '
    f"WHEN NOT ({_on_new_row(_MULTIPLIER)}) "
    "BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: loyalty_sale_multiplier'); END;\n"
    for event in ("INSERT", "UPDATE")
)

# The multiplier's member limits count a member's sales boosted by one campaign (in one business day).
_BOOSTED_INDEX = """
CREATE INDEX loyalty_sale_boosted ON loyalty_sale (multiplier_campaign_id, member_id, created_at)
  WHERE multiplier_campaign_id IS NOT NULL;
"""


class Migration(migrations.Migration):
    dependencies = [('loyalty', '0009_voucher_revoked')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Sale',
            name='bonus_cost_fen',
            field=fields.BigIntField(null=True, description="what the bonus took from the campaign's budget, reserved in the sale"),
        ),
        ops.AddField(
            model_name='Sale',
            name='bonus_points',
            field=fields.BigIntField(null=True, description="points of the sale the multiplier added (funded by the bank's pool)"),
        ),
        ops.AddField(
            model_name='Sale',
            name='multiplier_campaign_id',
            field=fields.BigIntField(null=True, description='the campaign whose multiplier boosted the sale (decided in its transaction)'),
        ),
        ops.AddField(
            model_name='Sale',
            name='multiplier_percent',
            field=fields.IntField(null=True, description='that multiplier, 200 doubles the points'),
        ),
        # The constraint in the migration state (AddConstraint would rebuild the table on SQLite) ...
        ops.AlterModelOptions(
            name='Sale',
            options={'table': 'loyalty_sale', 'app': 'loyalty', 'unique_together': (('merchant', 'reference'),), 'constraints': [CheckConstraint(check='amount_fen > 0', name='loyalty_sale_amount'), CheckConstraint(check='points >= 0', name='loyalty_sale_points'), CheckConstraint(check=_MULTIPLIER, name='loyalty_sale_multiplier')], 'indexes': [Index(fields=['merchant_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A purchase a merchant recorded for a member, earning points.'},
        ),
        # ... and in the database.
        per_dialect(
            postgres=f"ALTER TABLE loyalty_sale ADD CONSTRAINT loyalty_sale_multiplier CHECK ({_MULTIPLIER});",
            sqlite=_SQLITE_CHECK,
            reverse_postgres="ALTER TABLE loyalty_sale DROP CONSTRAINT loyalty_sale_multiplier;",
            reverse_sqlite='DROP TRIGGER "loyalty_sale_multiplier_insert"; DROP TRIGGER "loyalty_sale_multiplier_update";',
        ),
        per_dialect(
            postgres=_BOOSTED_INDEX,
            sqlite=_BOOSTED_INDEX,
            reverse_postgres="DROP INDEX loyalty_sale_boosted;",
            reverse_sqlite="DROP INDEX loyalty_sale_boosted;",
        ),
    ]
