"""The platform always keeps an active admin: the last one cannot demote or deactivate themselves."""

from __future__ import annotations

import asyncio

import httpx

from app.core.models import Operator
from tests.core.test_errors import assert_problem
from tests.helpers import login_operator


async def _id(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return int((await client.get("/ops/v1/me", headers=headers)).json()["id"])


async def _active_admins() -> list[str]:
    return sorted(op.username for op in await Operator.filter(is_active=True) if "admin" in op.roles)


async def test_the_last_admin_cannot_demote_or_deactivate_themselves(client: httpx.AsyncClient) -> None:
    boss = await login_operator(client, "admin", "approver", username="boss")
    me = await _id(client, boss)
    for change in ({"roles": ["approver"]}, {"is_active": False}, {"roles": [], "is_active": False}):
        response = await client.patch(f"/ops/v1/operators/{me}", json=change, headers=boss)
        body = assert_problem(response, 409, "operator.last_admin")
        assert "last active admin" in body["detail"]
    # nothing changed, and the session was not ended
    assert await _active_admins() == ["boss"]
    assert (await client.get("/ops/v1/me", headers=boss)).status_code == 200
    # changes that keep the admin role are fine
    kept = await client.patch(f"/ops/v1/operators/{me}", json={"roles": ["admin", "auditor"]}, headers=boss)
    assert kept.status_code == 200 and kept.json()["roles"] == ["admin", "auditor"]


async def test_an_admin_may_step_down_while_another_remains(client: httpx.AsyncClient) -> None:
    first = await login_operator(client, username="first")
    second = await login_operator(client, username="second")
    first_id, second_id = await _id(client, first), await _id(client, second)
    stepped = await client.patch(f"/ops/v1/operators/{first_id}", json={"roles": ["auditor"]}, headers=first)
    assert stepped.status_code == 200
    assert await _active_admins() == ["second"]
    refused = await client.patch(f"/ops/v1/operators/{second_id}", json={"is_active": False}, headers=second)
    assert_problem(refused, 409, "operator.last_admin")
    # an inactive admin does not count as a remaining admin
    third = await login_operator(client, username="third")
    third_id = await _id(client, third)
    off = await client.patch(f"/ops/v1/operators/{third_id}", json={"is_active": False}, headers=second)
    assert off.status_code == 200
    refused = await client.patch(f"/ops/v1/operators/{second_id}", json={"roles": []}, headers=second)
    assert_problem(refused, 409, "operator.last_admin")
    assert await _active_admins() == ["second"]


async def test_two_admins_demoting_each_other_at_once_leave_one(client: httpx.AsyncClient) -> None:
    for round_ in range(3):
        a = await login_operator(client, username=f"a{round_}")
        b = await login_operator(client, username=f"b{round_}")
        a_id, b_id = await _id(client, a), await _id(client, b)
        # nobody else is an admin
        await Operator.filter(username__not_in=[f"a{round_}", f"b{round_}"]).update(is_active=False)
        responses = await asyncio.gather(
            client.patch(f"/ops/v1/operators/{b_id}", json={"roles": ["auditor"]}, headers=a),
            client.patch(f"/ops/v1/operators/{a_id}", json={"is_active": False}, headers=b),
        )
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        assert len(await _active_admins()) == 1
