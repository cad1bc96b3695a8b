"""Merchant domain request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from app.core.inputs import Id, Patch
from merchants.models import Category
from merchants.validation import CHINA_LAT, CHINA_LNG, credit_code_problem

MOBILE_PATTERN = r"^1[3-9]\d{9}$"
ACCOUNT_PATTERN = r"^\d{8,32}$"


def Lat(default: Any = ..., description: str = "GCJ-02 latitude") -> Any:
    """A GCJ-02 latitude field (inside China)."""
    return Field(default, ge=CHINA_LAT[0], le=CHINA_LAT[1], description=description)


def Lng(default: Any = ..., description: str = "GCJ-02 longitude") -> Any:
    """A GCJ-02 longitude field (inside China)."""
    return Field(default, ge=CHINA_LNG[0], le=CHINA_LNG[1], description=description)


class StaffLoginIn(BaseModel):
    """Staff login with mobile number and password."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"phone": "13800138000", "password": "a-long-passphrase"}}
    )

    phone: str = Field(pattern=MOBILE_PATTERN, description="mainland mobile number")
    password: str = Field(min_length=1, max_length=128)


class MerchantSignupIn(BaseModel):
    """Open a merchant account: the owner's login and the business name (the application follows)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "business_name": "Corner Coffee",
                "phone": "13800138000",
                "password": "a-long-passphrase",
                "owner_name": "Wang Fang",
            }
        }
    )

    business_name: str = Field(min_length=1, max_length=128)
    owner_name: str = Field("", max_length=64)
    phone: str = Field(pattern=MOBILE_PATTERN, description="owner's mainland mobile number, the login")
    password: str = Field(min_length=8, max_length=128)


class StaffInviteIn(BaseModel):
    """Add a manager or cashier."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "phone": "13900139000",
                "name": "Li Lei",
                "role": "cashier",
                "password": "initial-passphrase",
            }
        }
    )

    phone: str = Field(pattern=MOBILE_PATTERN)
    name: str = Field("", max_length=64)
    role: Literal["manager", "cashier"]
    password: str = Field(min_length=8, max_length=128, description="initial password, to be changed")


class StaffOut(BaseModel):
    """A staff member; the phone is masked."""

    id: int
    name: str
    role: str
    phone: str | None = Field(description="masked, e.g. 138****8000")
    is_active: bool
    created_at: datetime


class MeOut(BaseModel):
    """The calling staff member and their merchant."""

    staff: StaffOut
    merchant_id: int
    merchant_name: str
    merchant_status: str


# -- application -------------------------------------------------------------------------------

APPLICATION_EXAMPLE: dict[str, Any] = {
    "name": "Corner Coffee",
    "credit_code": "91350100M000100Y43",
    "category": "catering",
    "legal_rep_name": "Wang Fang",
    "legal_rep_phone": "13800138000",
    "settlement_bank": "Linli City Commercial Bank",
    "settlement_account_name": "Corner Coffee Ltd",
    "settlement_account": "6222020200112233445",
    "store_address": "12 Harbour Road",
    "lat": 31.2304,
    "lng": 121.4737,
    "hours": "Mon-Sun 07:30-21:00",
    "description": "Espresso and pastries",
    "photos": ["https://img.example.com/coffee.jpg"],
}


class ApplicationIn(Patch):
    """Application or profile fields to set; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": APPLICATION_EXAMPLE})

    name: str | None = Field(None, min_length=1, max_length=128, description="business name (legal)")
    credit_code: str | None = Field(
        None, description="unified social credit code, 18 characters with GB 32100-2015 check character"
    )
    category: Category | None = None
    legal_rep_name: str | None = Field(None, min_length=1, max_length=64)
    legal_rep_phone: str | None = Field(
        None, pattern=MOBILE_PATTERN, description="legal representative's mainland mobile, the contact phone"
    )
    settlement_bank: str | None = Field(None, min_length=1, max_length=64)
    settlement_account_name: str | None = Field(None, min_length=1, max_length=128)
    settlement_account: str | None = Field(None, pattern=ACCOUNT_PATTERN, description="8-32 digits")
    store_address: str | None = Field(None, min_length=1, max_length=255)
    lat: float | None = Lat(None)
    lng: float | None = Lng(None)
    hours: str | None = Field(None, min_length=1, max_length=128, description="opening hours")
    description: str | None = Field(None, max_length=2000)
    photos: list[HttpUrl] | None = Field(None, max_length=9)

    @field_validator("credit_code", mode="before")
    @classmethod
    def _normalise_code(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("credit_code")
    @classmethod
    def _check_code(cls, value: str | None) -> str | None:
        if value is not None and (problem := credit_code_problem(value)):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _coordinates_together(self) -> ApplicationIn:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("lat and lng are set together")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the caller set, as plain values."""
        return self.model_dump(exclude_unset=True, exclude_none=True, mode="json")


class OpsApplicationIn(ApplicationIn):
    """An account manager signs a merchant up: the owner's login plus the application fields."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "owner_name": "Wang Fang",
                "owner_phone": "13800138000",
                "owner_password": "initial-passphrase",
                **APPLICATION_EXAMPLE,
            }
        },
    )

    name: str = Field(min_length=1, max_length=128, description="business name")
    owner_name: str = Field("", max_length=64)
    owner_phone: str = Field(pattern=MOBILE_PATTERN, description="the owner's console login")
    owner_password: str = Field(min_length=8, max_length=128, description="initial password, to be changed")

    def changes(self) -> dict[str, Any]:
        """The application fields (without the owner's login)."""
        out = super().changes()
        for key in ("owner_name", "owner_phone", "owner_password"):
            out.pop(key, None)
        return out


class StoreOut(BaseModel):
    """A store as its merchant and ops see it."""

    id: int
    name: str
    address: str
    lat: float | None
    lng: float | None
    hours: str
    description: str
    photos: list[str]
    qr_issued: bool
    qr_version: int


class ChangeOut(BaseModel):
    """A legal-field change waiting for review (personal values masked)."""

    id: int
    status: str
    fields: dict[str, Any]
    reason: str
    created_at: datetime
    decided_at: datetime | None


class MerchantOut(BaseModel):
    """A merchant's application and profile; phone and account are masked except to the owner."""

    id: int
    name: str
    status: str
    status_reason: str = Field(description="rejection or suspension reason")
    credit_code: str | None
    category: str | None
    legal_rep_name: str
    legal_rep_phone: str | None
    settlement_bank: str
    settlement_account_name: str
    settlement_account: str | None
    has_licence: bool
    grid_id: int | None
    unassigned: bool = Field(description="the store lies outside every grid: ops must assign one")
    grid_locked: bool = Field(description="an operator chose the grid by hand")
    filed_by_operator_id: int | None
    submitted_at: datetime | None
    approved_at: datetime | None
    last_activity_at: datetime | None
    created_at: datetime
    stores: list[StoreOut]
    pending_change: ChangeOut | None


class ReasonIn(BaseModel):
    """A reason, shown to the merchant and kept in the audit log."""

    model_config = ConfigDict(json_schema_extra={"example": {"reason": "licence photo unreadable"}})

    reason: str = Field(min_length=1, max_length=500)


class GridOverrideIn(BaseModel):
    """Put a merchant in a grid by hand (null: back to automatic assignment)."""

    model_config = ConfigDict(json_schema_extra={"example": {"grid_id": 3}})

    grid_id: Id | None


class QrOut(BaseModel):
    """The signed payload a store's QR code encodes."""

    store_id: int
    version: int
    payload: str


# -- branches and grids ------------------------------------------------------------------------


class BranchIn(BaseModel):
    """A bank branch and its grid."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "name": "Harbour Road Branch",
                "address": "1 Harbour Road",
                "lat": 31.2304,
                "lng": 121.4737,
                "radius_m": 3000,
            }
        },
    )

    name: str = Field(min_length=1, max_length=128)
    address: str = Field("", max_length=255)
    lat: float = Lat()
    lng: float = Lng()
    radius_m: int = Field(3000, ge=100, le=50_000, description="grid radius in metres")


class BranchPatch(Patch):
    """Branch fields to change."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"radius_m": 2500}})

    name: str | None = Field(None, min_length=1, max_length=128)
    address: str | None = Field(None, max_length=255)
    lat: float | None = Lat(None)
    lng: float | None = Lng(None)
    radius_m: int | None = Field(None, ge=100, le=50_000)

    @model_validator(mode="after")
    def _coordinates_together(self) -> BranchPatch:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("lat and lng are set together")
        return self


class BranchOut(BaseModel):
    """A branch and its grid."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    address: str
    lat: float
    lng: float
    radius_m: int
    created_at: datetime


class GridManagerIn(BaseModel):
    """Assign an operator with the grid_manager role to a grid."""

    model_config = ConfigDict(json_schema_extra={"example": {"operator_id": 7}})

    operator_id: Id


class GridManagerOut(BaseModel):
    """An operator assigned to a grid."""

    operator_id: int
    username: str
    grid_id: int


class GridSummaryOut(BaseModel):
    """A grid's figures: merchants by status, stores, inactive merchants, and other domains' metrics."""

    grid: BranchOut
    merchants_by_status: dict[str, int]
    stores: int
    inactive_days: int
    inactive_merchants: int = Field(description="active merchants with no activity for inactive_days")
    last_activity_at: datetime | None
    metrics: dict[str, int] = Field(
        description="figures other domains contribute, summed over the grid's merchants: loyalty's "
        "members_joined, sales_count, sales_fen, points_issued, points_redeemed, vouchers_redeemed, and "
        "last_activity_ts (Unix seconds, the latest)"
    )


class MerchantActivityOut(BaseModel):
    """One merchant's line on the grid dashboard."""

    id: int
    name: str
    status: str
    last_activity_at: datetime | None
    inactive: bool
    metrics: dict[str, int] = Field(
        description="other domains' figures for this merchant (see the grid dashboard's `metrics`)"
    )


class MerchantBriefOut(BaseModel):
    """A merchant in a review or grid list."""

    id: int
    name: str
    status: str
    category: str | None
    credit_code: str | None
    grid_id: int | None
    unassigned: bool
    submitted_at: datetime | None
    last_activity_at: datetime | None
    created_at: datetime


# -- customers ---------------------------------------------------------------------------------


class StoreNearbyOut(BaseModel):
    """A store found nearby, with its distance from the customer."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 12,
                "merchant_id": 9,
                "name": "Corner Coffee",
                "category": "catering",
                "address": "12 Harbour Road",
                "lat": 31.2304,
                "lng": 121.4737,
                "hours": "Mon-Sun 07:30-21:00",
                "photo": "https://img.example.com/coffee.jpg",
                "distance_m": 140,
            }
        }
    )

    id: int
    merchant_id: int
    name: str
    category: str | None
    address: str
    lat: float
    lng: float
    hours: str
    photo: str | None
    distance_m: int | None = Field(description="metres from the given point (null without one)")


class StoreDetailOut(StoreNearbyOut):
    """A store's public profile."""

    description: str
    photos: list[str]


class ScanIn(BaseModel):
    """A scanned store QR payload."""

    model_config = ConfigDict(json_schema_extra={"example": {"payload": "LS1.12.1.Xk3c0aQd9vPq1sT5uW7yZa"}})

    payload: str = Field(min_length=1, max_length=256)
