from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('loyalty', '0007_open_lots_index'), ('merchants', '0004_auto_20261122_1144')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Benefit',
            name='categories',
            field=fields.JSONField(default=list, description="merchants' business categories (`merchants.models.Category`)", encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AlterModelOptions(
            name='MerchantProgram',
            options={'table': 'loyalty_merchant_program', 'app': 'loyalty', 'constraints': [CheckConstraint(check='earn_rate >= 0 AND earn_rate <= 10000', name='loyalty_program_rate'), CheckConstraint(check='point_value_fen >= 1', name='loyalty_program_value')], 'pk_attr': 'merchant_id', 'table_description': "A merchant's loyalty terms: earning rate and point value (its category is the merchant's own)."},
        ),
        ops.RemoveField(model_name='MerchantProgram', name='category'),
    ]
