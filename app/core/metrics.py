"""Prometheus metrics: requests and latency per route (this process), jobs run and failed (all workers)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.core.jobs import JOB_METRICS_KEY
from app.core.redis_client import get_redis

registry = CollectorRegistry()
http_requests = Counter(
    "linli_http_requests", "HTTP requests served", ["method", "route", "status"], registry=registry
)
http_latency = Histogram(
    "linli_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=registry,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


# Routes are templates, so the label sets are few; looking a child up by labels costs more than the
# observation itself on the hot paths.
@lru_cache(maxsize=4096)
def _series(method: str, route: str, status: int) -> tuple[Any, Any]:
    return http_requests.labels(method, route, str(status)), http_latency.labels(method, route)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one served request."""
    count, latency = _series(method, route, status)
    count.inc()
    latency.observe(seconds)


async def render() -> bytes:
    """The exposition text: this process's HTTP metrics plus the shared job counters from Redis."""
    lines = [generate_latest(registry).decode()]
    counts = await get_redis().hgetall(JOB_METRICS_KEY)  # type: ignore[misc]
    if counts:
        lines.append("# HELP linli_jobs_total Jobs finished, by outcome (all workers)\n")
        lines.append("# TYPE linli_jobs_total counter\n")
        for field, value in sorted(counts.items()):
            name, _, outcome = (field.decode() if isinstance(field, bytes) else str(field)).rpartition("|")
            count = int(value)
            lines.append(f'linli_jobs_total{{job="{name}",outcome="{outcome}"}} {count}\n')
    return "".join(lines).encode()
