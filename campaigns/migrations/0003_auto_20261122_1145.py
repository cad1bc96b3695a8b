from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('campaigns', '0002_auto_20261122_1145'), ('loyalty', '0001_initial'), ('merchants', '0001_initial')]

    initial = False

    operations = [
        ops.AddConstraint(
            model_name='AudienceMember',
            constraint=UniqueConstraint(fields=('campaign', 'member'), name=None),
        ),
        ops.AddIndex(
            model_name='Campaign',
            index=Index(fields=['status', 'starts_at']),
        ),
        ops.AddConstraint(
            model_name='Campaign',
            constraint=UniqueConstraint(fields=('id', 'stock', 'member_limit', 'member_day_limit'), name='campaigns_campaign_flash_terms'),
        ),
        ops.AddIndex(
            model_name='CampaignMerchant',
            index=Index(fields=['merchant_id']),
        ),
        ops.AddConstraint(
            model_name='CampaignMerchant',
            constraint=UniqueConstraint(fields=('campaign', 'merchant'), name=None),
        ),
        ops.AddIndex(
            model_name='FlashWin',
            index=Index(fields=['member_id', 'id']),
        ),
        ops.AddConstraint(
            model_name='FlashWin',
            constraint=UniqueConstraint(fields=('campaign_id', 'slot'), name='campaigns_flash_win_slot'),
        ),
        ops.AddConstraint(
            model_name='FlashWin',
            constraint=UniqueConstraint(fields=('campaign_id', 'member_id', 'sequence'), name='campaigns_flash_win_sequence'),
        ),
        ops.AddConstraint(
            model_name='FlashWin',
            constraint=UniqueConstraint(fields=('campaign_id', 'member_id', 'business_day', 'day_sequence'), name='campaigns_flash_win_day_sequence'),
        ),
    ]
