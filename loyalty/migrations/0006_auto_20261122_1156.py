from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.models import LineKind, StatementStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('loyalty', '0005_voucher_guards'), ('merchants', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DailyRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=32)),
                ('business_day', fields.DateField()),
                ('finished_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'loyalty_daily_run', 'app': 'loyalty', 'unique_together': (('name', 'business_day'),), 'pk_attr': 'id', 'table_description': 'A once-per-business-day job that finished (settlement, automatic tags).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SettlementStatement',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', db_constraint=True, to_field='id', related_name='settlement_statements', on_delete=OnDelete.RESTRICT)),
                ('business_day', fields.DateField()),
                ('status', fields.CharEnumField(default=StatementStatus.DRAFT, description='DRAFT: draft\nCONFIRMED: confirmed\nPAID: paid', enum_type=StatementStatus, max_length=16)),
                ('payable_fen', fields.BigIntField(default=0, description='the bank owes the merchant')),
                ('receivable_fen', fields.BigIntField(default=0, description='the merchant owes the bank')),
                ('net_fen', fields.BigIntField(default=0, description='payable minus receivable')),
                ('line_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'loyalty_settlement_statement', 'app': 'loyalty', 'unique_together': (('merchant', 'business_day'),), 'indexes': [Index(fields=['business_day', 'id'])], 'pk_attr': 'id', 'table_description': 'What the bank and one merchant owe each other for one business day (Asia/Shanghai).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SettlementLine',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('statement', fields.ForeignKeyField('loyalty.SettlementStatement', source_field='statement_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='POINTS: points\nVOUCHER: voucher\nVOUCHER_REVERSAL: voucher_reversal', enum_type=LineKind, max_length=24)),
                ('source_id', fields.BigIntField(description='the journal or the voucher redemption')),
                ('amount_fen', fields.BigIntField()),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('description', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'loyalty_settlement_line', 'app': 'loyalty', 'unique_together': (('kind', 'source_id'),), 'indexes': [Index(fields=['statement_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One event on a statement: signed fen, positive when the bank owes the merchant.'},
            bases=['Model'],
        ),
    ]
