from tortoise import migrations

from app.core.migration_ops import check_constraints, per_dialect

# At most one standing redemption per voucher, whatever the application does.
_ONE_STANDING_REDEMPTION = """
CREATE UNIQUE INDEX loyalty_redemption_one_standing ON loyalty_voucher_redemption (voucher_id)
  WHERE status = 'redeemed';
"""


class Migration(migrations.Migration):
    dependencies = [('loyalty', '0004_auto_20261122_1150')]

    initial = False

    operations = [
        check_constraints("loyalty", "Benefit", "Voucher", "VoucherRedemption"),
        per_dialect(
            postgres=_ONE_STANDING_REDEMPTION,
            sqlite=_ONE_STANDING_REDEMPTION,
            reverse_postgres="DROP INDEX loyalty_redemption_one_standing;",
            reverse_sqlite="DROP INDEX loyalty_redemption_one_standing;",
        ),
    ]
