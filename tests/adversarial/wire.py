"""A raw socket.io client over one websocket: it sends exactly the frames a test writes
(hostile ones included) and keeps every frame the server sends, verbatim.

engine.io v4 framing: ``0`` open, ``1`` close, ``2`` ping, ``3`` pong, ``4`` message; a
socket.io packet rides in a message: ``40/hearing,{auth}`` connect, ``42/hearing,<id>[event,
payload]`` event, ``43/hearing,<id>[ack]`` its acknowledgement, ``44/hearing,{...}`` refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import WSMsgType

NAMESPACE = "/hearing"
PREFIX = f"4{{kind}}{NAMESPACE},"


class WireClosed(Exception):
    """The server closed the connection."""


class WireSocket:
    """One engine.io websocket, driven by hand."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[str] = []
        """Every text frame the server sent, in order (pings included)."""
        self.events: list[tuple[str, Any]] = []
        """Every socket.io event pushed to this connection: (name, payload)."""
        self.close_code: int | None = None
        self.closed_at: float | None = None
        self._ids = itertools.count(1)
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._connected: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._changed = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())
        self.on_event: Callable[[str, Any], None] | None = None

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, base_url: str, **kwargs: Any) -> WireSocket:
        url = f"{base_url}/socket.io/?EIO=4&transport=websocket"
        ws = await session.ws_connect(url, max_msg_size=0, **kwargs)
        return cls(ws)

    @property
    def refusal(self) -> str | None:
        """The code of the last connect error (`44`) the server sent, if any."""
        refusals = [f for f in self.frames if f.startswith(f"44{NAMESPACE},")]
        if not refusals:
            return None
        code: str = json.loads(refusals[-1].partition(",")[2])["data"]["code"]
        return code

    @property
    def left(self) -> str | None:
        """The reason of the `left` event, if the server put this participant out."""
        return next((str(p["reason"]) for name, p in self.events if name == "left"), None)

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    async def opened(self, timeout: float = 5.0) -> None:
        """Wait for engine.io's open packet."""
        await self.wait_for(lambda: any(f.startswith("0") for f in self.frames), timeout, "open")

    async def authenticate(self, token: str, timeout: float = 5.0, **auth: str) -> dict[str, Any]:
        """Join the namespace with a token; return the server's connect or refusal packet:
        ``{"sid": ...}`` or ``{"message": ..., "data": {"code": ...}}``."""
        await self.send(f"40{NAMESPACE}," + json.dumps({"token": token} | auth))
        async with asyncio.timeout(timeout):
            return await asyncio.shield(self._connected)

    async def send(self, text: str) -> None:
        await self.ws.send_str(text)

    async def emit(self, event: str, payload: Any = None) -> int:
        """Send an event that asks for an acknowledgement; return its id."""
        ack_id = next(self._ids)
        self._acks[ack_id] = asyncio.get_running_loop().create_future()
        body = json.dumps([event] if payload is None else [event, payload])
        await self.send(f"42{NAMESPACE},{ack_id}{body}")
        return ack_id

    async def call(self, event: str, payload: Any = None, timeout: float = 5.0) -> Any:
        """Send an event and return its acknowledgement."""
        ack_id = await self.emit(event, payload)
        return await self.ack(ack_id, timeout)

    async def ack(self, ack_id: int, timeout: float = 5.0) -> Any:
        async with asyncio.timeout(timeout):
            return await self._acks[ack_id]

    async def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not condition():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"waited {timeout}s for {what}") from None

    async def wait_closed(self, timeout: float) -> None:
        await self.wait_for(lambda: self.closed, timeout, "the server to close the connection")

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                text = str(message.data)
                self.frames.append(text)
                if text == "1":  # engine.io close: a conforming client hangs up
                    break
                if text == "2":
                    with contextlib.suppress(ConnectionError):
                        await self.ws.send_str("3")
                elif text.startswith("4"):
                    self._packet(text[1:])
                self._changed.set()
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                await self.ws.close()
            self.close_code = self.ws.close_code
            self.closed_at = time.monotonic()
            for future in (self._connected, *self._acks.values()):
                if not future.done():
                    future.set_exception(WireClosed("the server closed the connection"))
                    future.exception()  # retrieved: a closed socket is an outcome, not an error
            self._changed.set()

    def _packet(self, packet: str) -> None:
        kind, _, rest = (
            packet.partition(NAMESPACE + ",") if NAMESPACE in packet else (packet, "", "")
        )
        if kind in ("0", "4"):
            if not self._connected.done():
                self._connected.set_result(json.loads(rest) if rest else {})
        elif kind == "3":
            digits = len(rest) - len(rest.lstrip("0123456789"))
            future = self._acks.get(int(rest[:digits]))
            if future is not None and not future.done():
                future.set_result(json.loads(rest[digits:])[0])
        elif kind == "2":
            name, *payload = json.loads(rest)
            self.events.append((name, payload[0] if payload else None))
            if self.on_event is not None:
                self.on_event(name, payload[0] if payload else None)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
