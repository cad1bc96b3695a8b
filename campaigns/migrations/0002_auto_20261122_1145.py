from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('campaigns', '0001_initial'), ('loyalty', '0001_initial'), ('merchants', '0001_initial')]

    initial = False

    operations = [
        ops.AddConstraint(
            model_name='Campaign',
            constraint=CheckConstraint(check='starts_at < ends_at', name='campaigns_campaign_window'),
        ),
        ops.AddConstraint(
            model_name='Campaign',
            constraint=CheckConstraint(check='stock >= 0 AND member_limit >= 1 AND member_day_limit >= 0', name='campaigns_campaign_limits'),
        ),
        ops.AddConstraint(
            model_name='Campaign',
            constraint=CheckConstraint(check="type <> 'flash' OR stock >= 1", name='campaigns_campaign_flash_stock'),
        ),
        ops.AddConstraint(
            model_name='Campaign',
            constraint=CheckConstraint(check='spent_count >= 0 AND spent_fen >= 0 AND (budget_count IS NULL OR spent_count <= budget_count) AND (budget_fen IS NULL OR spent_fen <= budget_fen)', name='campaigns_campaign_budget'),
        ),
        ops.AddConstraint(
            model_name='Campaign',
            constraint=CheckConstraint(check='approved_by IS NULL OR (approved_by <> created_by AND approved_by <> updated_by)', name='campaigns_campaign_four_eyes'),
        ),
        ops.AddConstraint(
            model_name='Campaign',
            constraint=CheckConstraint(check="status NOT IN ('approved', 'live', 'paused') OR approved_by IS NOT NULL", name='campaigns_campaign_approved_by'),
        ),
        ops.AlterModelOptions(
            name='CampaignStats',
            options={'table': 'campaigns_stats', 'app': 'campaigns', 'pk_attr': 'campaign_id', 'table_description': 'Grab counters of a flash campaign, copied from Redis so they outlive its keys.'},
        ),
        ops.AddConstraint(
            model_name='FlashWin',
            constraint=CheckConstraint(check='slot BETWEEN 1 AND stock', name='campaigns_flash_win_slot_range'),
        ),
        ops.AddConstraint(
            model_name='FlashWin',
            constraint=CheckConstraint(check='sequence BETWEEN 1 AND member_limit', name='campaigns_flash_win_sequence_range'),
        ),
        ops.AddConstraint(
            model_name='FlashWin',
            constraint=CheckConstraint(check='day_sequence >= 1 AND (member_day_limit = 0 OR day_sequence <= member_day_limit)', name='campaigns_flash_win_day_range'),
        ),
    ]
