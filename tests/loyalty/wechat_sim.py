"""A simulated WeChat API server on a loopback port: access tokens and `subscribeMessage.send` answering
scripted errcodes, recording what it was sent."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class SimulatedWeChat:
    """The server's state: errcodes to answer next (0 once they run out) and the messages received."""

    answers: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: int = 0
    base_url: str = ""

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """The ASGI application."""
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        if scope["path"] == "/cgi-bin/token":
            self.tokens_issued += 1
            answer: dict[str, Any] = {"access_token": f"token-{self.tokens_issued}", "expires_in": 7200}
        elif scope["path"] == "/cgi-bin/message/subscribe/send":
            self.received.append(orjson.loads(body))
            errcode = self.answers.pop(0) if self.answers else 0
            answer = {"errcode": errcode, "errmsg": "ok" if errcode == 0 else "simulated"}
        else:
            answer = {"errcode": 40066, "errmsg": "invalid url"}
        payload = orjson.dumps(answer)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def simulated_wechat() -> AsyncIterator[SimulatedWeChat]:
    """Serve a SimulatedWeChat on a free loopback port for the duration of the block."""
    app = SimulatedWeChat()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    app.base_url = f"http://127.0.0.1:{port}"
    try:
        yield app
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
