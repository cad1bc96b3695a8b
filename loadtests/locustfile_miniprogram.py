"""Locust users for the mini-program benchmark (driven by `loadtests/bench_miniprogram.py`).

`BILLPAY_SEED` names the seeded JSON (member tokens, the biller and accounts, grid locations);
`BILLPAY_SCENARIO` picks what every user does in a closed loop: `healthz` (the trivial reference),
`home` (`GET /mp/v1/home` from near a random grid's branch), `create` (a bill order as in
`locustfile_billpay`).
"""

from __future__ import annotations

import random

from locust import task

from loadtests import locustfile_billpay as billpay  # a module: locust must not see its user class


class MiniProgramUser(billpay.BillPayUser):
    """One mini-program client; each request runs as a random seeded member."""

    @task
    def request(self) -> None:
        """One request of the chosen scenario."""
        if billpay.SCENARIO != "home":
            super().request()
            return
        lat, lng = random.choice(billpay.SEED["locations"])
        self.client.get(
            "/mp/v1/home",
            params={"lat": round(lat + random.uniform(-0.01, 0.01), 6), "lng": round(lng, 6)},
            headers=self._headers(),
            name="GET /mp/v1/home",
        )
