from tortoise import migrations
from tortoise.migrations import operations as ops
from merchants.models import Category, ChangeStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('merchants', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Branch',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=128)),
                ('address', fields.CharField(default='', max_length=255)),
                ('lat', fields.FloatField()),
                ('lng', fields.FloatField()),
                ('radius_m', fields.IntField(default=3000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'merchants_branch', 'app': 'merchants', 'constraints': [CheckConstraint(check='lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180', name='branch_coords'), CheckConstraint(check='radius_m > 0', name='branch_radius_positive')], 'pk_attr': 'id', 'table_description': 'A bank outlet (GCJ-02 coordinates) and its community grid, a circle of radius_m around it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GridManager',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('operator_id', fields.BigIntField(db_index=True)),
                ('branch', fields.ForeignKeyField('merchants.Branch', source_field='branch_id', db_constraint=True, to_field='id', related_name='managers', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'merchants_grid_manager', 'app': 'merchants', 'unique_together': (('operator_id', 'branch_id'),), 'pk_attr': 'id', 'table_description': 'An operator with the grid_manager role assigned to one grid (branch).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MerchantChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', db_constraint=True, to_field='id', related_name='changes', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=ChangeStatus.PENDING, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=ChangeStatus, max_length=16)),
                ('fields_', fields.JSONField(source_field='fields', default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'merchants_change', 'app': 'merchants', 'constraints': [UniqueConstraint(fields=('merchant_id',), name='merchants_change_one_pending', condition="status = 'pending'")], 'pk_attr': 'id', 'table_description': 'Legal fields an active merchant asked to change, waiting for review while the old data serves.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Store',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', db_constraint=True, to_field='id', related_name='stores', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=128)),
                ('address', fields.CharField(default='', max_length=255)),
                ('lat', fields.FloatField(null=True)),
                ('lng', fields.FloatField(null=True)),
                ('hours', fields.CharField(default='', max_length=128)),
                ('description', fields.TextField(default='', unique=False)),
                ('photos', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('qr_version', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'merchants_store', 'app': 'merchants', 'constraints': [CheckConstraint(check='qr_version >= 0', name='store_qr_version')], 'pk_attr': 'id', 'table_description': 'A physical store of a merchant: what customers find nearby and scan at the till.'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='Merchant',
            options={'table': 'merchants_merchant', 'app': 'merchants', 'indexes': [Index(fields=['grid_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A legal business of the alliance, its application data and its place in a grid.'},
        ),
        ops.AlterField(
            model_name='Merchant',
            name='updated_at',
            field=fields.DatetimeField(db_index=True, auto_now=True, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Merchant',
            name='approved_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Merchant',
            name='category',
            field=fields.CharEnumField(null=True, description='CATERING: catering\nRETAIL: retail\nBEAUTY: beauty\nFITNESS: fitness\nPHARMACY: pharmacy\nEDUCATION: education\nENTERTAINMENT: entertainment\nSERVICES: services\nOTHER: other', enum_type=Category, max_length=16),
        ),
        ops.AddField(
            model_name='Merchant',
            name='credit_code',
            field=fields.CharField(null=True, unique=True, max_length=18),
        ),
        ops.AddField(
            model_name='Merchant',
            name='filed_by_operator_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Merchant',
            name='grid',
            field=fields.ForeignKeyField('merchants.Branch', source_field='grid_id', null=True, db_constraint=True, to_field='id', related_name='merchants', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Merchant',
            name='grid_locked',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Merchant',
            name='last_activity_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Merchant',
            name='legal_rep_name',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='Merchant',
            name='legal_rep_phone_enc',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Merchant',
            name='licence_key',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Merchant',
            name='settlement_account_enc',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Merchant',
            name='settlement_account_name',
            field=fields.CharField(default='', max_length=128),
        ),
        ops.AddField(
            model_name='Merchant',
            name='settlement_bank',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='Merchant',
            name='status_reason',
            field=fields.CharField(default='', max_length=500),
        ),
        ops.AddField(
            model_name='Merchant',
            name='submitted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Merchant',
            index=Index(fields=['grid_id', 'status']),
        ),
    ]
