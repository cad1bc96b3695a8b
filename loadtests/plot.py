"""Plot a flash peak from the load test's request timeline (`results_timeline.csv`).

    python -m loadtests.plot loadtests/out/results_timeline.csv docs/flash_peak.png

Top: requests and grabs per second over the whole run. Below, zoomed on the sale's opening in 100 ms
buckets: the grab rate (per second) and the p50/p99 latency of the grabs sent in each bucket.
"""

from __future__ import annotations

import csv
import statistics
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

BUCKET = 0.1


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def plot(timeline: Path, target: Path, title: str = "Flash peak") -> None:
    """Write the three panels to `target`."""
    rows = [(float(r["start"]), r["name"], float(r["ms"])) for r in csv.DictReader(timeline.open())]
    t0 = min(start for start, _, _ in rows)
    everything: dict[int, int] = defaultdict(int)
    grabs_per_second: dict[int, int] = defaultdict(int)
    buckets: dict[int, list[float]] = defaultdict(list)
    for start, name, ms in rows:
        everything[int(start - t0)] += 1
        if name == "grab":
            grabs_per_second[int(start - t0)] += 1
            buckets[int((start - t0) / BUCKET)].append(ms)
    seconds = list(range(max(everything) + 1))
    fig, (whole, rate, latency) = plt.subplots(3, 1, figsize=(9, 8))
    whole.plot(seconds, [everything.get(s, 0) for s in seconds], label="all requests/s")
    whole.plot(seconds, [grabs_per_second.get(s, 0) for s in seconds], label="grabs/s")
    whole.set_xlabel("seconds since the load test started")
    whole.set_ylabel("per second")
    whole.legend()
    first, last = min(buckets), max(buckets)
    zoom = list(range(first - 10, last + 11))
    xs = [b * BUCKET for b in zoom]
    rate.bar(
        xs,
        [len(buckets.get(b, [])) / BUCKET for b in zoom],
        width=BUCKET * 0.9,
        label="grabs/s (100 ms buckets)",
    )
    rate.set_ylabel("grabs per second")
    rate.legend()
    sent = [b for b in zoom if buckets.get(b)]
    latency.plot([b * BUCKET for b in sent], [statistics.median(buckets[b]) for b in sent], "o-", label="p50")
    latency.plot([b * BUCKET for b in sent], [percentile(buckets[b], 0.99) for b in sent], "o-", label="p99")
    latency.set_ylabel("grab latency, ms")
    latency.set_xlabel("seconds since the load test started (grabs by when they were sent)")
    latency.legend()
    rate.set_xlim(xs[0], xs[-1])
    latency.set_xlim(xs[0], xs[-1])
    fig.suptitle(f"{title}, {datetime.fromtimestamp(t0, UTC):%Y-%m-%d %H:%M} UTC")
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    plot(Path(sys.argv[1]), Path(sys.argv[2]))
