from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from app.core.migration_ops import per_dialect

# Loyalty in bill payment: the voucher an order uses, the points it earned, the biller's earning rate.
# The CHECKs are raw SQL (SQLite: triggers) because adding one with Tortoise rebuilds SQLite tables.
_POSTGRES = """
ALTER TABLE "billpay_order" ADD CONSTRAINT "billpay_order_points_nonnegative" CHECK (points >= 0);
ALTER TABLE "billpay_order" ADD CONSTRAINT "billpay_order_points_only_on_success" CHECK (points = 0 OR state = 'succeeded' OR points_reversed_at IS NOT NULL);
ALTER TABLE "billpay_order" ADD CONSTRAINT "billpay_order_discount_needs_voucher" CHECK (discount = 0 OR voucher_id IS NOT NULL);
ALTER TABLE "billpay_biller" ADD CONSTRAINT "billpay_biller_earn_rate_range" CHECK (earn_rate BETWEEN 0 AND 10000);
"""

_SQLITE = """
CREATE TRIGGER "billpay_order_points_nonnegative_insert" BEFORE INSERT ON "billpay_order" WHEN NOT (NEW.points >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_points_nonnegative'); END;
CREATE TRIGGER "billpay_order_points_nonnegative_update" BEFORE UPDATE ON "billpay_order" WHEN NOT (NEW.points >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_points_nonnegative'); END;
CREATE TRIGGER "billpay_order_points_only_on_success_insert" BEFORE INSERT ON "billpay_order" WHEN NOT (NEW.points = 0 OR NEW.state = 'succeeded' OR NEW.points_reversed_at IS NOT NULL)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_points_only_on_success'); END;
CREATE TRIGGER "billpay_order_points_only_on_success_update" BEFORE UPDATE ON "billpay_order" WHEN NOT (NEW.points = 0 OR NEW.state = 'succeeded' OR NEW.points_reversed_at IS NOT NULL)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_points_only_on_success'); END;
CREATE TRIGGER "billpay_order_discount_needs_voucher_insert" BEFORE INSERT ON "billpay_order" WHEN NOT (NEW.discount = 0 OR NEW.voucher_id IS NOT NULL)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_discount_needs_voucher'); END;
CREATE TRIGGER "billpay_order_discount_needs_voucher_update" BEFORE UPDATE ON "billpay_order" WHEN NOT (NEW.discount = 0 OR NEW.voucher_id IS NOT NULL)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_discount_needs_voucher'); END;
CREATE TRIGGER "billpay_biller_earn_rate_range_insert" BEFORE INSERT ON "billpay_biller" WHEN NOT (NEW.earn_rate BETWEEN 0 AND 10000)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_biller_earn_rate_range'); END;
CREATE TRIGGER "billpay_biller_earn_rate_range_update" BEFORE UPDATE ON "billpay_biller" WHEN NOT (NEW.earn_rate BETWEEN 0 AND 10000)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_biller_earn_rate_range'); END;
"""

_REVERSE_POSTGRES = """
ALTER TABLE "billpay_order" DROP CONSTRAINT "billpay_order_points_nonnegative";
ALTER TABLE "billpay_order" DROP CONSTRAINT "billpay_order_points_only_on_success";
ALTER TABLE "billpay_order" DROP CONSTRAINT "billpay_order_discount_needs_voucher";
ALTER TABLE "billpay_biller" DROP CONSTRAINT "billpay_biller_earn_rate_range";
"""

_REVERSE_SQLITE = """
DROP TRIGGER "billpay_order_points_nonnegative_insert";
DROP TRIGGER "billpay_order_points_nonnegative_update";
DROP TRIGGER "billpay_order_points_only_on_success_insert";
DROP TRIGGER "billpay_order_points_only_on_success_update";
DROP TRIGGER "billpay_order_discount_needs_voucher_insert";
DROP TRIGGER "billpay_order_discount_needs_voucher_update";
DROP TRIGGER "billpay_biller_earn_rate_range_insert";
DROP TRIGGER "billpay_biller_earn_rate_range_update";
"""

class Migration(migrations.Migration):
    dependencies = [('billpay', '0003_transitions_append_only'), ('loyalty', '0007_open_lots_index')]

    initial = False

    operations = [
        ops.AddField(
            model_name='BillOrder',
            name='points',
            field=fields.BigIntField(default=0, description='loyalty points awarded when the order succeeded'),
        ),
        ops.AddField(
            model_name='BillOrder',
            name='points_reversed_at',
            field=fields.DatetimeField(null=True, description='when the awarded points were taken back', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='BillOrder',
            name='voucher_id',
            field=fields.BigIntField(null=True, description='loyalty voucher used on this order'),
        ),
        ops.AddField(
            model_name='Biller',
            name='earn_rate',
            field=fields.IntField(default=100, description='loyalty points per 100 yuan paid (bill amount less voucher discount)'),
        ),
        per_dialect(
            postgres=_POSTGRES,
            sqlite=_SQLITE,
            reverse_postgres=_REVERSE_POSTGRES,
            reverse_sqlite=_REVERSE_SQLITE,
        ),
    ]
