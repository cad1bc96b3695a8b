"""A bounded schemathesis pass over every operation of a live server: no 5xx (`make fuzz` runs a larger one).

Marked `fuzz` and left out of the default run (pyproject's addopts); run it with
`.venv/bin/pytest -m fuzz tests/fuzz` (LINLI_FUZZ_EXAMPLES sets the cases per operation and mode).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from loadtests.fuzz import fuzz, live_server

pytestmark = pytest.mark.fuzz
SEED = 20261205


def test_no_operation_answers_a_server_error() -> None:
    examples = int(os.environ.get("LINLI_FUZZ_EXAMPLES", "5"))
    with tempfile.TemporaryDirectory(prefix="linli-fuzz-") as tmp, live_server(Path(tmp)) as (base, env):
        report = fuzz(base, env, examples=examples, seed=SEED)
    assert report.operations > 150
    assert report.server_errors == 0, "\n".join(report.failures)
