from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.models import BroadcastStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('loyalty', '0014_messages')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Broadcast',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=64)),
                ('body', fields.CharField(max_length=500)),
                ('tiers', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('tags', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('status', fields.CharEnumField(default=BroadcastStatus.DRAFT, description='DRAFT: draft\nAPPROVED: approved\nSENDING: sending\nSENT: sent\nCANCELLED: cancelled', enum_type=BroadcastStatus, max_length=16)),
                ('send_at', fields.DatetimeField(description='when sending starts', auto_now=False, auto_now_add=False)),
                ('created_by', fields.BigIntField()),
                ('approved_by', fields.BigIntField(null=True)),
                ('message', fields.ForeignKeyField('loyalty.Message', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('cursor', fields.BigIntField(default=0, description='the last member id the sending reached')),
                ('targeted', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('approved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'loyalty_broadcast', 'app': 'loyalty', 'indexes': [Index(fields=['status', 'send_at'])], 'pk_attr': 'id', 'table_description': 'A promotional message ops send to a segment, in batches, once approved by a second operator.'},
            bases=['Model'],
        ),
    ]
