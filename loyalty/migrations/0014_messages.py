from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.models import DeliveryStatus, MessageKind, PushStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('loyalty', '0013_day_figure_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Message',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='FLASH_REMINDER: flash_reminder\nPOINTS_EXPIRING: points_expiring\nVOUCHER_EXPIRING: voucher_expiring\nCAMPAIGN_NEARBY: campaign_nearby\nBILL_REMINDER: bill_reminder\nBILL_PAID: bill_paid\nBILL_REFUNDED: bill_refunded\nREFERRAL_REWARD: referral_reward\nBROADCAST: broadcast', enum_type=MessageKind, max_length=32)),
                ('dedupe_key', fields.CharField(unique=True, description='the event, sent once', max_length=191)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'loyalty_message', 'app': 'loyalty', 'pk_attr': 'id', 'table_description': "One message event (a trigger's occurrence or a broadcast), delivered to one or more members."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MessageDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message', fields.ForeignKeyField('loyalty.Message', source_field='message_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='FLASH_REMINDER: flash_reminder\nPOINTS_EXPIRING: points_expiring\nVOUCHER_EXPIRING: voucher_expiring\nCAMPAIGN_NEARBY: campaign_nearby\nBILL_REMINDER: bill_reminder\nBILL_PAID: bill_paid\nBILL_REFUNDED: bill_refunded\nREFERRAL_REWARD: referral_reward\nBROADCAST: broadcast', enum_type=MessageKind, max_length=32)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: pending\nSENT: sent\nSUPPRESSED: suppressed', enum_type=DeliveryStatus, max_length=16)),
                ('reason', fields.CharField(null=True, description='why it was suppressed or waits', max_length=32)),
                ('title', fields.CharField(max_length=128)),
                ('body', fields.TextField(unique=False)),
                ('variables', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('channel', fields.CharField(null=True, description='the outside channel, if any', max_length=16)),
                ('push_status', fields.CharEnumField(null=True, description='QUEUED: queued\nSENT: sent\nSUPPRESSED: suppressed\nFAILED: failed', enum_type=PushStatus, max_length=16)),
                ('push_reason', fields.CharField(null=True, max_length=64)),
                ('subscription_id', fields.BigIntField(null=True, description='the WeChat subscription it used')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'loyalty_message_delivery', 'app': 'loyalty', 'unique_together': (('message', 'member'),), 'indexes': [Index(fields=['member_id', 'status', 'id']), Index(fields=['member_id', 'sent_at']), Index(fields=['status', 'reason'])], 'pk_attr': 'id', 'table_description': 'A message to one member: at most one per (message, member), its inbox entry once sent.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MessageOptOut',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='message_opt_outs', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='FLASH_REMINDER: flash_reminder\nPOINTS_EXPIRING: points_expiring\nVOUCHER_EXPIRING: voucher_expiring\nCAMPAIGN_NEARBY: campaign_nearby\nBILL_REMINDER: bill_reminder\nBILL_PAID: bill_paid\nBILL_REFUNDED: bill_refunded\nREFERRAL_REWARD: referral_reward\nBROADCAST: broadcast', enum_type=MessageKind, max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'loyalty_message_opt_out', 'app': 'loyalty', 'unique_together': (('member', 'kind'),), 'pk_attr': 'id', 'table_description': 'A kind of message one member does not want.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WechatSubscription',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='wechat_subscriptions', on_delete=OnDelete.CASCADE)),
                ('template_id', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'loyalty_wechat_subscription', 'app': 'loyalty', 'indexes': [Index(fields=['member_id', 'template_id', 'used_at'])], 'pk_attr': 'id', 'table_description': 'One accepted one-time WeChat subscription (requestSubscribeMessage), used at most once.'},
            bases=['Model'],
        ),
    ]
