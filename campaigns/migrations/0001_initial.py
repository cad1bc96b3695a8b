from tortoise import migrations
from tortoise.migrations import operations as ops
from campaigns.models import CampaignStatus, CampaignType, Funder
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('loyalty', '0001_initial'), ('merchants', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='BlockedMember',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.OneToOneField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('reason', fields.CharField(default='', max_length=255)),
                ('created_by', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaigns_blocked_member', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': 'A member barred from grabbing in flash campaigns (abuse).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('type', fields.CharEnumField(description='FLASH: flash\nSPEND_AND_GET: spend_and_get\nMULTIPLIER: multiplier\nCHECKIN: checkin\nLUCKY_DRAW: lucky_draw\nREFERRAL: referral', enum_type=CampaignType, max_length=16)),
                ('status', fields.CharEnumField(default=CampaignStatus.DRAFT, description='DRAFT: draft\nPENDING_APPROVAL: pending_approval\nAPPROVED: approved\nLIVE: live\nPAUSED: paused\nENDED: ended\nCANCELLED: cancelled', enum_type=CampaignStatus, max_length=20)),
                ('name', fields.CharField(max_length=128)),
                ('description', fields.TextField(default='', unique=False)),
                ('banner_url', fields.CharField(default='', max_length=512)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('funder', fields.CharEnumField(default=Funder.BANK, description='BANK: bank\nMERCHANT: merchant', enum_type=Funder, max_length=16)),
                ('funder_merchant', fields.ForeignKeyField('merchants.Merchant', source_field='funder_merchant_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('grid_ids', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('categories', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('audience', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('config', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('stock', fields.IntField(default=0, description='flash items on sale (0 for other types)')),
                ('member_limit', fields.IntField(default=1, description='rewards per member over the campaign')),
                ('member_day_limit', fields.IntField(default=0, description='rewards per member per business day, 0 = none')),
                ('budget_count', fields.BigIntField(null=True, description='rewards the budget pays for')),
                ('budget_fen', fields.BigIntField(null=True, description='money the budget holds, fen')),
                ('spent_count', fields.BigIntField(default=0)),
                ('spent_fen', fields.BigIntField(default=0)),
                ('created_by', fields.BigIntField(description='operator who created the campaign')),
                ('updated_by', fields.BigIntField(description='operator who last edited the configuration')),
                ('submitted_by', fields.BigIntField(null=True)),
                ('approved_by', fields.BigIntField(null=True)),
                ('approved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('rejection_reason', fields.CharField(default='', max_length=500)),
                ('end_reason', fields.CharField(default='', max_length=32)),
                ('draw_seed', fields.CharField(null=True, description='lucky draw seed, revealed after the end', max_length=64)),
                ('draw_commitment', fields.CharField(null=True, description='sha256 of the draw seed', max_length=64)),
                ('flash_epoch', fields.IntField(default=0, description='generation of the flash keys in Redis')),
                ('version', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'campaigns_campaign', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': 'A campaign configured by one operator and approved by another (four eyes).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AudienceMember',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('campaigns.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='audience_members', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaigns_audience_member', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': "A member on a campaign's explicit audience list (an imported segment)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CampaignMerchant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('campaigns.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='merchants', on_delete=OnDelete.CASCADE)),
                ('merchant', fields.ForeignKeyField('merchants.Merchant', source_field='merchant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'campaigns_campaign_merchant', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': 'A merchant whose stores take part in a campaign.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CampaignStats',
            fields=[
                ('campaign', fields.OneToOneField('campaigns.Campaign', source_field='campaign_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='stats', on_delete=OnDelete.CASCADE)),
                ('outcomes', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('participants', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'campaigns_stats', 'app': 'campaigns', 'pk_attr': 'campaign_id', 'table_description': 'Grab counters of a flash campaign, copied from Redis so they outlive its keys.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FlashWin',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('campaigns.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='flash_wins', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('slot', fields.IntField(description='1..stock, one per item sold')),
                ('sequence', fields.IntField(description="1..member_limit, the member's n-th win")),
                ('business_day', fields.DateField(description='Asia/Shanghai day of the grab')),
                ('day_sequence', fields.IntField(description="the member's n-th win that business day")),
                ('stock', fields.IntField(description="the campaign's stock, tied to it by a composite key")),
                ('member_limit', fields.IntField()),
                ('member_day_limit', fields.IntField()),
                ('ticket_id', fields.CharField(unique=True, max_length=64)),
                ('epoch', fields.IntField(description='generation of the Redis keys that issued the win')),
                ('won_at', fields.DatetimeField(description='Redis time of the grab', auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaigns_flash_win', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': 'A won flash grab. Slot and sequence constraints cap wins at the stock and the member limits.'},
            bases=['Model'],
        ),
    ]
