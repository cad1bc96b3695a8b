from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('merchants', '0003_constraints')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='MerchantChange',
            index=Index(fields=['merchant_id', 'status']),
        ),
        ops.AddIndex(
            model_name='Store',
            index=Index(fields=['merchant_id']),
        ),
    ]
