"""Measure nearby against /healthz in one run: locust headless, same server, same users, back to back.

    .venv/bin/python -m loadtests.nearby_bench --url http://127.0.0.1:8100 --users 50 --seconds 20 --rounds 3

Healthz and nearby alternate `--rounds` times, so a slow minute of a shared machine hits both. Prints
throughput and p50/p99 of every phase, each round's ratio nearby / healthz, and the median ratio.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent


def run_locust(url: str, target: str, users: int, seconds: int, workdir: Path) -> dict[str, float]:
    """One headless locust run; its aggregated stats."""
    prefix = workdir / target
    env = os.environ | {"LINLI_BENCH_TARGET": target}
    subprocess.run(
        [
            str(Path(sys.executable).with_name("locust")),
            "-f",
            str(HERE / "locustfile_nearby.py"),
            "--headless",
            "--host",
            url,
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=seconds + 60,
    )
    with open(f"{prefix}_stats.csv") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    return {
        "requests": float(row["Request Count"]),
        "failures": float(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]),
        "p99": float(row["99%"]),
    }


def main() -> int:
    """Warm up, then measure healthz and nearby in alternating rounds, and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8100")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="healthz and nearby alternate this many times")
    args = parser.parse_args()
    ratios, failures = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        run_locust(args.url, "nearby", args.users, 5, workdir)  # warm-up: pools, caches
        for n in range(1, args.rounds + 1):
            results = {
                t: run_locust(args.url, t, args.users, args.seconds, workdir) for t in ("healthz", "nearby")
            }
            for target, r in results.items():
                print(
                    f"round {n} {target:8s} {r['rps']:8.0f} req/s  p50 {r['p50']:5.0f} ms"
                    f"  p99 {r['p99']:5.0f} ms  requests {r['requests']:.0f}  failures {r['failures']:.0f}"
                )
            ratios.append(results["nearby"]["rps"] / results["healthz"]["rps"])
            failures += results["nearby"]["failures"] + results["healthz"]["failures"]
    print(f"nearby / healthz throughput by round: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"median: {statistics.median(ratios):.2f}")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
