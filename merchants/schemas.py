"""Merchant domain request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MOBILE_PATTERN = r"^1[3-9]\d{9}$"


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
