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
        """Send the target request once."""
        if TARGET == "trivial":
            self.client.get("/healthz", headers=self.headers, name=TARGET)
        elif TARGET == "redis":
            self.client.get(
                f"/mp/v1/campaigns/{DATA['sold_out_campaign']}/stock", headers=self.headers, name=TARGET
            )
        elif TARGET == "persist":
            token = next(_persist_tokens, None)
            if token is None:
                raise StopUser
            headers = self.headers | {"Authorization": f"Bearer {token}"}
            self._grab(DATA["persist_campaign"], headers, "won")
        else:
            campaign = DATA["won_campaign"] if TARGET == "grab_won" else DATA["sold_out_campaign"]
            self._grab(campaign, self.headers, TARGET.removeprefix("grab_"))

    def _grab(self, campaign: int, headers: dict[str, str], expected: str) -> None:
        with self.client.post(
            f"/mp/v1/campaigns/{campaign}/grab",
            headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
            name=TARGET,
            catch_response=True,
        ) as response:
            if response.status_code != 200 or response.json()["outcome"] != expected:
                response.failure(f"{response.status_code} {response.text[:80]}")
