from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.models import VoucherStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('loyalty', '0008_category_from_merchants'), ('merchants', '0001_initial'), ('merchants', '0002_auto_20261122_1138'), ('merchants', '0003_constraints'), ('merchants', '0004_auto_20261122_1144')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Voucher',
            name='status',
            field=fields.CharEnumField(default=VoucherStatus.ACTIVE, description='ACTIVE: active\nUSED: used\nREVOKED: revoked', enum_type=VoucherStatus, max_length=16),
        ),
    ]
