"""Identity providers: exchange a mini-program login code (or phone code) server-side.

The client never tells us who it is: it sends a one-time code, and we ask the provider.
`session_key` stays on the server and out of logs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from app.core.config import Settings, get_settings
from app.core.errors import ProblemError, ServiceUnavailable
from app.core.redis_client import get_redis


class InvalidCode(ProblemError):
    """The identity provider rejected the code."""

    status, code, title = 401, "auth.invalid_code", "Login code rejected"


@dataclass(frozen=True)
class Identity:
    """Who the provider says the user is."""

    openid: str
    unionid: str | None = None
    session_key: str | None = field(default=None, repr=False)


class IdentityProvider(Protocol):
    """Anything that turns a login code into an identity and a phone code into a phone number."""

    async def code_to_session(self, code: str) -> Identity:
        """Exchange a login code."""
        ...

    async def phone_number(self, code: str) -> str:
        """Exchange a phone-number code for the verified mainland mobile number."""
        ...


_DEV_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,48}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class DevIdentityProvider:
    """Development and tests: `dev:alice` logs in as alice; `dev:13800138000` is a phone code."""

    async def code_to_session(self, code: str) -> Identity:
        """Accept `dev:<name>`."""
        name = code.removeprefix("dev:")
        if not _DEV_NAME.match(name):
            raise InvalidCode("development codes look like dev:alice")
        digest = hashlib.sha256(name.encode()).hexdigest()[:24]
        return Identity(openid=f"dev_{digest}", session_key=secrets.token_urlsafe(16))

    async def phone_number(self, code: str) -> str:
        """Accept `dev:<mobile>`."""
        phone = code.removeprefix("dev:")
        if not _MOBILE.match(phone):
            raise InvalidCode("development phone codes look like dev:13800138000")
        return phone


class WeChatIdentityProvider:
    """WeChat mini-program: `jscode2session` and `getuserphonenumber`."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.app_id = settings.wechat_app_id
        self.secret = settings.wechat_app_secret
        self.client = client or httpx.AsyncClient(base_url=settings.wechat_api_base, timeout=5.0)

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, object]:
        try:
            response = await self.client.get(path, params=params)
            response.raise_for_status()
            data: dict[str, object] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ServiceUnavailable(
                "identity provider unreachable", code="auth.provider_unavailable"
            ) from exc
        return data

    async def code_to_session(self, code: str) -> Identity:
        """Call jscode2session."""
        data = await self._get(
            "/sns/jscode2session",
            {
                "appid": self.app_id,
                "secret": self.secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )
        if data.get("errcode") or not data.get("openid"):
            raise InvalidCode("login code rejected by WeChat")
        unionid = data.get("unionid")
        return Identity(
            openid=str(data["openid"]),
            unionid=str(unionid) if unionid else None,
            session_key=str(data.get("session_key") or ""),
        )

    async def _access_token(self) -> str:
        cache_key = f"wechat:access_token:{self.app_id}"
        redis = get_redis()
        cached = await redis.get(cache_key)
        if cached:
            return cached.decode() if isinstance(cached, bytes) else str(cached)
        data = await self._get(
            "/cgi-bin/token", {"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret}
        )
        token = str(data.get("access_token") or "")
        if not token:
            raise ServiceUnavailable(
                "identity provider refused credentials", code="auth.provider_unavailable"
            )
        expires = int(str(data.get("expires_in") or 7200))
        await redis.set(cache_key, token, ex=max(60, expires - 300))
        return token

    async def phone_number(self, code: str) -> str:
        """Call getuserphonenumber with the app's access token."""
        token = await self._access_token()
        try:
            response = await self.client.post(
                "/wxa/business/getuserphonenumber", params={"access_token": token}, json={"code": code}
            )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ServiceUnavailable(
                "identity provider unreachable", code="auth.provider_unavailable"
            ) from exc
        info = data.get("phone_info") or {}
        phone = str(info.get("purePhoneNumber") or "")
        if data.get("errcode") or not _MOBILE.match(phone):
            raise InvalidCode("phone code rejected by WeChat")
        return phone


class WeChatMessenger:
    """WeChat mini-program subscription messages (`subscribeMessage.send`) with the app's access token."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.wechat = WeChatIdentityProvider(settings, client)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.wechat.client.aclose()

    async def send(self, openid: str, template_id: str, data: dict[str, str], page: str = "") -> int:
        """Send one subscription message; WeChat's `errcode` (0 when delivered).

        An expired access token is forgotten so the next try fetches a new one; an unreachable WeChat
        raises `ServiceUnavailable` (the caller retries).
        """
        token = await self.wechat._access_token()
        body: dict[str, object] = {
            "touser": openid,
            "template_id": template_id,
            "data": {name: {"value": value} for name, value in data.items()},
        }
        if page:
            body["page"] = page
        try:
            response = await self.wechat.client.post(
                "/cgi-bin/message/subscribe/send", params={"access_token": token}, json=body
            )
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ServiceUnavailable("WeChat unreachable", code="wechat.unavailable") from exc
        errcode = int(answer.get("errcode") or 0)
        if errcode in ACCESS_TOKEN_EXPIRED:
            await get_redis().delete(f"wechat:access_token:{self.wechat.app_id}")
        return errcode


# WeChat's errcodes for an access token that expired or was replaced (fetch a new one and try again).
ACCESS_TOKEN_EXPIRED = frozenset({40001, 40014, 42001})


def wechat_messenger() -> WeChatMessenger:
    """A subscription-message sender on the configured WeChat API base."""
    return WeChatMessenger(get_settings())


class RoutingIdentityProvider:
    """`dev:` codes go to the development provider when enabled; everything else to WeChat."""

    def __init__(self, settings: Settings) -> None:
        self.dev = DevIdentityProvider() if settings.dev_login_enabled else None
        self.wechat = WeChatIdentityProvider(settings) if settings.wechat_app_id else None

    def _pick(self, code: str) -> IdentityProvider:
        if code.startswith("dev:"):
            if self.dev is None:
                raise InvalidCode("development login is disabled")
            return self.dev
        if self.wechat is None:
            raise InvalidCode("no identity provider is configured for this code")
        return self.wechat

    async def code_to_session(self, code: str) -> Identity:
        """Exchange a login code with the matching provider."""
        return await self._pick(code).code_to_session(code)

    async def phone_number(self, code: str) -> str:
        """Exchange a phone code with the matching provider."""
        return await self._pick(code).phone_number(code)


_provider: IdentityProvider | None = None


def identity_provider() -> IdentityProvider:
    """The process's identity provider."""
    global _provider
    if _provider is None:
        _provider = RoutingIdentityProvider(get_settings())
    return _provider
