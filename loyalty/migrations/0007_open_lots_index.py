from tortoise import migrations

from app.core.migration_ops import per_dialect

# The hourly expiry job looks for lots past expiry that still hold points; spent and retired lots pile
# up over the years, so only lots with points left are indexed for it.
_OPEN_LOTS = """
CREATE INDEX loyalty_lot_open_by_expiry ON loyalty_points_lot (expires_at, member_id) WHERE remaining > 0;
"""


class Migration(migrations.Migration):
    dependencies = [('loyalty', '0006_auto_20261122_1156')]

    initial = False

    operations = [
        per_dialect(
            postgres=_OPEN_LOTS,
            sqlite=_OPEN_LOTS,
            reverse_postgres="DROP INDEX loyalty_lot_open_by_expiry;",
            reverse_sqlite="DROP INDEX loyalty_lot_open_by_expiry;",
        ),
    ]
