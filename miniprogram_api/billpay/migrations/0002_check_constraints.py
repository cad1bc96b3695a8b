from tortoise import migrations

from app.core.migration_ops import per_dialect

# CreateModel records CHECK constraints in the migration state without creating them, and AddConstraint
# rebuilds SQLite tables without their indexes: so PostgreSQL gets the constraints here, and SQLite
# triggers that refuse the same rows.
_POSTGRES = """
ALTER TABLE "billpay_biller" ADD CONSTRAINT "billpay_biller_fee_fixed_nonnegative" CHECK (fee_fixed >= 0);
ALTER TABLE "billpay_biller" ADD CONSTRAINT "billpay_biller_fee_rate_range" CHECK (fee_rate_bp BETWEEN 0 AND 10000);
ALTER TABLE "billpay_biller" ADD CONSTRAINT "billpay_biller_fee_cap_nonnegative" CHECK (fee_cap IS NULL OR fee_cap >= 0);
ALTER TABLE "billpay_order" ADD CONSTRAINT "billpay_order_amount_positive" CHECK (amount > 0);
ALTER TABLE "billpay_order" ADD CONSTRAINT "billpay_order_fee_discount_nonnegative" CHECK (fee >= 0 AND discount >= 0);
ALTER TABLE "billpay_order" ADD CONSTRAINT "billpay_order_total_adds_up" CHECK (total = amount + fee - discount);
ALTER TABLE "billpay_order" ADD CONSTRAINT "billpay_order_total_nonnegative" CHECK (total >= 0);
ALTER TABLE "billpay_order" ADD CONSTRAINT "billpay_order_state_known" CHECK (state IN ('created','paid','confirming','succeeded','failed','refunded','cancelled'));
ALTER TABLE "billpay_order" ADD CONSTRAINT "billpay_order_paid_has_debit" CHECK (state IN ('created','cancelled') OR (bank_txn IS NOT NULL AND paid_at IS NOT NULL));
ALTER TABLE "billpay_order" ADD CONSTRAINT "billpay_order_refunded_has_refund" CHECK (state <> 'refunded' OR refund_txn IS NOT NULL);
ALTER TABLE "billpay_reminder" ADD CONSTRAINT "billpay_reminder_day_range" CHECK (day_of_month BETWEEN 1 AND 28);
ALTER TABLE "billpay_sim_bank_account" ADD CONSTRAINT "billpay_sim_bank_balance_nonnegative" CHECK (balance >= 0);
ALTER TABLE "billpay_sim_bank_payment" ADD CONSTRAINT "billpay_sim_bank_payment_amount_nonnegative" CHECK (amount >= 0);
ALTER TABLE "billpay_sim_bank_payment" ADD CONSTRAINT "billpay_sim_bank_payment_status" CHECK (status IN ('debited','refunded','reversed'));
"""

_SQLITE = """
CREATE TRIGGER "billpay_biller_fee_fixed_nonnegative_insert" BEFORE INSERT ON "billpay_biller" WHEN NOT (NEW.fee_fixed >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_biller_fee_fixed_nonnegative'); END;
CREATE TRIGGER "billpay_biller_fee_fixed_nonnegative_update" BEFORE UPDATE ON "billpay_biller" WHEN NOT (NEW.fee_fixed >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_biller_fee_fixed_nonnegative'); END;
CREATE TRIGGER "billpay_biller_fee_rate_range_insert" BEFORE INSERT ON "billpay_biller" WHEN NOT (NEW.fee_rate_bp BETWEEN 0 AND 10000)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_biller_fee_rate_range'); END;
CREATE TRIGGER "billpay_biller_fee_rate_range_update" BEFORE UPDATE ON "billpay_biller" WHEN NOT (NEW.fee_rate_bp BETWEEN 0 AND 10000)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_biller_fee_rate_range'); END;
CREATE TRIGGER "billpay_biller_fee_cap_nonnegative_insert" BEFORE INSERT ON "billpay_biller" WHEN NOT (NEW.fee_cap IS NULL OR NEW.fee_cap >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_biller_fee_cap_nonnegative'); END;
CREATE TRIGGER "billpay_biller_fee_cap_nonnegative_update" BEFORE UPDATE ON "billpay_biller" WHEN NOT (NEW.fee_cap IS NULL OR NEW.fee_cap >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_biller_fee_cap_nonnegative'); END;
CREATE TRIGGER "billpay_order_amount_positive_insert" BEFORE INSERT ON "billpay_order" WHEN NOT (NEW.amount > 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_amount_positive'); END;
CREATE TRIGGER "billpay_order_amount_positive_update" BEFORE UPDATE ON "billpay_order" WHEN NOT (NEW.amount > 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_amount_positive'); END;
CREATE TRIGGER "billpay_order_fee_discount_nonnegative_insert" BEFORE INSERT ON "billpay_order" WHEN NOT (NEW.fee >= 0 AND NEW.discount >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_fee_discount_nonnegative'); END;
CREATE TRIGGER "billpay_order_fee_discount_nonnegative_update" BEFORE UPDATE ON "billpay_order" WHEN NOT (NEW.fee >= 0 AND NEW.discount >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_fee_discount_nonnegative'); END;
CREATE TRIGGER "billpay_order_total_adds_up_insert" BEFORE INSERT ON "billpay_order" WHEN NOT (NEW.total = NEW.amount + NEW.fee - NEW.discount)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_total_adds_up'); END;
CREATE TRIGGER "billpay_order_total_adds_up_update" BEFORE UPDATE ON "billpay_order" WHEN NOT (NEW.total = NEW.amount + NEW.fee - NEW.discount)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_total_adds_up'); END;
CREATE TRIGGER "billpay_order_total_nonnegative_insert" BEFORE INSERT ON "billpay_order" WHEN NOT (NEW.total >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_total_nonnegative'); END;
CREATE TRIGGER "billpay_order_total_nonnegative_update" BEFORE UPDATE ON "billpay_order" WHEN NOT (NEW.total >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_total_nonnegative'); END;
CREATE TRIGGER "billpay_order_state_known_insert" BEFORE INSERT ON "billpay_order" WHEN NOT (NEW.state IN ('created','paid','confirming','succeeded','failed','refunded','cancelled'))
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_state_known'); END;
CREATE TRIGGER "billpay_order_state_known_update" BEFORE UPDATE ON "billpay_order" WHEN NOT (NEW.state IN ('created','paid','confirming','succeeded','failed','refunded','cancelled'))
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_state_known'); END;
CREATE TRIGGER "billpay_order_paid_has_debit_insert" BEFORE INSERT ON "billpay_order" WHEN NOT (NEW.state IN ('created','cancelled') OR (NEW.bank_txn IS NOT NULL AND NEW.paid_at IS NOT NULL))
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_paid_has_debit'); END;
CREATE TRIGGER "billpay_order_paid_has_debit_update" BEFORE UPDATE ON "billpay_order" WHEN NOT (NEW.state IN ('created','cancelled') OR (NEW.bank_txn IS NOT NULL AND NEW.paid_at IS NOT NULL))
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_paid_has_debit'); END;
CREATE TRIGGER "billpay_order_refunded_has_refund_insert" BEFORE INSERT ON "billpay_order" WHEN NOT (NEW.state <> 'refunded' OR NEW.refund_txn IS NOT NULL)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_refunded_has_refund'); END;
CREATE TRIGGER "billpay_order_refunded_has_refund_update" BEFORE UPDATE ON "billpay_order" WHEN NOT (NEW.state <> 'refunded' OR NEW.refund_txn IS NOT NULL)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_order_refunded_has_refund'); END;
CREATE TRIGGER "billpay_reminder_day_range_insert" BEFORE INSERT ON "billpay_reminder" WHEN NOT (NEW.day_of_month BETWEEN 1 AND 28)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_reminder_day_range'); END;
CREATE TRIGGER "billpay_reminder_day_range_update" BEFORE UPDATE ON "billpay_reminder" WHEN NOT (NEW.day_of_month BETWEEN 1 AND 28)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_reminder_day_range'); END;
CREATE TRIGGER "billpay_sim_bank_balance_nonnegative_insert" BEFORE INSERT ON "billpay_sim_bank_account" WHEN NOT (NEW.balance >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_sim_bank_balance_nonnegative'); END;
CREATE TRIGGER "billpay_sim_bank_balance_nonnegative_update" BEFORE UPDATE ON "billpay_sim_bank_account" WHEN NOT (NEW.balance >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_sim_bank_balance_nonnegative'); END;
CREATE TRIGGER "billpay_sim_bank_payment_amount_nonnegative_insert" BEFORE INSERT ON "billpay_sim_bank_payment" WHEN NOT (NEW.amount >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_sim_bank_payment_amount_nonnegative'); END;
CREATE TRIGGER "billpay_sim_bank_payment_amount_nonnegative_update" BEFORE UPDATE ON "billpay_sim_bank_payment" WHEN NOT (NEW.amount >= 0)
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_sim_bank_payment_amount_nonnegative'); END;
CREATE TRIGGER "billpay_sim_bank_payment_status_insert" BEFORE INSERT ON "billpay_sim_bank_payment" WHEN NOT (NEW.status IN ('debited','refunded','reversed'))
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_sim_bank_payment_status'); END;
CREATE TRIGGER "billpay_sim_bank_payment_status_update" BEFORE UPDATE ON "billpay_sim_bank_payment" WHEN NOT (NEW.status IN ('debited','refunded','reversed'))
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: billpay_sim_bank_payment_status'); END;
"""


class Migration(migrations.Migration):
    dependencies = [('billpay', '0001_initial')]

    initial = False

    operations = [
        per_dialect(
            postgres=_POSTGRES,
            sqlite=_SQLITE,
            reverse_postgres="""
ALTER TABLE "billpay_biller" DROP CONSTRAINT "billpay_biller_fee_fixed_nonnegative";
ALTER TABLE "billpay_biller" DROP CONSTRAINT "billpay_biller_fee_rate_range";
ALTER TABLE "billpay_biller" DROP CONSTRAINT "billpay_biller_fee_cap_nonnegative";
ALTER TABLE "billpay_order" DROP CONSTRAINT "billpay_order_amount_positive";
ALTER TABLE "billpay_order" DROP CONSTRAINT "billpay_order_fee_discount_nonnegative";
ALTER TABLE "billpay_order" DROP CONSTRAINT "billpay_order_total_adds_up";
ALTER TABLE "billpay_order" DROP CONSTRAINT "billpay_order_total_nonnegative";
ALTER TABLE "billpay_order" DROP CONSTRAINT "billpay_order_state_known";
ALTER TABLE "billpay_order" DROP CONSTRAINT "billpay_order_paid_has_debit";
ALTER TABLE "billpay_order" DROP CONSTRAINT "billpay_order_refunded_has_refund";
ALTER TABLE "billpay_reminder" DROP CONSTRAINT "billpay_reminder_day_range";
ALTER TABLE "billpay_sim_bank_account" DROP CONSTRAINT "billpay_sim_bank_balance_nonnegative";
ALTER TABLE "billpay_sim_bank_payment" DROP CONSTRAINT "billpay_sim_bank_payment_amount_nonnegative";
ALTER TABLE "billpay_sim_bank_payment" DROP CONSTRAINT "billpay_sim_bank_payment_status";
""",
            reverse_sqlite="""
DROP TRIGGER "billpay_biller_fee_fixed_nonnegative_insert";
DROP TRIGGER "billpay_biller_fee_fixed_nonnegative_update";
DROP TRIGGER "billpay_biller_fee_rate_range_insert";
DROP TRIGGER "billpay_biller_fee_rate_range_update";
DROP TRIGGER "billpay_biller_fee_cap_nonnegative_insert";
DROP TRIGGER "billpay_biller_fee_cap_nonnegative_update";
DROP TRIGGER "billpay_order_amount_positive_insert";
DROP TRIGGER "billpay_order_amount_positive_update";
DROP TRIGGER "billpay_order_fee_discount_nonnegative_insert";
DROP TRIGGER "billpay_order_fee_discount_nonnegative_update";
DROP TRIGGER "billpay_order_total_adds_up_insert";
DROP TRIGGER "billpay_order_total_adds_up_update";
DROP TRIGGER "billpay_order_total_nonnegative_insert";
DROP TRIGGER "billpay_order_total_nonnegative_update";
DROP TRIGGER "billpay_order_state_known_insert";
DROP TRIGGER "billpay_order_state_known_update";
DROP TRIGGER "billpay_order_paid_has_debit_insert";
DROP TRIGGER "billpay_order_paid_has_debit_update";
DROP TRIGGER "billpay_order_refunded_has_refund_insert";
DROP TRIGGER "billpay_order_refunded_has_refund_update";
DROP TRIGGER "billpay_reminder_day_range_insert";
DROP TRIGGER "billpay_reminder_day_range_update";
DROP TRIGGER "billpay_sim_bank_balance_nonnegative_insert";
DROP TRIGGER "billpay_sim_bank_balance_nonnegative_update";
DROP TRIGGER "billpay_sim_bank_payment_amount_nonnegative_insert";
DROP TRIGGER "billpay_sim_bank_payment_amount_nonnegative_update";
DROP TRIGGER "billpay_sim_bank_payment_status_insert";
DROP TRIGGER "billpay_sim_bank_payment_status_update";
""",
        ),
    ]
