"""Shared test helpers: log in as each audience through the real API."""

from __future__ import annotations

import itertools

import httpx

from app.core.auth import operators
from app.core.auth.deps import OperatorRole
from app.core.config import get_settings
from app.core.jobs import Job
from app.core.redis_client import make_client, resolved_redis_url
from app.worker import build_worker

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def next_phone() -> str:
    """A fresh, valid mainland mobile number."""
    return f"139{next(_seq):08d}"


async def login_operator(
    client: httpx.AsyncClient, *roles: str, username: str | None = None
) -> dict[str, str]:
    """Create an operator with roles (default admin) and return its auth header."""
    username = username or f"op{next(_seq)}"
    await operators.create_operator(None, username, PASSWORD, [OperatorRole(r) for r in roles or ("admin",)])
    response = await client.post("/ops/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


async def login_member(client: httpx.AsyncClient, name: str | None = None) -> dict[str, str]:
    """Log a member in through the development identity provider."""
    response = await client.post("/mp/v1/auth/login", json={"code": f"dev:{name or f'member{next(_seq)}'}"})
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


async def signup_merchant(
    client: httpx.AsyncClient, name: str = "Corner Coffee"
) -> tuple[dict[str, str], str]:
    """Open a merchant account; returns the owner's auth header and login phone."""
    phone = next_phone()
    response = await client.post(
        "/merchant/v1/auth/signup",
        json={"business_name": name, "phone": phone, "password": PASSWORD, "owner_name": "Owner"},
    )
    assert response.status_code == 201, response.text
    return bearer(response.json()["access_token"]), phone


async def run_jobs(*extra_jobs: Job, max_jobs: int = -1) -> None:
    """Run a burst worker until the queue is empty (a real arq worker on the test Redis)."""
    worker = build_worker(
        make_client(resolved_redis_url(get_settings())),
        burst=True,
        poll_delay=0.01,
        extra_jobs=list(extra_jobs),
        with_cron=False,
    )
    worker.max_burst_jobs = max_jobs
    try:
        await worker.main()
    finally:
        await worker.close()
