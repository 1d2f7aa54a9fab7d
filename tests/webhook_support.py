"""A case-management system's webhook receiver, on 127.0.0.1: it can refuse the next few
deliveries, and go down (its port closed) and come back on the same port."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiohttp import web

from security import Secret, WebhookSignatureInvalid, verify_delivery
from tests.conftest import free_port


@dataclass(frozen=True)
class Received:
    event_id: str
    event_type: str
    attempt: int
    body: bytes
    signature: str
    accepted: bool


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    refuse_next: int = 0
    received: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ecourt-events"

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/ecourt-events", self._take)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _take(self, request: web.Request) -> web.Response:
        accepted = self.refuse_next == 0
        if not accepted:
            self.refuse_next -= 1
        self.received.append(
            Received(
                request.headers["Ecourt-Event-Id"],
                request.headers["Ecourt-Event-Type"],
                int(request.headers["Ecourt-Delivery-Attempt"]),
                await request.read(),
                request.headers["Ecourt-Signature"],
                accepted,
            )
        )
        return web.Response(status=204 if accepted else 503)

    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.accepted]

    def verified(self, secret: str) -> list[Received]:
        """The accepted deliveries whose signature holds under `secret` (raises otherwise)."""
        for delivery in self.accepted():
            verify_delivery(
                Secret(secret.encode()), delivery.signature, delivery.body, now=time.time()
            )
        return self.accepted()

    async def wait_for(self, event_type: str, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(r.event_type == event_type for r in self.accepted()) < count:
            if time.monotonic() > deadline:
                got = [r.event_type for r in self.accepted()]
                raise AssertionError(f"{count} accepted {event_type} never came; got {got}")
            await asyncio.sleep(0.05)


__all__ = ["Received", "Receiver", "WebhookSignatureInvalid"]
