from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('billpay', '0001_initial'), ('loyalty', '0001_initial')]

    initial = False

    operations = [
        ops.AddConstraint(
            model_name='BillOrder',
            constraint=CheckConstraint(check='amount > 0', name='billpay_order_amount_positive'),
        ),
        ops.AddConstraint(
            model_name='BillOrder',
            constraint=CheckConstraint(check='fee >= 0 AND discount >= 0', name='billpay_order_fee_discount_nonnegative'),
        ),
        ops.AddConstraint(
            model_name='BillOrder',
            constraint=CheckConstraint(check='total = amount + fee - discount', name='billpay_order_total_adds_up'),
        ),
        ops.AddConstraint(
            model_name='BillOrder',
            constraint=CheckConstraint(check='total >= 0', name='billpay_order_total_nonnegative'),
        ),
        ops.AddConstraint(
            model_name='BillOrder',
            constraint=CheckConstraint(check="state IN ('created','paid','confirming','succeeded','failed','refunded','cancelled')", name='billpay_order_state_known'),
        ),
        ops.AddConstraint(
            model_name='BillOrder',
            constraint=CheckConstraint(check="state IN ('created','cancelled') OR (bank_txn IS NOT NULL AND paid_at IS NOT NULL)", name='billpay_order_paid_has_debit'),
        ),
        ops.AddConstraint(
            model_name='BillOrder',
            constraint=CheckConstraint(check="state <> 'refunded' OR refund_txn IS NOT NULL", name='billpay_order_refunded_has_refund'),
        ),
        ops.AddConstraint(
            model_name='Biller',
            constraint=CheckConstraint(check='fee_fixed >= 0', name='billpay_biller_fee_fixed_nonnegative'),
        ),
        ops.AddConstraint(
            model_name='Biller',
            constraint=CheckConstraint(check='fee_rate_bp BETWEEN 0 AND 10000', name='billpay_biller_fee_rate_range'),
        ),
        ops.AddConstraint(
            model_name='Biller',
            constraint=CheckConstraint(check='fee_cap IS NULL OR fee_cap >= 0', name='billpay_biller_fee_cap_nonnegative'),
        ),
        ops.AddConstraint(
            model_name='ReminderSubscription',
            constraint=CheckConstraint(check='day_of_month BETWEEN 1 AND 28', name='billpay_reminder_day_range'),
        ),
        ops.AddConstraint(
            model_name='SimBankAccount',
            constraint=CheckConstraint(check='balance >= 0', name='billpay_sim_bank_balance_nonnegative'),
        ),
        ops.AddConstraint(
            model_name='SimBankPayment',
            constraint=CheckConstraint(check='amount >= 0', name='billpay_sim_bank_payment_amount_nonnegative'),
        ),
        ops.AddConstraint(
            model_name='SimBankPayment',
            constraint=CheckConstraint(check="status IN ('debited','refunded','reversed')", name='billpay_sim_bank_payment_status'),
        ),
    ]
