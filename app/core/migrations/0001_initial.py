from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor_type', fields.CharField(max_length=16)),
                ('actor_id', fields.BigIntField(null=True)),
                ('action', fields.CharField(max_length=64)),
                ('target_type', fields.CharField(max_length=32)),
                ('target_id', fields.CharField(null=True, max_length=64)),
                ('before', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('after', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('request_id', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'core_audit_entry', 'app': 'core', 'indexes': [Index(fields=['target_type', 'target_id']), Index(fields=['actor_type', 'actor_id'])], 'pk_attr': 'id', 'table_description': 'An append-only record of a write: who, what, when, before and after (the database refuses edits).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuthSession',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('audience', fields.CharField(max_length=16)),
                ('principal_id', fields.BigIntField()),
                ('refresh_hash', fields.CharField(unique=True, max_length=64)),
                ('secret_enc', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'core_auth_session', 'app': 'core', 'indexes': [Index(fields=['audience', 'principal_id'])], 'pk_attr': 'id', 'table_description': 'A login session of any audience, with a rotating refresh token and short-lived access tokens.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeadJob',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job_id', fields.CharField(unique=True, max_length=128)),
                ('job_name', fields.CharField(max_length=128)),
                ('args', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('kwargs', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('tries', fields.IntField()),
                ('error', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'core_dead_job', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A job that kept failing after every retry, kept for ops to inspect and replay.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharField(max_length=191)),
                ('key', fields.CharField(max_length=255)),
                ('fingerprint', fields.CharField(max_length=64)),
                ('status_code', fields.IntField(null=True)),
                ('response_body', fields.BinaryField(null=True)),
                ('content_type', fields.CharField(null=True, max_length=64)),
                ('locked_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'core_idempotency', 'app': 'core', 'unique_together': (('scope', 'key'),), 'pk_attr': 'id', 'table_description': 'The first response to an Idempotency-Key, replayed for retries of the same request.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Operator',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('display_name', fields.CharField(default='', max_length=64)),
                ('password_hash', fields.CharField(max_length=255)),
                ('roles', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'core_operator', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A bank operator of the ops console.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job_name', fields.CharField(max_length=128)),
                ('args', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('kwargs', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('defer_seconds', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'core_outbox', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A job asked for inside a transaction, sent to the queue after commit and deleted when done.'},
            bases=['Model'],
        ),
    ]
