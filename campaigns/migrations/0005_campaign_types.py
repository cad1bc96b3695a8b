from tortoise import migrations

from app.core.migration_ops import append_only, check_constraints, per_dialect

# Tortoise 1.1's CreateModel also leaves out named UniqueConstraints of Meta.constraints: the same
# unique indexes on both dialects (they cap payouts and draws at the member limits).
_UNIQUE = """
CREATE UNIQUE INDEX "campaigns_payout_sequence" ON "campaigns_payout" ("campaign_id", "member_id", "sequence");
CREATE UNIQUE INDEX "campaigns_payout_day_sequence"
  ON "campaigns_payout" ("campaign_id", "member_id", "business_day", "day_sequence");
CREATE UNIQUE INDEX "campaigns_draw_sequence" ON "campaigns_draw" ("campaign_id", "member_id", "sequence");
CREATE UNIQUE INDEX "campaigns_draw_day_sequence"
  ON "campaigns_draw" ("campaign_id", "member_id", "business_day", "day_sequence");
"""
_UNIQUE_REVERSE = """
DROP INDEX "campaigns_payout_sequence"; DROP INDEX "campaigns_payout_day_sequence";
DROP INDEX "campaigns_draw_sequence"; DROP INDEX "campaigns_draw_day_sequence";
"""
from tortoise.migrations import operations as ops
from campaigns.models import PayoutReason, ReferralStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('campaigns', '0004_flash_win_terms'), ('loyalty', '0007_open_lots_index'), ('merchants', '0004_auto_20261122_1144')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CampaignPayout',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('campaigns.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='payouts', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('reference', fields.CharField(unique=True, description='campaign:<id>:<what was paid>', max_length=160)),
                ('reason', fields.CharEnumField(description='SPEND: spend\nCHECKIN: checkin\nDRAW: draw\nREFERRER: referrer\nREFEREE: referee\nMULTIPLIER: multiplier', enum_type=PayoutReason, max_length=16)),
                ('kind', fields.CharField(description='voucher, points or gift', max_length=8)),
                ('points', fields.BigIntField(default=0, description='points credited (points rewards)')),
                ('voucher_id', fields.BigIntField(null=True, description='the voucher issued (voucher and gift rewards)')),
                ('cost_fen', fields.BigIntField(default=0, description='what the payout spent of the budget')),
                ('sequence', fields.IntField(description="the member's n-th payout in the campaign")),
                ('business_day', fields.DateField(description='Asia/Shanghai day of the payout')),
                ('day_sequence', fields.IntField(description="the member's n-th payout that business day")),
                ('member_limit', fields.IntField()),
                ('member_day_limit', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaigns_payout', 'app': 'campaigns', 'constraints': [UniqueConstraint(fields=('campaign_id', 'member_id', 'sequence'), name='campaigns_payout_sequence'), UniqueConstraint(fields=('campaign_id', 'member_id', 'business_day', 'day_sequence'), name='campaigns_payout_day_sequence'), CheckConstraint(check='sequence BETWEEN 1 AND member_limit', name='campaigns_payout_sequence_range'), CheckConstraint(check='day_sequence >= 1 AND (member_day_limit = 0 OR day_sequence <= member_day_limit)', name='campaigns_payout_day_range')], 'indexes': [Index(fields=['member_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A reward paid by a spend-and-get, check-in, lucky-draw or referral campaign: one per reference.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CheckIn',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('campaigns.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='checkins', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('business_day', fields.DateField(description='Asia/Shanghai day of the check-in')),
                ('streak', fields.IntField(description='consecutive days up to and including this one')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaigns_checkin', 'app': 'campaigns', 'unique_together': (('campaign', 'member', 'business_day'),), 'constraints': [CheckConstraint(check='streak >= 1', name='campaigns_checkin_streak')], 'pk_attr': 'id', 'table_description': "A member's check-in in a check-in campaign: at most one per business day."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Draw',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('campaigns.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='draws', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('reference', fields.CharField(unique=True, description='draw:<campaign>:<member>:<n>', max_length=64)),
                ('sequence', fields.IntField(description="the member's n-th draw in the campaign")),
                ('business_day', fields.DateField()),
                ('day_sequence', fields.IntField()),
                ('member_limit', fields.IntField()),
                ('member_day_limit', fields.IntField()),
                ('cost_points', fields.BigIntField(default=0)),
                ('digest', fields.CharField(description='hex HMAC-SHA256(seed, reference)', max_length=64)),
                ('roll', fields.IntField(description='first 8 bytes of the digest mod 1,000,000')),
                ('outcome', fields.CharField(description='won, no_prize or out_of_stock', max_length=16)),
                ('prize_index', fields.IntField(null=True)),
                ('prize_name', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaigns_draw', 'app': 'campaigns', 'constraints': [UniqueConstraint(fields=('campaign_id', 'member_id', 'sequence'), name='campaigns_draw_sequence'), UniqueConstraint(fields=('campaign_id', 'member_id', 'business_day', 'day_sequence'), name='campaigns_draw_day_sequence'), CheckConstraint(check='sequence BETWEEN 1 AND member_limit', name='campaigns_draw_sequence_range'), CheckConstraint(check='day_sequence >= 1 AND (member_day_limit = 0 OR day_sequence <= member_day_limit)', name='campaigns_draw_day_range'), CheckConstraint(check='roll >= 0 AND roll < 1000000', name='campaigns_draw_roll')], 'indexes': [Index(fields=['campaign_id', 'member_id'])], 'pk_attr': 'id', 'table_description': 'One lucky draw: its reference, the HMAC of the seed over it, the roll and the outcome (append-only).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DrawPrize',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('campaigns.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='prizes', on_delete=OnDelete.RESTRICT)),
                ('prize_index', fields.IntField(description="index of the prize in the campaign's configuration")),
                ('name', fields.CharField(max_length=64)),
                ('stock', fields.IntField()),
                ('stock_left', fields.IntField()),
            ],
            options={'table': 'campaigns_draw_prize', 'app': 'campaigns', 'unique_together': (('campaign', 'prize_index'),), 'constraints': [CheckConstraint(check='stock_left >= 0 AND stock_left <= stock', name='campaigns_draw_prize_left')], 'pk_attr': 'id', 'table_description': "A lucky-draw prize's stock: taken by a conditional decrement, never below zero."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Referral',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('campaigns.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='referrals', on_delete=OnDelete.RESTRICT)),
                ('referrer', fields.ForeignKeyField('loyalty.Member', source_field='referrer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('referee', fields.OneToOneField('loyalty.Member', source_field='referee_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=ReferralStatus.PENDING, description='PENDING: pending\nREWARDED: rewarded', enum_type=ReferralStatus, max_length=16)),
                ('sale_id', fields.BigIntField(null=True, description="the referee's first qualifying sale")),
                ('accepted_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('rewarded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'campaigns_referral', 'app': 'campaigns', 'constraints': [CheckConstraint(check='referrer_id <> referee_id', name='campaigns_referral_not_self'), CheckConstraint(check="(status = 'rewarded') = (sale_id IS NOT NULL AND rewarded_at IS NOT NULL)", name='campaigns_referral_rewarded')], 'indexes': [Index(fields=['referrer_id', 'id'])], 'pk_attr': 'id', 'table_description': "A referee who entered a referrer's code: once per referee, never oneself."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReferralCode',
            fields=[
                ('member', fields.OneToOneField('loyalty.Member', source_field='member_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(unique=True, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaigns_referral_code', 'app': 'campaigns', 'pk_attr': 'member_id', 'table_description': "A member's referral code (one per member, created on first use)."},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='ReferralCode',
            options={'table': 'campaigns_referral_code', 'app': 'campaigns', 'pk_attr': 'member_id', 'table_description': "A member's referral code (one per member, created on first use)."},
        ),
        # Tortoise 1.1's CreateModel leaves CHECK constraints out; draws are the lucky draw's audit trail.
        check_constraints("campaigns", "CampaignPayout", "CheckIn", "Draw", "DrawPrize", "Referral"),
        append_only("campaigns_draw"),
        per_dialect(postgres=_UNIQUE, sqlite=_UNIQUE, reverse_postgres=_UNIQUE_REVERSE, reverse_sqlite=_UNIQUE_REVERSE),
    ]
