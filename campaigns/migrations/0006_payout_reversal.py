from tortoise import migrations
from tortoise.migrations import operations as ops
from campaigns.models import ReferralStatus
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('campaigns', '0005_campaign_types'), ('loyalty', '0009_voucher_revoked'), ('merchants', '0001_initial'), ('merchants', '0002_auto_20261122_1138'), ('merchants', '0003_constraints'), ('merchants', '0004_auto_20261122_1144')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CampaignPayout',
            name='reversed_at',
            field=fields.DatetimeField(null=True, description='when the purchase that earned it was refunded and the reward taken back', auto_now=False, auto_now_add=False),
        ),
        ops.RemoveConstraint(
            model_name='Referral',
            name='campaigns_referral_rewarded',
            fields=None,
        ),
        ops.AlterField(
            model_name='Referral',
            name='status',
            field=fields.CharEnumField(default=ReferralStatus.PENDING, description='PENDING: pending\nREWARDED: rewarded\nREVOKED: revoked', enum_type=ReferralStatus, max_length=16),
        ),
        ops.AddConstraint(
            model_name='Referral',
            constraint=CheckConstraint(check="(status IN ('rewarded', 'revoked')) = (sale_id IS NOT NULL AND rewarded_at IS NOT NULL)", name='campaigns_referral_rewarded'),
        ),
    ]
