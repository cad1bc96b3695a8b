"""`make run` smoke test: the server starts on the embedded default, answers /readyz, stops cleanly
and leaves no Redis process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_pids_for(socket_path: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "redis-server" in cmdline and str(socket_path) in cmdline:
            pids.append(int(proc.name))
    return pids


def test_serve_on_embedded_default_and_stop_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env |= {"LINLI_VAR_DIR": str(tmp_path / "var"), "LINLI_LOG_LEVEL": "WARNING"}
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True, timeout=60)
    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        assert ready is not None and ready.status_code == 200, "server never became ready"
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5)
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        socket_path = (tmp_path / "var" / "redis" / "redis.sock").resolve()
        assert redis_pids_for(socket_path), "embedded redis should be running"
    finally:
        server.send_signal(signal.SIGINT)
        # The shutdown's own budget: uvicorn's 10 s grace, the flash runtime's 10 s last flush and the
        # embedded worker's 30 s close, each an upper bound reached only on a loaded machine.
        code = server.wait(timeout=75)
    assert code == 0, server.stderr.read().decode() if server.stderr else ""
    time.sleep(0.2)
    assert redis_pids_for(socket_path) == []
