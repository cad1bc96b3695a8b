"""Locust users for the nearby benchmark: `LINLI_BENCH_TARGET=nearby` or `healthz` (the trivial reference).

Closed loop (no wait time): each user sends its next request as soon as the previous one answered.
Nearby queries are random points inside the seeded area (see seed_stores.py), 3 km radius, 20 results,
one in four with a category filter.
"""

from __future__ import annotations

import math
import os
import random

from locust import FastHttpUser, constant, task

CENTRE = (31.2304, 121.4737)
HALF_SIDE_M = 28_000
CATEGORIES = ["catering", "retail", "beauty", "fitness", "pharmacy", "education", "entertainment", "services"]
TARGET = os.environ.get("LINLI_BENCH_TARGET", "nearby")


def random_point(rng: random.Random) -> tuple[float, float]:
    """A point inside the seeded lattice."""
    north, east = rng.uniform(-HALF_SIDE_M, HALF_SIDE_M), rng.uniform(-HALF_SIDE_M, HALF_SIDE_M)
    lat = CENTRE[0] + north / 111_320
    return lat, CENTRE[1] + east / (111_320 * math.cos(math.radians(lat)))


class Customer(FastHttpUser):
    """A mini-program user browsing stores nearby (or the reference endpoint)."""

    wait_time = constant(0)
    rng = random.Random(11)

    @task
    def request(self) -> None:
        """One request of the chosen target."""
        if TARGET == "healthz":
            self.client.get("/healthz", name="healthz")
            return
        lat, lng = random_point(self.rng)
        params = f"lat={lat:.6f}&lng={lng:.6f}&radius_m=3000&limit=20"
        if self.rng.random() < 0.25:
            params += f"&category={self.rng.choice(CATEGORIES)}"
        self.client.get(f"/mp/v1/stores/nearby?{params}", name="nearby")
