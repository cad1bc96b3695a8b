"""Merchant tables."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class MerchantStatus(StrEnum):
    """Onboarding lifecycle: draft → submitted → approved | rejected → active ⇄ suspended."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Merchant(Model):
    """A legal business of the alliance and its store."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=128)
    status = fields.CharEnumField(MerchantStatus, max_length=16, default=MerchantStatus.DRAFT)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "merchants_merchant"


class Staff(Model):
    """A person working for one merchant (owner, manager or cashier) who logs in with phone and password."""

    id = fields.BigIntField(primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name="staff", on_delete=fields.RESTRICT
    )
    merchant_id: int
    phone_hash = fields.CharField(max_length=64, unique=True)
    phone_enc = fields.TextField()
    name = fields.CharField(max_length=64, default="")
    role = fields.CharField(max_length=16)
    password_hash = fields.CharField(max_length=255)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "merchants_staff"
