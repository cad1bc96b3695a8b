from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('loyalty', '0010_sale_multiplier'), ('merchants', '0001_initial'), ('merchants', '0002_auto_20261122_1138'), ('merchants', '0003_constraints'), ('merchants', '0004_auto_20261122_1144')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='home_grid',
            field=fields.ForeignKeyField('merchants.Branch', source_field='home_grid_id', null=True, description='the grid campaigns target the member by (where they live or bank)', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Member',
            name='home_grid_changed_at',
            field=fields.DatetimeField(null=True, description='when the member last chose it', auto_now=False, auto_now_add=False),
        ),
    ]
