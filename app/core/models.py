"""Core tables: operators, sessions, audit log, outbox, dead jobs and idempotency records."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Operator(Model):
    """A bank operator of the ops console."""

    id = fields.BigIntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    display_name = fields.CharField(max_length=64, default="")
    password_hash = fields.CharField(max_length=255)
    roles: fields.Field[list[str]] = fields.JSONField(default=list)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "core_operator"


class AuthSession(Model):
    """A login session of any audience, with a rotating refresh token and short-lived access tokens."""

    id = fields.UUIDField(primary_key=True)
    audience = fields.CharField(max_length=16)
    principal_id = fields.BigIntField()
    refresh_hash = fields.CharField(max_length=64, unique=True)
    previous_refresh_hash = fields.CharField(
        max_length=64, null=True, description="the refresh token the last rotation replaced"
    )
    rotated_at = fields.DatetimeField(null=True, description="when the refresh token last rotated")
    refresh_enc = fields.TextField(
        null=True, description="the current refresh token, encrypted: answered again within the grace"
    )
    secret_enc = fields.TextField(null=True)  # e.g. the WeChat session_key, encrypted
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "core_auth_session"
        indexes = (("audience", "principal_id"),)


class AuditEntry(Model):
    """An append-only record of a write: who, what, when, before and after (the database refuses edits)."""

    id = fields.BigIntField(primary_key=True)
    actor_type = fields.CharField(max_length=16)
    actor_id = fields.BigIntField(null=True)
    action = fields.CharField(max_length=64)
    target_type = fields.CharField(max_length=32)
    target_id = fields.CharField(max_length=64, null=True)
    before: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    after: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    request_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "core_audit_entry"
        indexes = (("target_type", "target_id"), ("actor_type", "actor_id"))


class OutboxMessage(Model):
    """A job asked for inside a transaction, sent to the queue after commit and deleted when done."""

    id = fields.BigIntField(primary_key=True)
    job_name = fields.CharField(max_length=128)
    args: fields.Field[list[Any]] = fields.JSONField(default=list)
    kwargs: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    defer_seconds = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "core_outbox"


class DeadJob(Model):
    """A job that kept failing after every retry, kept for ops to inspect and replay."""

    id = fields.BigIntField(primary_key=True)
    job_id = fields.CharField(max_length=128, unique=True)
    job_name = fields.CharField(max_length=128)
    args: fields.Field[list[Any]] = fields.JSONField(default=list)
    kwargs: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    tries = fields.IntField()
    error = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "core_dead_job"


class IdempotencyRecord(Model):
    """The first response to an Idempotency-Key, replayed for retries of the same request."""

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=191)
    key = fields.CharField(max_length=255)
    fingerprint = fields.CharField(max_length=64)
    status_code = fields.IntField(null=True)
    response_body = fields.BinaryField(null=True)
    content_type = fields.CharField(max_length=64, null=True)
    locked_until = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "core_idempotency"
        unique_together = (("scope", "key"),)
