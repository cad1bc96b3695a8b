"""One access line per request, Linli's: the route template, the status, the problem's code on errors
and the W3C trace id when the caller sent a `traceparent`; uvicorn's own access line and arq's per-job
chatter stay out of an INFO log."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from app.core.config import get_settings
from app.core.logs import JsonFormatter, configure_logging
from app.main import create_app

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
async def logged() -> httpx.AsyncClient:
    app = create_app(get_settings().model_copy(update={"access_log": True}), manage_resources=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c  # type: ignore[misc]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "linli.access"]


async def test_an_error_line_carries_the_problem_code_and_the_trace(
    logged: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}
    with caplog.at_level(logging.INFO, logger="linli.access"):
        answer = await logged.get("/mp/v1/vouchers/12", headers=headers)
    assert answer.status_code == 401
    (line,) = access_lines(caplog)
    assert line.getMessage() == f"GET /mp/v1/vouchers/{{voucher_id}} 401 {answer.json()['code']}"
    assert line.code == answer.json()["code"] and line.trace_id == TRACE  # type: ignore[attr-defined]
    assert json.loads(JsonFormatter().format(line))["trace_id"] == TRACE


async def test_a_success_line_has_no_code_and_a_malformed_traceparent_is_ignored(
    logged: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="linli.access"):
        answer = await logged.get("/healthz", headers={"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01"})
    assert answer.status_code == 200
    (line,) = access_lines(caplog)
    assert line.getMessage() == "GET /healthz 200"
    assert not hasattr(line, "code") and not hasattr(line, "trace_id")


def test_uvicorn_logs_no_second_access_line_and_arq_job_chatter_is_debug() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", json_lines=True)
        # uvicorn writes its access line only when its logger has a handler somewhere up the tree.
        assert not logging.getLogger("uvicorn.access").hasHandlers()
        assert not logging.getLogger("arq.worker").isEnabledFor(logging.INFO)
        assert logging.getLogger("arq.worker").isEnabledFor(logging.WARNING)
        assert logging.getLogger("linli.access").isEnabledFor(logging.INFO)
        configure_logging("DEBUG", json_lines=True)
        assert logging.getLogger("arq.worker").isEnabledFor(logging.INFO)  # shown when debugging
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
