"""Locust users for `loadtests/bench.py`: one endpoint per run, every request with the same headers.

`BENCH_TARGET`: `trivial` (GET /healthz), `redis` (GET /mp/v1/campaigns/{id}/stock: one Redis read),
`grab_won` (grabs that win), `grab_sold_out` (grabs of a sold-out campaign) or `persist` (each member
token grabs once, then the user stops). `BENCH_RATE` > 0 paces each user at that many requests per
second (the latency comparison at equal load); 0 sends back to back (throughput).
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from typing import Any

from locust import FastHttpUser, constant, constant_throughput, task
from locust.exception import StopUser

DATA: dict[str, Any] = json.loads(open(os.environ["BENCH_DATA"]).read())  # noqa: SIM115
TARGET = os.environ["BENCH_TARGET"]
RATE = float(os.environ.get("BENCH_RATE", "0"))
_users = itertools.count()
_persist_tokens = iter(DATA.get("persist_tokens", []))


class BenchUser(FastHttpUser):
    """One connection sending one kind of request."""

    wait_time = constant_throughput(RATE) if RATE > 0 else constant(0)

    def on_start(self) -> None:
        """Pick this user's member token and client address."""
        n = next(_users)
        tokens = DATA["tokens"]
        self.headers = {
            "Authorization": f"Bearer {tokens[n % len(tokens)]}",
            "X-Forwarded-For": f"10.9.{n // 250 % 250}.{n % 250}",
        }

    @task
    def request(self) -> None:
        """Send the target request once (every target costs the client the same: key, JSON, check)."""
        key = {"Idempotency-Key": uuid.uuid4().hex}
        if TARGET == "trivial":
            self._check("GET", "/healthz", self.headers | key, "status", "ok")
        elif TARGET == "redis":
            path = f"/mp/v1/campaigns/{DATA['sold_out_campaign']}/stock"
            self._check("GET", path, self.headers | key, "left", 0)
        elif TARGET == "persist":
            token = next(_persist_tokens, None)
            if token is None:
                raise StopUser
            path = f"/mp/v1/campaigns/{DATA['persist_campaign']}/grab"
            self._check(
                "POST", path, self.headers | key | {"Authorization": f"Bearer {token}"}, "outcome", "won"
            )
        else:
            campaign = DATA["won_campaign"] if TARGET == "grab_won" else DATA["sold_out_campaign"]
            path = f"/mp/v1/campaigns/{campaign}/grab"
            self._check("POST", path, self.headers | key, "outcome", TARGET.removeprefix("grab_"))

    def _check(self, method: str, path: str, headers: dict[str, str], field: str, expected: object) -> None:
        with self.client.request(method, path, headers=headers, name=TARGET, catch_response=True) as response:
            if response.status_code != 200 or response.json().get(field) != expected:
                response.failure(f"{response.status_code} {response.text[:80]}")
