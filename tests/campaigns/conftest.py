"""Shared fixtures of the campaign tests."""

from __future__ import annotations

import httpx
import pytest

from tests.campaigns import support as ch


@pytest.fixture
async def team(client: httpx.AsyncClient) -> ch.Ops:
    """An author and an approver (four eyes), logged in."""
    return await ch.ops(client)
