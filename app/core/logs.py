"""Structured JSON logging with request ids and masked personal data."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
trace_id_var: ContextVar[str | None] = ContextVar("trace_id", default=None)  # W3C traceparent's trace id

# Mainland mobile numbers: 1[3-9]x xxxx xxxx, not part of a longer digit run.
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
# Card or account numbers (12-19 digits) keep only the last four.
_ACCOUNT = re.compile(r"(?<!\d)\d{8,15}(\d{4})(?!\d)")

_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)


def mask_text(text: str) -> str:
    """Mask mobile numbers and long account numbers anywhere in a text."""
    text = _ACCOUNT.sub(lambda m: "****" + m.group(1), text)
    return _MOBILE.sub(r"\1****\2", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            payload["request_id"] = request_id
        trace_id = trace_id_var.get()
        if trace_id:
            payload["trace_id"] = trace_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return mask_text(json.dumps(payload, ensure_ascii=False, default=str))


class MaskingTextFormatter(logging.Formatter):
    """Human-readable lines, still masked, for local debugging."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = request_id_var.get()
        trace_id = trace_id_var.get()
        line = super().format(record)
        if request_id:
            line = f"[{request_id}{' trace ' + trace_id if trace_id else ''}] {line}"
        return mask_text(line)


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    """Install the platform's formatter on the root logger (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else MaskingTextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("tortoise", "aiosqlite", "asyncio", "multipart"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # uvicorn installs its own handlers; route them through ours so every line is masked JSON.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq", "arq.worker", "arq.jobs"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # One access line per request, Linli's (`linli.access`, with the route template and the problem
    # code): uvicorn logs access lines whenever its logger has a handler, so it gets none.
    logging.getLogger("uvicorn.access").propagate = False
    # arq reports every job and cron run at INFO (most of a quiet worker's lines): shown at DEBUG only. Job
    # failures, retries and dead jobs are Linli's own WARNING and ERROR lines.
    logging.getLogger("arq.worker").setLevel(
        logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING
    )
