"""Customer-facing bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.inputs import Id
from loyalty.schemas import PointsSummaryOut
from merchants.schemas import StoreNearbyOut


class LoginIn(BaseModel):
    """A one-time mini-program login code (`wx.login()`); never an openid."""

    model_config = ConfigDict(json_schema_extra={"example": {"code": "0a3Xk…"}})

    code: str = Field(
        min_length=1, max_length=128, description="login code from wx.login(); `dev:<name>` in development"
    )


class CampaignCardOut(BaseModel):
    """A campaign as a card on the home screen (open it with `GET /campaigns/{id}`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 7,
                "type": "flash",
                "status": "approved",
                "name": "Friday 10:00 coffee drop",
                "banner_url": "https://img.example.com/drop.png",
                "starts_at": "2026-11-27T02:00:00Z",
                "ends_at": "2026-11-27T04:00:00Z",
            }
        }
    )

    id: int
    type: str = Field(description="flash, spend_and_get, multiplier, checkin, lucky_draw or referral")
    status: str = Field(description="approved (scheduled) or live")
    name: str
    banner_url: str
    starts_at: datetime
    ends_at: datetime


class HomeMemberOut(BaseModel):
    """Who is looking at the home screen."""

    id: int
    nickname: str
    tier: str = Field(description="regular, silver or gold")
    joined: bool = Field(description="whether the member has joined the alliance")


class HomeCampaignsOut(BaseModel):
    """Campaigns for the member where they are."""

    live: list[CampaignCardOut] = Field(description="running now, soonest ending first by start")
    upcoming: list[CampaignCardOut] = Field(description="approved and about to start, soonest first")


class HomeOut(BaseModel):
    """Everything the mini-program home screen needs, in one call."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "member": {"id": 42, "nickname": "Alice", "tier": "silver", "joined": True},
                "points": {
                    "balance": 1520,
                    "tier": "silver",
                    "earned_12_months": 5200,
                    "next_tier": "gold",
                    "points_to_next_tier": 14800,
                    "next_expiry": {"last_day": "2027-03-31", "points": 120},
                },
                "grid_id": 3,
                "campaigns": {
                    "live": [
                        {
                            "id": 7,
                            "type": "multiplier",
                            "status": "live",
                            "name": "Double points at Harbour Road",
                            "banner_url": "https://img.example.com/double.png",
                            "starts_at": "2026-11-20T00:00:00Z",
                            "ends_at": "2026-11-30T16:00:00Z",
                        }
                    ],
                    "upcoming": [
                        {
                            "id": 9,
                            "type": "flash",
                            "status": "approved",
                            "name": "Friday 10:00 coffee drop",
                            "banner_url": "https://img.example.com/drop.png",
                            "starts_at": "2026-11-27T02:00:00Z",
                            "ends_at": "2026-11-27T04:00:00Z",
                        }
                    ],
                },
                "nearby": [
                    {
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
                ],
            }
        }
    )

    member: HomeMemberOut
    points: PointsSummaryOut
    grid_id: Id | None = Field(
        description="the community grid covering the given point, null outside every grid"
    )
    campaigns: HomeCampaignsOut
    nearby: list[StoreNearbyOut] = Field(description="the nearest stores (empty without a location)")
