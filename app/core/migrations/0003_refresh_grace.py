from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0002_audit_append_only')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AuthSession',
            name='previous_refresh_hash',
            field=fields.CharField(null=True, description='the refresh token the last rotation replaced', max_length=64),
        ),
        ops.AddField(
            model_name='AuthSession',
            name='refresh_enc',
            field=fields.TextField(null=True, description='the current refresh token, encrypted: answered again within the grace', unique=False),
        ),
        ops.AddField(
            model_name='AuthSession',
            name='rotated_at',
            field=fields.DatetimeField(null=True, description='when the refresh token last rotated', auto_now=False, auto_now_add=False),
        ),
    ]
