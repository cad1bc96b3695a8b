"""A stopping worker is gone within its job timeout: the watchdog that `linli worker` arms when asked to
stop ends a process whose event loop is blocked (or whose job ignores its cancellation), and never keeps
a process alive that stopped by itself. Real processes, real signals of their exit."""

from __future__ import annotations

import subprocess
import sys
import time

BLOCKED = """
import time
from app.lifecycle import exit_if_still_running
exit_if_still_running(0.5)
time.sleep(60)  # a job that blocks the event loop and never looks at its cancellation
"""
STOPPED = """
from app.lifecycle import exit_if_still_running
exit_if_still_running(60)
print("stopped by itself")
"""


def test_a_process_stuck_after_the_stop_is_ended_by_the_watchdog() -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True, timeout=50)
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 45  # not the 60 s the job would have blocked for
    assert "exiting now" in done.stderr


def test_the_watchdog_never_keeps_a_stopped_process_alive() -> None:
    done = subprocess.run([sys.executable, "-c", STOPPED], capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped by itself"
