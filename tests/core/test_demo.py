"""`linli demo` seeds a city a newcomer can use at once, and a second run adds nothing."""

from __future__ import annotations

import httpx

from app.core.config import get_settings
from app.demo import MEMBERS, MERCHANTS, next_steps, seed_demo
from campaigns.models import Campaign
from loyalty.models import Member
from merchants.models import Merchant, Store


def quiet(*_: object) -> None:
    """No progress bar in tests."""


async def test_the_demo_city_is_usable_and_seeding_twice_adds_nothing(client: httpx.AsyncClient) -> None:
    first = await seed_demo(get_settings(), quiet)
    assert first.created == {
        "operators": 2,
        "grids": 3,
        "merchants": MERCHANTS,
        "members": MEMBERS,
        "benefits": 2,
        "campaigns": 6,
        "billers": 1,
    }
    again = await seed_demo(get_settings(), quiet)
    assert again.created == {} and again.flash_campaign_id == first.flash_campaign_id
    assert "nothing new" in next_steps(again)
    assert await Merchant.all().count() == MERCHANTS and await Store.all().count() == MERCHANTS
    assert await Member.all().count() == MEMBERS
    assert {c.type for c in await Campaign.all()} == {
        "flash",
        "spend_and_get",
        "multiplier",
        "checkin",
        "lucky_draw",
        "referral",
    }

    # What next_steps tells a newcomer to try works: a demo member, the nearby stores, the live sale.
    login = await client.post("/mp/v1/auth/login", json={"code": "dev:demo-10"})
    member = {"Authorization": f"Bearer {login.json()['access_token']}"}
    me = (await client.get("/mp/v1/me", headers=member)).json()
    assert me["joined_at"] and me["tier"] in ("regular", "silver", "gold")
    nearby = await client.get("/mp/v1/stores/nearby", params={"lat": 31.2235, "lng": 121.4453})
    assert nearby.status_code == 200 and nearby.json()["items"], nearby.text
    grab = await client.post(f"/mp/v1/campaigns/{first.flash_campaign_id}/grab", headers=member)
    assert grab.status_code == 200 and grab.json()["outcome"] == "won", grab.text
    admin = await client.post(
        "/ops/v1/auth/login", json={"username": "demo-admin", "password": "linli-demo-2026"}
    )
    assert admin.status_code == 200
