from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.models import LineKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

from app.core.migration_ops import AlterFieldState, check_constraints

class Migration(migrations.Migration):
    dependencies = [('loyalty', '0001_initial'), ('loyalty', '0002_auto_20261122_1148'), ('loyalty', '0003_ledger_guards'), ('loyalty', '0004_auto_20261122_1150'), ('loyalty', '0005_voucher_guards'), ('loyalty', '0006_auto_20261122_1156'), ('loyalty', '0007_open_lots_index'), ('loyalty', '0008_category_from_merchants'), ('loyalty', '0009_voucher_revoked'), ('loyalty', '0010_sale_multiplier'), ('loyalty', '0011_member_home_grid'), ('merchants', '0001_initial'), ('merchants', '0002_auto_20261122_1138'), ('merchants', '0003_constraints'), ('merchants', '0004_auto_20261122_1144')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberPayment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('reference', fields.CharField(unique=True, description='the payment, e.g. flash-order:<ticket>', max_length=96)),
                ('amount_fen', fields.BigIntField()),
                ('description', fields.CharField(default='', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'loyalty_member_payment', 'app': 'loyalty', 'constraints': [CheckConstraint(check='amount_fen > 0', name='loyalty_member_payment_amount')], 'indexes': [Index(fields=['created_at'])], 'pk_attr': 'id', 'table_description': "What members paid the bank for a merchant's goods (a paid flash order of a merchant-funded"},
            bases=['Model'],
        ),
        check_constraints('loyalty', 'MemberPayment'),
        # A new kind is no schema change: the state only (SQLite would rebuild the table, losing its indexes).
        AlterFieldState(
            model_name='SettlementLine',
            name='kind',
            field=fields.CharEnumField(description='POINTS: points\nVOUCHER: voucher\nVOUCHER_REVERSAL: voucher_reversal\nMEMBER_PAYMENT: member_payment', enum_type=LineKind, max_length=24),
        ),
    ]
