"""Flash peak: members log in before the start, browse, then all press "grab" when the sale opens.

Run by `loadtests/run_flash.py` (`make loadtest`), which writes the scenario file named by
`LOADTEST_SCENARIO` (campaign id, start time) and reads the results file this writes at the end.
Each simulated member has its own client address (`X-Forwarded-For`, trusted from localhost), as
members behind their own phones would.

Browsing is a registry: other areas add their pages with `@browse(weight)` (nearby stores, home…).
The run fails (exit code 1) when more than 0.1% of requests fail or a p99 is above its threshold.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import gevent
from locust import FastHttpUser, between, events
from locust.env import Environment

SCENARIO: dict[str, Any] = json.loads(open(os.environ["LOADTEST_SCENARIO"]).read())  # noqa: SIM115
RUN = uuid.uuid4().hex[:6]
MAX_FAIL_RATIO = float(os.environ.get("LOADTEST_MAX_FAIL_RATIO", "0.001"))
P99_LIMITS_MS = {
    "grab": float(os.environ.get("LOADTEST_GRAB_P99_MS", "1500")),
    "browse": float(os.environ.get("LOADTEST_BROWSE_P99_MS", "2000")),
    "login": float(os.environ.get("LOADTEST_LOGIN_P99_MS", "3000")),
}

_numbers = itertools.count(1)
timeline: list[tuple[float, str, float]] = []  # (start time, request name, response time in ms)
outcomes: Counter[str] = Counter()
tickets: list[str] = []
grabbers: set[str] = set()

BrowseTask = Callable[["Member"], None]
BROWSE_TASKS: dict[BrowseTask, int] = {}


def browse(weight: int) -> Callable[[BrowseTask], BrowseTask]:
    """Register a browsing page with its weight among the browse tasks."""

    def register(task: BrowseTask) -> BrowseTask:
        BROWSE_TASKS[task] = weight
        return task

    return register


@browse(5)
def campaign_list(user: Member) -> None:
    """The campaigns page."""
    user.client.get("/mp/v1/campaigns", headers=user.headers, name="browse: campaigns")


@browse(2)
def stock_counter(user: Member) -> None:
    """The flash campaign's stock counter, polled by its page."""
    user.client.get(
        f"/mp/v1/campaigns/{SCENARIO['campaign_id']}/stock", headers=user.headers, name="browse: stock"
    )


def _browse_task(user: Member) -> None:
    random.choices(list(BROWSE_TASKS), weights=list(BROWSE_TASKS.values()))[0](user)


class Member(FastHttpUser):
    """A member with the mini-program open: logs in, browses, grabs once the sale opens."""

    wait_time = between(10, 30)  # a member glancing at the app, not scrolling non-stop
    tasks = [_browse_task]

    def on_start(self) -> None:
        """Log in through the development identity provider, then schedule the grab."""
        number = next(_numbers)
        self.nickname = f"load-{RUN}-{number}"
        self.headers = {"X-Forwarded-For": f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"}
        with self.client.post(
            "/mp/v1/auth/login", json={"code": f"dev:{self.nickname}"}, headers=self.headers, name="login",
            catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code != 200:
                response.failure(f"login {response.status_code}")
                self.stop()
                return
            self.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        # Everyone presses within the first second of the sale, as a crowd watching a countdown does.
        gevent.spawn_later(max(0.0, SCENARIO["starts_at"] - time.time()) + random.random(), self.grab)

    def grab(self) -> None:
        """Press grab; on 503 honour Retry-After and press again (same Idempotency-Key)."""
        key = uuid.uuid4().hex
        path = f"/mp/v1/campaigns/{SCENARIO['campaign_id']}/grab"
        wait = 0.0
        for _ in range(50):
            gevent.sleep(wait)
            with self.client.post(
                path, headers=self.headers | {"Idempotency-Key": key}, name="grab", catch_response=True
            ) as response:
                if response.status_code == 200:
                    answer = response.json()
                    if answer["outcome"] == "not_started":  # pressed a moment early: press again
                        wait = 0.1
                        continue
                    outcomes[answer["outcome"]] += 1
                    grabbers.add(self.nickname)
                    if answer["outcome"] == "won":
                        tickets.append(answer["ticket_id"])
                    return
                if response.status_code == 0:
                    # The answer was lost on the way: it counts as a failure, and the same key gets it back.
                    response.failure("grab: no answer")
                    wait = 0.2
                elif response.status_code in (429, 503):
                    response.success()  # an honest "come back in a second"
                    wait = float(response.headers.get("Retry-After", "1"))
                else:
                    response.failure(f"grab {response.status_code}")
                    return


@events.request.add_listener
def record(name: str, start_time: float, response_time: float, **_: Any) -> None:
    """Every request's start and duration, for the per-second plot of the peak."""
    timeline.append((start_time, name, response_time))


@events.quitting.add_listener
def verdict(environment: Environment, **_: Any) -> None:
    """Write the results file and set the exit code from the failure ratio and p99 thresholds."""
    stats = environment.stats
    problems = []
    if stats.total.fail_ratio > MAX_FAIL_RATIO:
        problems.append(f"failure ratio {stats.total.fail_ratio:.4%} > {MAX_FAIL_RATIO:.2%}")
    p99 = {}
    for entry in stats.entries.values():
        kind = entry.name.split(":")[0]
        p99[entry.name] = entry.get_response_time_percentile(0.99)
        limit = P99_LIMITS_MS.get(kind)
        if limit is not None and entry.num_requests and p99[entry.name] > limit:
            problems.append(f"p99 of {entry.name} {p99[entry.name]:.0f} ms > {limit:.0f} ms")
    results = {
        "outcomes": dict(outcomes),
        "tickets": tickets,
        "grabbers": len(grabbers),
        "requests": stats.total.num_requests,
        "failures": stats.total.num_failures,
        "p99_ms": p99,
        "problems": problems,
    }
    with open(os.environ["LOADTEST_RESULTS"], "w") as fh:
        json.dump(results, fh)
    with open(os.environ["LOADTEST_RESULTS"].removesuffix(".json") + "_timeline.csv", "w") as fh:
        fh.write("start,name,ms\n")
        fh.writelines(f"{start:.3f},{name},{ms:.1f}\n" for start, name, ms in timeline)
    for problem in problems:
        print(f"LOAD TEST FAILED: {problem}")
    environment.process_exit_code = 1 if problems else 0
