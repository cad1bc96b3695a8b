"""Locust users for the loyalty benchmark (run by `bench_loyalty.py`, which seeds the data file).

`EarnUser` records sales at the till (`POST /merchant/v1/sales`) with a fresh member code each time;
`RedeemUser` redeems a different voucher each time (`POST /merchant/v1/redemptions`). Both send an
Idempotency-Key like a real till. FastHttpUser keeps the load generator's own CPU small.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from typing import Any

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from loyalty.till.codes import issue_member_code, issue_voucher_token

DATA: dict[str, Any] = json.loads(open(os.environ["LINLI_BENCH_DATA"]).read())  # noqa: SIM115
_vouchers = iter(DATA["vouchers"])
_counter = itertools.count()


class EarnUser(FastHttpUser):
    """A till recording sales for random members."""

    wait_time = constant(0)

    @task
    def sale(self) -> None:
        """One sale with a fresh member code."""
        code, _ = issue_member_code(random.choice(DATA["members"]))
        with self.client.post(
            "/merchant/v1/sales",
            json={"member_code": code, "amount_fen": random.randint(100, 20_000)},
            headers={"Authorization": DATA["staff"], "Idempotency-Key": uuid.uuid4().hex},
            name="POST /merchant/v1/sales",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code} {response.text[:200]}")


class RedeemUser(FastHttpUser):
    """A till redeeming vouchers, each one once."""

    wait_time = constant(0)

    @task
    def redeem(self) -> None:
        """One redemption of the next unused voucher."""
        voucher_id, member_id = next(_vouchers)
        token, _ = issue_voucher_token(voucher_id, member_id)
        with self.client.post(
            "/merchant/v1/redemptions",
            json={"token": token, "bill_amount_fen": 2000},
            headers={"Authorization": DATA["staff"], "Idempotency-Key": uuid.uuid4().hex},
            name="POST /merchant/v1/redemptions",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code} {response.text[:200]}")
