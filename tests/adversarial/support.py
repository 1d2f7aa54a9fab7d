"""Helpers for the bad-input suite: people with fresh tokens, and a bystander hearing that
keeps working (and is timed) while another hearing is abused."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tests.adversarial.wire import WireSocket
from tests.conftest import RunningServer

ACK_TIMEOUT = 5.0
"""An order not acknowledged (or not seen by the other side) within this is counted lost."""


async def wire_person(
    server: RunningServer, hearing_id: str, role: str, name: str = "Person"
) -> tuple[WireSocket, dict[str, Any]]:
    """A raw connection with a fresh token, joined; returns it and the welcome."""
    issued = await server.issue_token(hearing_id, role, name)
    socket = await WireSocket.open(server.session, server.base_url)
    await socket.opened()
    connected = await socket.authenticate(issued["token"])
    assert "sid" in connected, connected
    welcome = await socket.call("join", {})
    assert welcome["ok"], welcome
    return socket, welcome


async def admit(judge: WireSocket, participant_id: str) -> None:
    """The judge admits someone who is (or is about to be) waiting in the lobby."""

    def waiting() -> bool:
        lobbies = [p for name, p in judge.events if name == "lobby"]
        return bool(lobbies) and any(w["id"] == participant_id for w in lobbies[-1]["waiting"])

    await judge.wait_for(waiting, ACK_TIMEOUT, f"{participant_id} in the lobby")
    ack = await judge.call("admit", {"participant_id": participant_id})
    assert ack["ok"], ack


def latest(socket: WireSocket, event: str) -> Any:
    """The payload of the last `event` pushed to `socket`, or None."""
    return next((payload for name, payload in reversed(socket.events) if name == event), None)


def roster_entry(socket: WireSocket, participant_id: str) -> dict[str, Any]:
    roster = latest(socket, "roster") or {"participants": []}
    return next((p for p in roster["participants"] if p["id"] == participant_id), {})


def raise_fd_limit(wanted: int) -> None:
    """Many sockets at once need many descriptors: raise the soft limit as far as allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@dataclass
class Timings:
    """Milliseconds per order: until its ack, and until the other side saw its effect."""

    acked: list[float] = field(default_factory=list)
    seen: list[float] = field(default_factory=list)
    lost: int = 0
    errors: list[str] = field(default_factory=list)

    @staticmethod
    def p95(samples: list[float]) -> float:
        return statistics.quantiles(samples, n=20, method="inclusive")[18] if samples else 0.0

    def summary(self) -> str:
        return (
            f"{len(self.acked)} orders, lost {self.lost}; ack p50 "
            f"{statistics.median(self.acked or [0]):.1f} ms, p95 {self.p95(self.acked):.1f} ms,"
            f" max {max(self.acked or [0]):.1f} ms; seen by the other side p95"
            f" {self.p95(self.seen):.1f} ms, max {max(self.seen or [0]):.1f} ms"
        )


class Bystander:
    """Another hearing in session: its party raises and lowers a hand, its judge gives the
    floor and takes it back, over and over. Each order is timed until its ack and until the
    other side's roster shows it; an order that misses either within ACK_TIMEOUT is lost."""

    def __init__(self, server: RunningServer) -> None:
        self._server = server
        self.timings = Timings()
        self.progress = asyncio.Event()
        """Set after every order."""
        self.judge: WireSocket | None = None
        self.party: WireSocket | None = None
        self.party_id = ""

    async def start(self) -> None:
        hearing = await self._server.create_hearing(case_number="99/2026/DS-ST", title="Bystander")
        hid = hearing["id"]
        self.judge, _ = await wire_person(self._server, hid, "presiding_judge", "Judge Tran")
        self.party, welcome = await wire_person(self._server, hid, "plaintiff", "Ms Bystander")
        self.party_id = welcome["participant"]["id"]
        await admit(self.judge, self.party_id)
        ack = await self.judge.call("phase", {"phase": "in_session"})
        assert ack["ok"], ack

    async def run(self, stop: asyncio.Event, pause: float = 0.05) -> None:
        assert self.judge is not None and self.party is not None
        state = False
        while not stop.is_set():
            state = not state
            await self._order(
                self.party, "raise_hand", {"raised": state}, self.judge, "hand", state
            )
            await self._order(
                self.judge,
                "floor",
                {"participant_id": self.party_id, "granted": state},
                self.party,
                "floor",
                state,
            )
            await asyncio.sleep(pause)

    async def _order(
        self,
        sender: WireSocket,
        event: str,
        payload: dict[str, Any],
        watcher: WireSocket,
        flag: str,
        expected: bool,
    ) -> None:
        started = time.perf_counter()
        try:
            ack = await sender.call(event, payload, timeout=ACK_TIMEOUT)
            acked = time.perf_counter()
            if not ack.get("ok"):
                self.timings.errors.append(f"{event}: {ack}")
                self.timings.lost += 1
                self.progress.set()
                return

            def shows() -> bool:
                return roster_entry(watcher, self.party_id).get(flag) is expected

            await watcher.wait_for(shows, ACK_TIMEOUT, f"{flag} {expected} in the roster")
        except Exception as exc:  # a timeout or a closed socket: the order was lost
            self.timings.errors.append(f"{event}: {type(exc).__name__}: {exc}")
            self.timings.lost += 1
            self.progress.set()
            return
        self.timings.acked.append((acked - started) * 1000)
        self.timings.seen.append((time.perf_counter() - started) * 1000)
        self.progress.set()

    async def close(self) -> None:
        for socket in (self.judge, self.party):
            if socket is not None:
                await socket.close()


@contextlib.asynccontextmanager
async def bystander_running(server: RunningServer, minimum: int = 10) -> AsyncIterator[Bystander]:
    """A bystander hearing exchanging orders for as long as the block runs (and until it
    has given at least `minimum` orders)."""
    bystander = Bystander(server)
    await bystander.start()
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(bystander.run(stop))
    try:
        yield bystander
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                while len(bystander.timings.acked) + bystander.timings.lost < minimum:
                    bystander.progress.clear()
                    await bystander.progress.wait()
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        await bystander.close()


def assert_unharmed(bystander: Bystander, label: str, minimum: int = 10) -> None:
    """The bystander's orders all arrived, and quickly: p95 below 200 ms."""
    timings = bystander.timings
    print(f"\n[{label}] bystander: {timings.summary()}")
    assert timings.lost == 0, timings.errors[:5]
    assert len(timings.acked) >= minimum, timings.summary()
    assert timings.p95(timings.acked) < 200, timings.summary()
    assert timings.p95(timings.seen) < 200, timings.summary()
