"""The `/mp/v1` router: every customer-facing area, included explicitly."""

from __future__ import annotations

from fastapi import APIRouter

from miniprogram_api import auth, benefits, campaigns, points, profile, vouchers
from miniprogram_api.billpay import router_member as billpay

router = APIRouter()
router.include_router(auth.router)
router.include_router(profile.router)
router.include_router(points.router)
router.include_router(benefits.router)
router.include_router(vouchers.router)
router.include_router(campaigns.router)
router.include_router(billpay.router)
