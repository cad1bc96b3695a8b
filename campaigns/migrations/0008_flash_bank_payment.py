from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('campaigns', '0007_flash_orders'), ('loyalty', '0001_initial'), ('loyalty', '0002_auto_20261122_1148'), ('loyalty', '0003_ledger_guards'), ('loyalty', '0004_auto_20261122_1150'), ('loyalty', '0005_voucher_guards'), ('loyalty', '0006_auto_20261122_1156'), ('loyalty', '0007_open_lots_index'), ('loyalty', '0008_category_from_merchants'), ('loyalty', '0009_voucher_revoked'), ('loyalty', '0010_sale_multiplier'), ('loyalty', '0011_member_home_grid'), ('merchants', '0001_initial'), ('merchants', '0002_auto_20261122_1138'), ('merchants', '0003_constraints'), ('merchants', '0004_auto_20261122_1144')]

    initial = False

    operations = [
        ops.AddField(
            model_name='FlashWin',
            name='bank_txn_no',
            field=fields.CharField(null=True, description='the bank debit that paid it', max_length=64),
        ),
        ops.AddField(
            model_name='FlashWin',
            name='debit_started_at',
            field=fields.DatetimeField(null=True, description='when a bank debit was first asked for', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='FlashWin',
            name='refunded_at',
            field=fields.DatetimeField(null=True, description='when a debit that came too late went back', auto_now=False, auto_now_add=False),
        ),
    ]
