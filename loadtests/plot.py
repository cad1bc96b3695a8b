"""Plot a flash peak second by second from the load test's request timeline (`results_timeline.csv`).

python -m loadtests.plot loadtests/out/results_timeline.csv docs/flash_peak.png
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


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def plot(timeline: Path, target: Path, title: str = "Flash peak") -> None:
    """Requests and grabs per second, and grab p50/p99 latency per second."""
    rows = [(float(r["start"]), r["name"], float(r["ms"])) for r in csv.DictReader(timeline.open())]
    t0 = min(start for start, _, _ in rows)
    per_second: dict[int, list[float]] = defaultdict(list)
    everything: dict[int, int] = defaultdict(int)
    for start, name, ms in rows:
        second = int(start - t0)
        everything[second] += 1
        if name == "grab":
            per_second[second].append(ms)
    seconds = list(range(max(everything) + 1))
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    top.plot(seconds, [everything.get(s, 0) for s in seconds], label="all requests/s")
    top.plot(seconds, [len(per_second.get(s, [])) for s in seconds], label="grabs/s")
    top.set_ylabel("requests per second")
    top.legend()
    grab_seconds = sorted(per_second)
    bottom.plot(
        grab_seconds, [statistics.median(per_second[s]) for s in grab_seconds], "o-", label="grab p50"
    )
    bottom.plot(grab_seconds, [percentile(per_second[s], 0.99) for s in grab_seconds], "o-", label="grab p99")
    bottom.set_ylabel("grab latency, ms")
    bottom.set_xlabel("seconds since the load test started (grabs by the second they were sent)")
    bottom.legend()
    fig.suptitle(f"{title}, {datetime.fromtimestamp(t0, UTC):%Y-%m-%d %H:%M} UTC")
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    plot(Path(sys.argv[1]), Path(sys.argv[2]))
