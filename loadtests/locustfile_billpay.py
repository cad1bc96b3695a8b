"""Locust users for the bill-payment benchmark (driven by `loadtests/bench_billpay.py`).

`BILLPAY_SEED` names the JSON file the benchmark seeded (member tokens, the biller, accounts and their
amounts due); `BILLPAY_SCENARIO` picks what every user does in a closed loop:

- `healthz`: `GET /healthz`, the trivial reference endpoint;
- `lookup`: `POST /mp/v1/bills/lookup` for a random account;
- `create`: `POST /mp/v1/bills/orders` for a random account's amount due, with a fresh Idempotency-Key.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, task

SEED: dict[str, Any] = json.loads(Path(os.environ["BILLPAY_SEED"]).read_text())
SCENARIO = os.environ.get("BILLPAY_SCENARIO", "healthz")


class BillPayUser(FastHttpUser):
    """One mini-program client; each request runs as a random seeded member."""

    wait_time = constant(0)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {random.choice(SEED['tokens'])}"}

    @task
    def request(self) -> None:
        """One request of the chosen scenario."""
        if SCENARIO == "healthz":
            self.client.get("/healthz", name="GET /healthz")
            return
        account, amount = random.choice(SEED["accounts"])
        if SCENARIO == "lookup":
            self.client.post(
                "/mp/v1/bills/lookup",
                json={"biller_id": SEED["biller_id"], "account_no": account},
                headers=self._headers(),
                name="POST /mp/v1/bills/lookup",
            )
            return
        self.client.post(
            "/mp/v1/bills/orders",
            json={"biller_id": SEED["biller_id"], "account_no": account, "amount": amount},
            headers=self._headers() | {"Idempotency-Key": str(uuid.uuid4())},
            name="POST /mp/v1/bills/orders",
        )
