"""The `/mp/v1` router: every customer-facing area, included explicitly."""

from __future__ import annotations

from fastapi import APIRouter

from miniprogram_api import (
    auth,
    benefits,
    campaign_actions,
    campaigns,
    flash_orders,
    home,
    messages,
    points,
    profile,
    stores,
    vouchers,
)
from miniprogram_api.billpay import router_member as billpay

# Every customer-facing area, mounted under /mp/v1 by `app.main.api_routers`. FastAPI tries routers in
# this order, so the busiest areas come first: stores (nearby), home, campaigns, then the member's own pages.
ROUTERS: list[APIRouter] = [
    stores.router,
    home.router,
    campaigns.router,
    campaign_actions.router,
    flash_orders.router,
    profile.router,
    points.router,
    vouchers.router,
    benefits.router,
    billpay.router,
    messages.router,
    auth.router,
]

# How many of the first ROUTERS carry the busiest customer traffic (stores, home): `app.main` tries
# them before the till's routes.
BUSIEST_CUSTOMER_ROUTERS = 2
