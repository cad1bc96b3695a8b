"""Logging, pagination, rate limiting, idempotency retention and the WeChat identity adapter."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
import pytest

from app.core.auth.identity import InvalidCode, WeChatIdentityProvider
from app.core.config import get_settings
from app.core.errors import RateLimited
from app.core.jobs import purge_expired_idempotency_keys
from app.core.logs import JsonFormatter, mask_text, request_id_var
from app.core.models import IdempotencyRecord
from app.core.ratelimit import hit
from app.core.timeutil import business_day, business_day_bounds, utcnow
from tests.helpers import PASSWORD, login_operator


def test_log_lines_are_json_with_request_id_and_masked_numbers() -> None:
    record = logging.LogRecord("linli.test", logging.INFO, __file__, 1, "paid by %s", ("13812345678",), None)
    record.account = "6222021234567890123"
    token = request_id_var.set("req-7")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    payload = json.loads(line)
    assert payload["msg"] == "paid by 138****5678"
    assert payload["account"] == "****0123"
    assert payload["request_id"] == "req-7"
    assert "13812345678" not in line


def test_mask_text_leaves_short_numbers_alone() -> None:
    assert mask_text("order 42 costs 1999 fen") == "order 42 costs 1999 fen"


def test_business_day_is_shanghai() -> None:
    from datetime import UTC, datetime

    late_utc = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # 01:30 next day in Shanghai
    assert str(business_day(late_utc)) == "2026-11-23"
    start, end = business_day_bounds(business_day(late_utc))
    assert start == datetime(2026, 11, 22, 16, 0, tzinfo=UTC) and end - start == timedelta(days=1)


async def test_cursor_pagination_walks_every_row_once(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    for i in range(5):
        await client.post(
            "/ops/v1/operators",
            json={"username": f"page{i}", "password": PASSWORD, "roles": ["auditor"]},
            headers=admin,
        )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/ops/v1/operators", params=params, headers=admin)).json()
        assert len(page["items"]) <= 2
        seen += [op["username"] for op in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 6 and len(set(seen)) == 6
    bad = await client.get("/ops/v1/operators", params={"cursor": "%%%"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_rate_limit_per_principal_is_independent() -> None:
    for _ in range(3):
        await hit("test", "mp:1", limit=3, period=60)
    with pytest.raises(RateLimited) as raised:
        await hit("test", "mp:1", limit=3, period=60)
    assert int(raised.value.headers["Retry-After"]) >= 1
    await hit("test", "mp:2", limit=3, period=60)  # another principal still has its budget


async def test_expired_idempotency_keys_are_purged() -> None:
    now = utcnow()
    for key, expires in (("old", now - timedelta(hours=1)), ("fresh", now + timedelta(hours=23))):
        await IdempotencyRecord.create(
            scope="mp:1", key=key, fingerprint="f", locked_until=now, expires_at=expires
        )
    assert await purge_expired_idempotency_keys() == 1
    assert await IdempotencyRecord.all().values_list("key", flat=True) == ["fresh"]


def wechat(handler) -> WeChatIdentityProvider:  # type: ignore[no-untyped-def]
    settings = get_settings().model_copy(update={"wechat_app_id": "wxapp", "wechat_app_secret": "s"})
    transport = httpx.MockTransport(handler)  # WeChat is an external system: its HTTP answers are scripted
    return WeChatIdentityProvider(settings, httpx.AsyncClient(transport=transport, base_url="https://wx"))


async def test_wechat_code2session_is_exchanged_server_side() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/sns/jscode2session"
        assert request.url.params["js_code"] == "code-1" and request.url.params["appid"] == "wxapp"
        return httpx.Response(200, json={"openid": "o-123", "session_key": "sk", "unionid": "u-9"})

    identity = await wechat(handler).code_to_session("code-1")
    assert (identity.openid, identity.unionid, identity.session_key) == ("o-123", "u-9", "sk")
    assert "sk" not in repr(identity)


async def test_wechat_rejected_code() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"errcode": 40029, "errmsg": "invalid code"})

    with pytest.raises(InvalidCode):
        await wechat(handler).code_to_session("bad")


async def test_wechat_phone_number() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/token":
            return httpx.Response(200, json={"access_token": "at", "expires_in": 7200})
        assert request.url.params["access_token"] == "at"
        return httpx.Response(200, json={"errcode": 0, "phone_info": {"purePhoneNumber": "13800138000"}})

    assert await wechat(handler).phone_number("pcode") == "13800138000"
