"""Shared fixtures of the campaign tests."""

from __future__ import annotations

import httpx
import pytest

from app.core.config import get_settings
from tests.campaigns import support as ch


@pytest.fixture
async def team(client: httpx.AsyncClient) -> ch.Ops:
    """An author and an approver (four eyes), logged in."""
    return await ch.ops(client)


@pytest.fixture(autouse=True)
def _order_jobs_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Expiry and settlement jobs of flash orders due at once, so burst workers never wait on a deferral
    (they find nothing due yet: tests expire orders by moving the sweeper's clock)."""
    monkeypatch.setattr(get_settings(), "flash_order_jobs_deferred", False)
