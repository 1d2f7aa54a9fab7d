"""The attacker, run in its own process (`python -m tests.adversarial.attacker`) so that the
server's event loop carries only the server's share of the abuse.

It reads a JSON plan on stdin and writes a JSON report on stdout:
- `flood`: `flooders` connections send `mute` toggles at `rate` messages a second for
  `seconds`, fire and forget, spread over those that are open. Each connection uses admitted
  parties' links from `tokens`; when the server closes one, it comes straight back with its
  next link (a closed link is refused `cooling_off` for a while), as a determined attacker
  would;
- `idle`: that many engine.io connections that never present a token, opened 50 at a time.
Everything goes to `base_url` (loopback) and stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from tests.adversarial.wire import WireSocket

IDLE_BATCH = 50


@dataclass
class Report:
    sent: int = 0
    seconds: float = 0.0
    connections: int = 0
    refused_reconnects: dict[str, int] = field(default_factory=dict)
    closed_as_abuse: int = 0
    acks: dict[str, int] = field(default_factory=dict)
    idle_opened: int = 0
    idle_closed_by_server: int = 0
    idle_lifetimes: list[float] = field(default_factory=list)


class Flooder:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, tokens: list[str]) -> None:
        self._session = session
        self._base_url = base_url
        self._tokens = tokens
        self._turn = 0
        self._sockets: list[WireSocket] = []
        self._reconnecting: asyncio.Task[None] | None = None
        self._next_id = 0
        self.report = Report()

    def live(self) -> WireSocket | None:
        """The open, joined connection, or None (and a reconnection under way)."""
        if self._sockets and not self._sockets[-1].closed:
            return self._sockets[-1]
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.get_running_loop().create_task(self.connect())
        return None

    async def connect(self) -> None:
        for _ in range(4 * len(self._tokens)):
            token = self._tokens[self._turn % len(self._tokens)]
            self._turn += 1
            socket = await WireSocket.open(self._session, self._base_url)
            await socket.opened()
            answer = await socket.authenticate(token)
            if "sid" in answer:
                await socket.call("join", {})
                self._sockets.append(socket)
                self.report.connections += 1
                return
            code = str(answer.get("data", {}).get("code"))
            self.report.refused_reconnects[code] = self.report.refused_reconnects.get(code, 0) + 1
            await socket.close()
            await asyncio.sleep(0.02)

    async def send(self, socket: WireSocket, muted: bool) -> None:
        self._next_id += 1
        body = json.dumps(["mute", {"kind": "audio", "muted": muted}])
        with contextlib.suppress(ConnectionError, RuntimeError, aiohttp.ClientError):
            await socket.send(f"42/hearing,{self._next_id}{body}")

    async def close(self) -> None:
        if self._reconnecting is not None:
            await asyncio.gather(self._reconnecting, return_exceptions=True)
        for socket in self._sockets:
            left = [p["reason"] for name, p in socket.events if name == "left"]
            self.report.closed_as_abuse += left == ["abuse"]
            for frame in socket.frames:
                if frame.startswith("43/hearing,"):
                    ack = json.loads(frame[frame.index("[") :])[0]
                    code = "ok" if ack.get("ok") else ack["error"]["code"]
                    self.report.acks[code] = self.report.acks.get(code, 0) + 1
            await socket.close()


async def flood(flooders: list[Flooder], rate: int, seconds: float, report: Report) -> None:
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(elapsed * rate) - report.sent
        live = [(f, s) for f in flooders if (s := f.live()) is not None]
        for i in range(due if live else 0):
            flooder, socket = live[i % len(live)]
            await flooder.send(socket, i % 2 == 0)
            report.sent += 1
        await asyncio.sleep(0.01)
    report.seconds = time.perf_counter() - started


async def idle(base_url: str, count: int, wait: float, report: Report) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets: list[WireSocket] = []
        opened_at = time.monotonic()
        try:
            for _ in range(count // IDLE_BATCH):
                batch = [WireSocket.open(session, base_url) for _ in range(IDLE_BATCH)]
                sockets += await asyncio.gather(*batch)
                await asyncio.sleep(0.05)
            await asyncio.gather(*(s.opened() for s in sockets))
            report.idle_opened = len(sockets)
            await asyncio.gather(*(s.wait_closed(wait) for s in sockets), return_exceptions=True)
            report.idle_closed_by_server = sum(s.closed for s in sockets)
            report.idle_lifetimes = [
                round(s.closed_at - opened_at, 2) for s in sockets if s.closed_at is not None
            ]
        finally:
            await asyncio.gather(*(s.close() for s in sockets))


async def attack(plan: dict[str, Any]) -> Report:
    report = Report()
    base_url = str(plan["base_url"])
    async with aiohttp.ClientSession() as session:
        tokens: list[str] = plan.get("tokens", [])
        count = int(plan.get("flooders", 0))
        flooders = [Flooder(session, base_url, tokens[n::count]) for n in range(count)]
        for flooder in flooders:
            await flooder.connect()
        jobs = [idle(base_url, int(plan.get("idle", 0)), float(plan.get("idle_wait", 15)), report)]
        if flooders:
            jobs.append(flood(flooders, int(plan["rate"]), float(plan["seconds"]), report))
        await asyncio.gather(*jobs)
        for flooder in flooders:
            await flooder.close()
            report.connections += flooder.report.connections
            report.closed_as_abuse += flooder.report.closed_as_abuse
            for mine, theirs in (
                (report.acks, flooder.report.acks),
                (report.refused_reconnects, flooder.report.refused_reconnects),
            ):
                for code, n in theirs.items():
                    mine[code] = mine.get(code, 0) + n
    return report


def main() -> None:
    import os
    import resource

    # the attacker would be on another machine: on this one it must not take the server's CPU
    os.nice(10)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    plan = json.loads(sys.stdin.read())
    report = asyncio.run(attack(plan))
    print(json.dumps(asdict(report)))


if __name__ == "__main__":
    main()
