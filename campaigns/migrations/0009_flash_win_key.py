from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('campaigns', '0008_flash_bank_payment')]

    initial = False

    operations = [
        ops.AddField(
            model_name='FlashWin',
            name='idempotency_key',
            field=fields.CharField(null=True, description="the grab's Idempotency-Key, answered again after a rebuild", max_length=255),
        ),
    ]
