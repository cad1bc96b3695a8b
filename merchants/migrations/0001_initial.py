from tortoise import migrations
from tortoise.migrations import operations as ops
from merchants.models import MerchantStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Merchant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=128)),
                ('status', fields.CharEnumField(default=MerchantStatus.DRAFT, description='DRAFT: draft\nSUBMITTED: submitted\nAPPROVED: approved\nREJECTED: rejected\nACTIVE: active\nSUSPENDED: suspended', enum_type=MerchantStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'merchants_merchant', 'app': 'merchants', 'pk_attr': 'id', 'table_description': 'A legal business of the alliance and its store.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Staff',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', db_constraint=True, to_field='id', related_name='staff', on_delete=OnDelete.RESTRICT)),
                ('phone_hash', fields.CharField(unique=True, max_length=64)),
                ('phone_enc', fields.TextField(unique=False)),
                ('name', fields.CharField(default='', max_length=64)),
                ('role', fields.CharField(max_length=16)),
                ('password_hash', fields.CharField(max_length=255)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'merchants_staff', 'app': 'merchants', 'pk_attr': 'id', 'table_description': 'A person working for one merchant (owner, manager or cashier) who logs in with phone and password.'},
            bases=['Model'],
        ),
    ]
