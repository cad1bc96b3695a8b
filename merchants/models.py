"""Merchant tables: branches and their grids, grid managers, merchants, stores, staff, pending changes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


class MerchantStatus(StrEnum):
    """Onboarding lifecycle: draft → submitted → approved | rejected → active ⇄ suspended."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Category(StrEnum):
    """Business categories customers filter by."""

    CATERING = "catering"
    RETAIL = "retail"
    BEAUTY = "beauty"
    FITNESS = "fitness"
    PHARMACY = "pharmacy"
    EDUCATION = "education"
    ENTERTAINMENT = "entertainment"
    SERVICES = "services"
    OTHER = "other"


class ChangeStatus(StrEnum):
    """A pending legal-field change of an active merchant."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Branch(Model):
    """A bank outlet (GCJ-02 coordinates) and its community grid, a circle of radius_m around it."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=128)
    address = fields.CharField(max_length=255, default="")
    lat = fields.FloatField()
    lng = fields.FloatField()
    radius_m = fields.IntField(default=3000)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "merchants_branch"
        constraints = (
            CheckConstraint(
                check="lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180", name="branch_coords"
            ),
            CheckConstraint(check="radius_m > 0", name="branch_radius_positive"),
        )


class GridManager(Model):
    """An operator with the grid_manager role assigned to one grid (branch)."""

    id = fields.BigIntField(primary_key=True)
    operator_id = fields.BigIntField(db_index=True)
    branch: fields.ForeignKeyRelation[Branch] = fields.ForeignKeyField(
        "merchants.Branch", related_name="managers", on_delete=fields.CASCADE
    )
    branch_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "merchants_grid_manager"
        unique_together = (("operator_id", "branch_id"),)


class Merchant(Model):
    """A legal business of the alliance, its application data and its place in a grid."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=128)
    status = fields.CharEnumField(MerchantStatus, max_length=16, default=MerchantStatus.DRAFT)
    credit_code = fields.CharField(max_length=18, null=True, unique=True)
    category = fields.CharEnumField(Category, max_length=16, null=True)
    legal_rep_name = fields.CharField(max_length=64, default="")
    legal_rep_phone_enc = fields.TextField(null=True)
    settlement_bank = fields.CharField(max_length=64, default="")
    settlement_account_name = fields.CharField(max_length=128, default="")
    settlement_account_enc = fields.TextField(null=True)
    licence_key = fields.CharField(max_length=255, null=True)
    grid: fields.ForeignKeyNullableRelation[Branch] = fields.ForeignKeyField(
        "merchants.Branch", related_name="merchants", null=True, on_delete=fields.SET_NULL
    )
    grid_id: int | None
    grid_locked = fields.BooleanField(default=False)
    status_reason = fields.CharField(max_length=500, default="")
    filed_by_operator_id = fields.BigIntField(null=True)
    submitted_at = fields.DatetimeField(null=True)
    approved_at = fields.DatetimeField(null=True)
    last_activity_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True, db_index=True)

    class Meta:
        table = "merchants_merchant"
        indexes = (("grid_id", "status"),)


class Store(Model):
    """A physical store of a merchant: what customers find nearby and scan at the till."""

    id = fields.BigIntField(primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name="stores", on_delete=fields.RESTRICT
    )
    merchant_id: int
    name = fields.CharField(max_length=128)
    address = fields.CharField(max_length=255, default="")
    lat = fields.FloatField(null=True)
    lng = fields.FloatField(null=True)
    hours = fields.CharField(max_length=128, default="")
    description = fields.TextField(default="")
    photos: fields.Field[list[str]] = fields.JSONField(default=list)
    qr_version = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "merchants_store"
        indexes = (("merchant_id",),)
        constraints = (CheckConstraint(check="qr_version >= 0", name="store_qr_version"),)


class MerchantChange(Model):
    """Legal fields an active merchant asked to change, waiting for review while the old data serves."""

    id = fields.BigIntField(primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "merchants.Merchant", related_name="changes", on_delete=fields.RESTRICT
    )
    merchant_id: int
    status = fields.CharEnumField(ChangeStatus, max_length=16, default=ChangeStatus.PENDING)
    fields_: fields.Field[dict[str, Any]] = fields.JSONField(source_field="fields", default=dict)
    reason = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "merchants_change"
        indexes = (("merchant_id", "status"),)
        constraints = (
            UniqueConstraint(
                fields=("merchant_id",), name="merchants_change_one_pending", condition="status = 'pending'"
            ),
        )


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
