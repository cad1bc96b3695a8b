from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('campaigns', '0009_flash_win_key')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FlashReminder',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('campaigns.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='reminders', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'campaigns_flash_reminder', 'app': 'campaigns', 'unique_together': (('campaign', 'member_id'),), 'indexes': [Index(fields=['campaign_id', 'sent_at', 'id'])], 'pk_attr': 'id', 'table_description': 'A member\'s "remind me" on a flash campaign: one reminder before it opens.'},
            bases=['Model'],
        ),
    ]
