"""Loyalty tables."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Member(Model):
    """A bank customer in the shared member pool, known by their mini-program openid."""

    id = fields.BigIntField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True)
    unionid = fields.CharField(max_length=64, null=True)
    nickname = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_active_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "loyalty_member"
