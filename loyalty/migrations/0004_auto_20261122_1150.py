from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.models import BenefitKind, BenefitStatus, Eligibility, Funder, RedemptionStatus, VoucherStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('loyalty', '0003_ledger_guards'), ('merchants', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Benefit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('description', fields.CharField(default='', max_length=500)),
                ('kind', fields.CharEnumField(description='CASH: cash\nDISCOUNT: discount\nGIFT: gift', enum_type=BenefitKind, max_length=16)),
                ('face_value_fen', fields.BigIntField(default=0, description='cash: amount off, gift: value of the gift')),
                ('discount_percent', fields.IntField(null=True, description='discount: percent off the bill')),
                ('discount_cap_fen', fields.BigIntField(null=True, description='discount: most it takes off')),
                ('min_spend_fen', fields.BigIntField(default=0)),
                ('funder', fields.CharEnumField(description='BANK: bank\nMERCHANT: merchant', enum_type=Funder, max_length=16)),
                ('funder_merchant', fields.ForeignKeyField('merchants.Merchant', source_field='funder_merchant_id', null=True, db_constraint=True, to_field='id', related_name='funded_benefits', on_delete=OnDelete.RESTRICT)),
                ('eligibility', fields.CharEnumField(description='ALL: all\nCATEGORY: category\nLIST: list\nBILL_PAYMENT: bill_payment', enum_type=Eligibility, max_length=16)),
                ('categories', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('valid_from', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('valid_days', fields.IntField(null=True, description='validity in days after issue, else the fixed window')),
                ('stock_total', fields.BigIntField(null=True, description='null: unlimited')),
                ('stock_left', fields.BigIntField(null=True)),
                ('per_member_limit', fields.IntField(default=1)),
                ('price_points', fields.BigIntField(default=0, description='0: only given by campaigns or ops')),
                ('status', fields.CharEnumField(default=BenefitStatus.DRAFT, description='DRAFT: draft\nPENDING_REVIEW: pending_review\nACTIVE: active\nPAUSED: paused\nENDED: ended\nREJECTED: rejected', enum_type=BenefitStatus, max_length=16)),
                ('reject_reason', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'loyalty_benefit', 'app': 'loyalty', 'constraints': [CheckConstraint(check='stock_left IS NULL OR stock_left >= 0', name='loyalty_benefit_stock'), CheckConstraint(check='(stock_total IS NULL) = (stock_left IS NULL) AND (stock_total IS NULL OR stock_left <= stock_total)', name='loyalty_benefit_stock_total'), CheckConstraint(check='per_member_limit >= 1', name='loyalty_benefit_limit'), CheckConstraint(check='price_points >= 0 AND face_value_fen >= 0 AND min_spend_fen >= 0', name='loyalty_benefit_amounts'), CheckConstraint(check='(valid_days IS NULL) <> (valid_until IS NULL)', name='loyalty_benefit_validity'), CheckConstraint(check="(funder = 'merchant') = (funder_merchant_id IS NOT NULL)", name='loyalty_benefit_funder')], 'indexes': [Index(fields=['status', 'id']), Index(fields=['funder_merchant_id', 'id'])], 'pk_attr': 'id', 'table_description': 'An entry of the benefits catalogue that members get as vouchers.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BenefitMerchant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('benefit', fields.ForeignKeyField('loyalty.Benefit', source_field='benefit_id', db_constraint=True, to_field='id', related_name='merchants', on_delete=OnDelete.CASCADE)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', db_constraint=True, to_field='id', related_name='benefit_listings', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'loyalty_benefit_merchant', 'app': 'loyalty', 'unique_together': (('benefit', 'merchant'),), 'pk_attr': 'id', 'table_description': 'A merchant where a list-scoped benefit can be redeemed.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Voucher',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('benefit', fields.ForeignKeyField('loyalty.Benefit', source_field='benefit_id', db_constraint=True, to_field='id', related_name='vouchers', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='vouchers', on_delete=OnDelete.RESTRICT)),
                ('seq', fields.IntField(description="the member's n-th voucher of this benefit")),
                ('member_limit', fields.IntField(description="the benefit's per-member limit when issued")),
                ('source', fields.CharField(description='points, campaign or ops', max_length=16)),
                ('source_reference', fields.CharField(unique=True, max_length=191)),
                ('journal', fields.ForeignKeyField('loyalty.Journal', source_field='journal_id', null=True, db_constraint=True, to_field='id', related_name='vouchers', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=VoucherStatus.ACTIVE, description='ACTIVE: active\nUSED: used', enum_type=VoucherStatus, max_length=16)),
                ('valid_from', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'loyalty_voucher', 'app': 'loyalty', 'unique_together': (('benefit', 'member', 'seq'),), 'constraints': [CheckConstraint(check='seq >= 1 AND seq <= member_limit', name='loyalty_voucher_member_limit')], 'indexes': [Index(fields=['member_id', 'status', 'valid_until'])], 'pk_attr': 'id', 'table_description': 'A benefit issued to a member: redeemable once, within its validity.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VoucherRedemption',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('voucher', fields.ForeignKeyField('loyalty.Voucher', source_field='voucher_id', db_constraint=True, to_field='id', related_name='redemptions', on_delete=OnDelete.RESTRICT)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', null=True, db_constraint=True, to_field='id', related_name='voucher_redemptions', on_delete=OnDelete.RESTRICT)),
                ('channel', fields.CharField(description='till or bill_payment', max_length=16)),
                ('reference', fields.CharField(unique=True, max_length=191)),
                ('nonce', fields.CharField(null=True, unique=True, description="the scanned token's nonce", max_length=32)),
                ('staff_id', fields.BigIntField(null=True)),
                ('bill_amount_fen', fields.BigIntField()),
                ('discount_fen', fields.BigIntField()),
                ('settlement_fen', fields.BigIntField(default=0, description='what the bank owes the merchant for it')),
                ('status', fields.CharEnumField(default=RedemptionStatus.REDEEMED, description='REDEEMED: redeemed\nREVERSED: reversed', enum_type=RedemptionStatus, max_length=16)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('reversed_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'loyalty_voucher_redemption', 'app': 'loyalty', 'constraints': [CheckConstraint(check='bill_amount_fen > 0 AND discount_fen >= 0 AND discount_fen <= bill_amount_fen AND settlement_fen >= 0', name='loyalty_redemption_amounts')], 'indexes': [Index(fields=['merchant_id', 'id']), Index(fields=['voucher_id'])], 'pk_attr': 'id', 'table_description': "A voucher used at a merchant's till or on a bill payment."},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='MerchantProgram',
            options={'table': 'loyalty_merchant_program', 'app': 'loyalty', 'constraints': [CheckConstraint(check='earn_rate >= 0 AND earn_rate <= 10000', name='loyalty_program_rate'), CheckConstraint(check='point_value_fen >= 1', name='loyalty_program_value')], 'pk_attr': 'merchant_id', 'table_description': "A merchant's loyalty terms: earning rate, point value and benefit category."},
        ),
        ops.AlterModelOptions(
            name='PointsAccount',
            options={'table': 'loyalty_points_account', 'app': 'loyalty', 'constraints': [CheckConstraint(check='balance >= 0', name='loyalty_points_account_not_negative')], 'pk_attr': 'member_id', 'table_description': "A member's points account: the balance kept in the same transaction as its entries."},
        ),
    ]
