"""Auth for the three audiences: login, expiry, forgery, revocation, refresh rotation, scoping."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import jwt
import pytest

from app.core.auth.sessions import LOADED_KEY, revocations
from app.core.auth.tokens import Audience, Principal, issue_access_token
from app.core.config import get_settings
from app.core.models import AuditEntry
from app.core.redis_client import get_redis
from tests.helpers import PASSWORD, bearer, login_member, login_operator, next_phone, signup_merchant


def forge(claims: dict, secret: str = "not-the-secret-but-long-enough-32b") -> str:  # noqa: S107
    return jwt.encode(claims, secret, algorithm="HS256")


# -- members -----------------------------------------------------------------------------------


async def test_member_login_creates_member_once_and_never_trusts_client_openid(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/mp/v1/auth/login", json={"code": "dev:alice", "openid": "victim"})
    second = await client.post("/mp/v1/auth/login", json={"code": "dev:alice"})
    me1 = (await client.get("/mp/v1/me", headers=bearer(first.json()["access_token"]))).json()
    me2 = (await client.get("/mp/v1/me", headers=bearer(second.json()["access_token"]))).json()
    assert me1["id"] == me2["id"]
    assert "openid" not in me1 and "session_key" not in first.text


async def test_bad_login_code(client: httpx.AsyncClient) -> None:
    response = await client.post("/mp/v1/auth/login", json={"code": "dev:bad name!"})
    assert response.status_code == 401
    assert response.json()["code"] == "auth.invalid_code"
    response = await client.post("/mp/v1/auth/login", json={"code": "wx-real-code"})
    assert response.json()["code"] == "auth.invalid_code"  # no WeChat app configured here


async def test_expired_token(client: httpx.AsyncClient) -> None:
    await login_member(client, "carol")
    token, _ = issue_access_token(Principal(Audience.MEMBER, 1, str(uuid.uuid4())), ttl=-10)
    response = await client.get("/mp/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["code"] == "auth.token_expired"


async def test_forged_token(client: httpx.AsyncClient) -> None:
    now = int(time.time())
    claims = {"iss": "linli", "aud": "mp", "sub": "1", "sid": "x", "iat": now, "exp": now + 60}
    response = await client.get("/mp/v1/me", headers=bearer(forge(claims)))
    assert response.status_code == 401
    assert response.json()["code"] == "auth.token_invalid"
    response = await client.get("/mp/v1/me", headers=bearer("garbage"))
    assert response.json()["code"] == "auth.token_invalid"


async def test_logout_revokes_access_and_refresh(client: httpx.AsyncClient) -> None:
    tokens = (await client.post("/mp/v1/auth/login", json={"code": "dev:dave"})).json()
    headers = bearer(tokens["access_token"])
    assert (await client.post("/mp/v1/auth/logout", headers=headers)).status_code == 204
    response = await client.get("/mp/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "auth.token_revoked"
    refreshed = await client.post("/mp/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401


async def test_revocation_survives_redis_loss(client: httpx.AsyncClient) -> None:
    tokens = (await client.post("/mp/v1/auth/login", json={"code": "dev:erin"})).json()
    headers = bearer(tokens["access_token"])
    await client.post("/mp/v1/auth/logout", headers=headers)
    await get_redis().flushdb()
    revocations.revoked.clear()  # another process: no local memory of the revocation
    response = await client.get("/mp/v1/me", headers=headers)
    assert response.json()["code"] == "auth.token_revoked"
    assert await get_redis().exists(LOADED_KEY)  # rebuilt from the database


async def test_refresh_rotates_and_reuse_kills_the_session(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "refresh_grace_seconds", 0)  # any replay is after the grace
    tokens = (await client.post("/mp/v1/auth/login", json={"code": "dev:frank"})).json()
    rotated = await client.post("/mp/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert (await client.get("/mp/v1/me", headers=bearer(new["access_token"]))).status_code == 200
    # The old refresh token is replayed (stolen): the whole session dies.
    replay = await client.post("/mp/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.json()["code"] == "auth.token_revoked"
    assert (await client.get("/mp/v1/me", headers=bearer(new["access_token"]))).status_code == 401


async def test_two_parallel_refreshes_of_one_client_keep_its_session(client: httpx.AsyncClient) -> None:
    tokens = (await client.post("/mp/v1/auth/login", json={"code": "dev:grace"})).json()
    body = {"refresh_token": tokens["refresh_token"]}
    first, second = await asyncio.gather(
        client.post("/mp/v1/auth/refresh", json=body), client.post("/mp/v1/auth/refresh", json=body)
    )
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    # Both got the one new refresh token, which goes on working; both access tokens work.
    assert first.json()["refresh_token"] == second.json()["refresh_token"] != tokens["refresh_token"]
    for answer in (first, second):
        assert (
            await client.get("/mp/v1/me", headers=bearer(answer.json()["access_token"]))
        ).status_code == 200
    again = await client.post("/mp/v1/auth/refresh", json={"refresh_token": first.json()["refresh_token"]})
    assert again.status_code == 200, again.text


# -- merchant staff ----------------------------------------------------------------------------


async def test_staff_login_and_wrong_password(client: httpx.AsyncClient) -> None:
    _, phone = await signup_merchant(client)
    ok = await client.post("/merchant/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    assert ok.status_code == 200
    bad = await client.post("/merchant/v1/auth/login", json={"phone": phone, "password": "wrong-password"})
    assert bad.status_code == 401 and bad.json()["code"] == "auth.bad_credentials"


async def test_staff_of_one_merchant_never_see_another(client: httpx.AsyncClient) -> None:
    owner_a, _ = await signup_merchant(client, "A")
    owner_b, _ = await signup_merchant(client, "B")
    invited = await client.post(
        "/merchant/v1/staff",
        json={"phone": next_phone(), "name": "Cashier B", "role": "cashier", "password": PASSWORD},
        headers=owner_b,
    )
    b_staff_id = invited.json()["id"]
    assert (await client.get(f"/merchant/v1/staff/{b_staff_id}", headers=owner_b)).status_code == 200
    foreign = await client.get(f"/merchant/v1/staff/{b_staff_id}", headers=owner_a)
    assert foreign.status_code == 404 and foreign.json()["code"] == "staff.not_found"
    assert (await client.delete(f"/merchant/v1/staff/{b_staff_id}", headers=owner_a)).status_code == 404
    listed = (await client.get("/merchant/v1/staff", headers=owner_a)).json()["items"]
    assert [s["name"] for s in listed] == ["Owner"]
    assert all("****" in s["phone"] for s in listed)


async def test_only_owner_manages_staff_and_removal_revokes(client: httpx.AsyncClient) -> None:
    owner, _ = await signup_merchant(client)
    phone = next_phone()
    created = await client.post(
        "/merchant/v1/staff",
        json={"phone": phone, "name": "Cashier", "role": "cashier", "password": PASSWORD},
        headers=owner,
    )
    cashier_login = await client.post("/merchant/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    cashier = bearer(cashier_login.json()["access_token"])
    denied = await client.post(
        "/merchant/v1/staff",
        json={"phone": next_phone(), "role": "cashier", "password": PASSWORD},
        headers=cashier,
    )
    assert denied.status_code == 403
    assert (
        await client.delete(f"/merchant/v1/staff/{created.json()['id']}", headers=owner)
    ).status_code == 204
    after = await client.get("/merchant/v1/me", headers=cashier)
    assert after.status_code == 401 and after.json()["code"] == "auth.token_revoked"
    relogin = await client.post("/merchant/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    assert relogin.status_code == 401


async def test_staff_token_without_merchant_claim_is_refused(client: httpx.AsyncClient) -> None:
    token, _ = issue_access_token(Principal(Audience.STAFF, 1, str(uuid.uuid4())))
    response = await client.get("/merchant/v1/me", headers=bearer(token))
    assert response.status_code == 401


# -- operators -----------------------------------------------------------------------------------


async def test_ops_denies_by_default_and_checks_roles(client: httpx.AsyncClient) -> None:
    auditor = await login_operator(client, "auditor")
    assert (await client.get("/ops/v1/audit", headers=auditor)).status_code == 200
    assert (await client.get("/ops/v1/operators", headers=auditor)).status_code == 403
    assert (await client.get("/ops/v1/me", headers=auditor)).status_code == 200
    assert (await client.get("/ops/v1/operators")).status_code == 401


async def test_every_ops_route_denies_an_operator_without_roles(app, client: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    await login_operator(client)  # operator id 1 exists
    token, _ = issue_access_token(Principal(Audience.OPERATOR, 1, str(uuid.uuid4()), roles=()))
    open_to_all = {"/ops/v1/me", "/ops/v1/auth/logout", "/ops/v1/me/password"}
    public = {"/ops/v1/auth/login", "/ops/v1/auth/refresh"}
    paths = app.openapi()["paths"]
    checked = 0
    for path, operations in paths.items():
        if not path.startswith("/ops/v1/") or path in open_to_all | public:
            continue
        url = path.replace("{", "").replace("}", "")
        for method in operations:
            url_with_ids = "/".join("1" if part.endswith("_id") else part for part in url.split("/"))
            response = await client.request(method.upper(), url_with_ids, headers=bearer(token), json={})
            assert response.status_code == 403, (method, path, response.text)
            checked += 1
    assert checked >= 5


async def test_ops_route_without_declared_roles_is_denied_even_to_admin() -> None:
    from fastapi import APIRouter, Depends

    from app.core.auth.deps import ops_guard
    from app.main import create_app

    app = create_app(manage_resources=False)
    guarded = APIRouter(prefix="/ops/v1", dependencies=[Depends(ops_guard)])

    @guarded.get("/forgotten")
    async def forgotten() -> dict[str, str]:
        return {"secret": "data"}

    app.include_router(guarded)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        admin = await login_operator(c)
        response = await c.get("/ops/v1/forgotten", headers=admin)
    assert response.status_code == 403


async def test_operator_role_change_and_password_change_end_sessions(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    target = await login_operator(client, "campaign_manager", username="cm1")
    me = (await client.get("/ops/v1/me", headers=target)).json()
    patch = await client.patch(f"/ops/v1/operators/{me['id']}", json={"roles": ["auditor"]}, headers=admin)
    assert patch.status_code == 200 and patch.json()["roles"] == ["auditor"]
    assert (await client.get("/ops/v1/me", headers=target)).status_code == 401
    relog = await client.post("/ops/v1/auth/login", json={"username": "cm1", "password": PASSWORD})
    fresh = bearer(relog.json()["access_token"])
    changed = await client.post(
        "/ops/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "another-long-pass"},
        headers=fresh,
    )
    assert changed.status_code == 204
    assert (await client.get("/ops/v1/me", headers=fresh)).status_code == 401


async def test_ops_writes_are_audited_and_the_log_is_append_only(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    await client.post(
        "/ops/v1/operators",
        json={"username": "aud1", "password": PASSWORD, "roles": ["auditor"]},
        headers=admin,
    )
    auditor = bearer(
        (await client.post("/ops/v1/auth/login", json={"username": "aud1", "password": PASSWORD})).json()[
            "access_token"
        ]
    )
    entries = (await client.get("/ops/v1/audit?action=operator.create", headers=auditor)).json()["items"]
    created = [e for e in entries if e["after"]["username"] == "aud1"]
    assert created and created[0]["actor_type"] == "ops" and created[0]["request_id"]
    entry = await AuditEntry.get(id=created[0]["id"])
    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.filter(id=entry.id).update(action="tampered")
    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.filter(id=entry.id).delete()


async def test_dev_login_can_be_disabled() -> None:
    from app.core.auth.identity import InvalidCode, RoutingIdentityProvider

    settings = get_settings().model_copy(update={"dev_login": False})
    with pytest.raises(InvalidCode):
        await RoutingIdentityProvider(settings).code_to_session("dev:mallory")
