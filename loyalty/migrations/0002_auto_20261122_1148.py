from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.models import AccountKind, JournalKind, PaymentStatus, SaleStatus, Tier
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('loyalty', '0001_initial'), ('merchants', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Journal',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('reference', fields.CharField(unique=True, max_length=191)),
                ('kind', fields.CharEnumField(description='EARN: earn\nSPEND: spend\nEXPIRE: expire\nREVERSAL: reversal', enum_type=JournalKind, max_length=16)),
                ('source', fields.CharField(description='sale, bill_payment, campaign, benefit, …', max_length=32)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', null=True, db_constraint=True, to_field='id', related_name='journals', on_delete=OnDelete.RESTRICT)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', null=True, db_constraint=True, to_field='id', related_name='points_journals', on_delete=OnDelete.RESTRICT)),
                ('points', fields.BigIntField(description='points credited to (or debited from) the member')),
                ('settlement_fen', fields.BigIntField(default=0, description='what the bank owes the merchant for it (negative: the merchant owes)')),
                ('reverses', fields.OneToOneField('loyalty.Journal', source_field='reverses_id', null=True, db_constraint=True, to_field='id', related_name='reversed_by', on_delete=OnDelete.RESTRICT)),
                ('memo', fields.CharField(default='', max_length=255)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'loyalty_journal', 'app': 'loyalty', 'constraints': [CheckConstraint(check='points >= 0', name='loyalty_journal_points')], 'indexes': [Index(fields=['merchant_id', 'created_at']), Index(fields=['member_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One posting to the ledger with a unique reference, its entries sum to zero (append-only).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Entry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('journal', fields.ForeignKeyField('loyalty.Journal', source_field='journal_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('account_kind', fields.CharEnumField(description='MEMBER: member\nMERCHANT: merchant\nPOOL: pool\nREDEMPTION: redemption\nEXPIRY: expiry\nWRITEOFF: writeoff', enum_type=AccountKind, max_length=16)),
                ('account_id', fields.BigIntField(default=0, description='member or merchant id, 0 for system accounts')),
                ('amount', fields.BigIntField()),
            ],
            options={'table': 'loyalty_entry', 'app': 'loyalty', 'constraints': [CheckConstraint(check='amount <> 0', name='loyalty_entry_not_zero')], 'indexes': [Index(fields=['account_kind', 'account_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One side of a journal: a signed amount of points on one account (append-only).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberTag',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='tags', on_delete=OnDelete.CASCADE)),
                ('tag', fields.CharField(max_length=32)),
                ('source', fields.CharField(description='import or auto', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'loyalty_member_tag', 'app': 'loyalty', 'unique_together': (('member', 'tag'),), 'indexes': [Index(fields=['tag', 'member_id'])], 'pk_attr': 'id', 'table_description': 'A targeting tag on a member (imported by ops or kept by the automatic-tags job).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MerchantMember',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', db_constraint=True, to_field='id', related_name='known_members', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='known_by', on_delete=OnDelete.CASCADE)),
                ('first_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('visits', fields.IntField(default=0)),
                ('spend_fen', fields.BigIntField(default=0)),
                ('points_earned', fields.BigIntField(default=0)),
                ('redemptions', fields.IntField(default=0)),
            ],
            options={'table': 'loyalty_merchant_member', 'app': 'loyalty', 'unique_together': (('merchant', 'member'),), 'pk_attr': 'id', 'table_description': 'A member known to a merchant (scanned its store QR, earned or redeemed there).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MerchantProgram',
            fields=[
                ('merchant', fields.OneToOneField('merchants.Merchant', source_field='merchant_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='loyalty_program', on_delete=OnDelete.RESTRICT)),
                ('earn_rate', fields.IntField(description='points earned per 100 yuan spent')),
                ('point_value_fen', fields.IntField(description='fen one point is worth in settlement')),
                ('category', fields.CharField(default='', description='category for benefit eligibility', max_length=32)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'loyalty_merchant_program', 'app': 'loyalty', 'constraints': [CheckConstraint(check='earn_rate >= 0 AND earn_rate <= 10000', name='loyalty_program_rate'), CheckConstraint(check='point_value_fen >= 1', name='loyalty_program_value')], 'pk_attr': 'merchant_id', 'table_description': "A merchant's loyalty terms: earning rate, point value and benefit category."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PointsAccount',
            fields=[
                ('member', fields.OneToOneField('loyalty.Member', source_field='member_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='points_account', on_delete=OnDelete.RESTRICT)),
                ('balance', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'loyalty_points_account', 'app': 'loyalty', 'constraints': [CheckConstraint(check='balance >= 0', name='loyalty_points_account_not_negative')], 'pk_attr': 'member_id', 'table_description': "A member's points account: the balance kept in the same transaction as its entries."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PointsLot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='lots', on_delete=OnDelete.RESTRICT)),
                ('journal', fields.ForeignKeyField('loyalty.Journal', source_field='journal_id', db_constraint=True, to_field='id', related_name='lots', on_delete=OnDelete.RESTRICT)),
                ('points', fields.BigIntField()),
                ('remaining', fields.BigIntField()),
                ('reversed_points', fields.BigIntField(default=0, description='points of this lot taken back by reversal')),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'loyalty_points_lot', 'app': 'loyalty', 'constraints': [CheckConstraint(check='points > 0', name='loyalty_lot_points'), CheckConstraint(check='remaining >= 0 AND remaining <= points', name='loyalty_lot_remaining'), CheckConstraint(check='reversed_points >= 0 AND reversed_points <= points', name='loyalty_lot_reversed')], 'indexes': [Index(fields=['member_id', 'expires_at']), Index(fields=['member_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'Points earned together, expiring together at the end of the 12th month after earning.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LotMove',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('journal', fields.ForeignKeyField('loyalty.Journal', source_field='journal_id', db_constraint=True, to_field='id', related_name='lot_moves', on_delete=OnDelete.RESTRICT)),
                ('lot', fields.ForeignKeyField('loyalty.PointsLot', source_field='lot_id', db_constraint=True, to_field='id', related_name='moves', on_delete=OnDelete.RESTRICT)),
                ('points', fields.BigIntField()),
            ],
            options={'table': 'loyalty_lot_move', 'app': 'loyalty', 'constraints': [CheckConstraint(check='points <> 0', name='loyalty_lot_move_not_zero')], 'indexes': [Index(fields=['journal_id']), Index(fields=['lot_id'])], 'pk_attr': 'id', 'table_description': 'Points a journal took from (negative) or gave back to (positive) a lot (append-only).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PointsPayment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', db_constraint=True, to_field='id', related_name='points_payments', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='points_payments', on_delete=OnDelete.RESTRICT)),
                ('staff_id', fields.BigIntField(null=True)),
                ('reference', fields.CharField(max_length=191)),
                ('nonce', fields.CharField(unique=True, description="the member code's nonce, used once", max_length=32)),
                ('points', fields.BigIntField()),
                ('value_fen', fields.BigIntField()),
                ('journal', fields.ForeignKeyField('loyalty.Journal', source_field='journal_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=PaymentStatus.PAID, description='PAID: paid\nREVERSED: reversed', enum_type=PaymentStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('reversed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'loyalty_points_payment', 'app': 'loyalty', 'unique_together': (('merchant', 'reference'),), 'constraints': [CheckConstraint(check='points > 0 AND value_fen > 0', name='loyalty_payment_positive')], 'indexes': [Index(fields=['merchant_id', 'id'])], 'pk_attr': 'id', 'table_description': 'Points a member paid with at a merchant (one member code, used once).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Sale',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', db_constraint=True, to_field='id', related_name='sales', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='sales', on_delete=OnDelete.RESTRICT)),
                ('staff_id', fields.BigIntField(null=True)),
                ('reference', fields.CharField(description='receipt number or idempotency reference', max_length=191)),
                ('amount_fen', fields.BigIntField()),
                ('points', fields.BigIntField(default=0)),
                ('journal', fields.ForeignKeyField('loyalty.Journal', source_field='journal_id', null=True, db_constraint=True, to_field='id', related_name='sales', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=SaleStatus.COMPLETED, description='COMPLETED: completed\nREFUNDED: refunded', enum_type=SaleStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('refunded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'loyalty_sale', 'app': 'loyalty', 'unique_together': (('merchant', 'reference'),), 'constraints': [CheckConstraint(check='amount_fen > 0', name='loyalty_sale_amount'), CheckConstraint(check='points >= 0', name='loyalty_sale_points')], 'indexes': [Index(fields=['merchant_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A purchase a merchant recorded for a member, earning points.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Member',
            name='created_at',
            field=fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True),
        ),
        ops.AlterField(
            model_name='Member',
            name='last_active_at',
            field=fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True),
        ),
        ops.AddField(
            model_name='Member',
            name='birthday',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Member',
            name='consents_updated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Member',
            name='joined_at',
            field=fields.DatetimeField(null=True, description='when the member joined the alliance', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Member',
            name='marketing',
            field=fields.BooleanField(default=False, description='consent: marketing messages'),
        ),
        ops.AddField(
            model_name='Member',
            name='phone_bound_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Member',
            name='phone_enc',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Member',
            name='phone_hash',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
        ops.AddField(
            model_name='Member',
            name='share_profile',
            field=fields.BooleanField(default=False, description='consent: merchants may see me'),
        ),
        ops.AddField(
            model_name='Member',
            name='tier',
            field=fields.CharEnumField(default=Tier.REGULAR, description='REGULAR: regular\nSILVER: silver\nGOLD: gold', enum_type=Tier, max_length=16),
        ),
    ]
