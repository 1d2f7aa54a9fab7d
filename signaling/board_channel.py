"""The supervision board, live: the socket.io namespace `/court` on the signalling server.

A court administrator's page connects with the board's credential (checked by `authorize`,
which `web/board.py` gives: the court administrator's key, or a short ticket of a logged-in
board session); anything else (a join token, the API key, nothing) is refused with a reason
code. Once connected it is sent the whole board (`board`), then what changed (`board_change`),
at most once per `interval`: a change anywhere in the cluster wakes the channel through the
cluster bus (`changed`), and the board is looked at every `idle` seconds anyway (a node that
falls silent is lost by its age, and the webhook outbox changes on its own). The namespace
only listens: a board client that sends an event is closed by the frame door
(`signaling/frames.py`). Every emit stays on this node (`ignore_queue`): every node has its
own channel and its own watchers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import socketio

from media.ratelimit import RateLimitedLog
from signaling.board import board_change
from signaling.errors import Refused, wire_error

log = logging.getLogger(__name__)
_failures = RateLimitedLog(log, interval=10.0)

BOARD_NAMESPACE: Final = "/court"
ROOM: Final = "board"
INTERVAL: Final = 0.25
"""At most four changes a second reach a page."""
IDLE: Final = 1.0
CLOSE_TIMEOUT: Final = 2.0
RECHECK: Final = 60.0
"""Seconds between two looks at whether each connection's credential still opens the board."""

Authorize = Callable[[object, float | None], Awaitable[None]]
"""Raises `Refused` (`board_disabled`, `unauthorized`) unless `auth` opens the board: at
connect (`since` None), or again for a connection open since `since` (wall clock): then a
ticket is judged as it was at `since`, under the key in force now, and nothing is audited."""
Snapshot = Callable[[], Awaitable[dict[str, Any]]]
"""The whole board now: `{"node", "time", "hearings": [...], "webhooks": [...]}`."""


class BoardChannel:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        authorize: Authorize,
        snapshot: Snapshot,
        *,
        interval: float = INTERVAL,
        idle: float = IDLE,
        max_age: float | None = None,
        recheck: float = RECHECK,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sio = sio
        self._authorize = authorize
        self._snapshot = snapshot
        self._interval = interval
        self._idle = idle
        self._max_age = max_age
        self._recheck_every = recheck
        self._clock = clock
        self._credentials: dict[str, tuple[object, float]] = {}
        """Each connection's credential and when it connected (wall clock)."""
        self._rechecked = clock()
        self._arrivals: set[str] = set()
        """Connected, not yet sent the whole board."""
        self._watchers: set[str] = set()
        self._last: dict[str, Any] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        """Board events sent (whole boards and changes), for tests and metrics."""
        sio.on("connect", self._on_connect, namespace=BOARD_NAMESPACE)
        sio.on("disconnect", self._on_disconnect, namespace=BOARD_NAMESPACE)

    @property
    def watchers(self) -> int:
        return len(self._watchers) + len(self._arrivals)

    def changed(self) -> None:
        """Something on the board changed (here or on another node): look soon."""
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="board-live")

    async def close(self) -> None:
        """Stop sending (idempotent); the connections close with the socket server."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=CLOSE_TIMEOUT)

    async def _on_connect(self, sid: str, _environ: dict[str, Any], auth: Any = None) -> None:
        try:
            await self._authorize(auth, None)
        except Refused as refused:
            body = wire_error(refused)
            log.info("refused a connection to the board: %s", body["code"])
            raise socketio.exceptions.ConnectionRefusedError(body["message"], body) from None
        self._credentials[sid] = (auth, self._clock())
        self._arrivals.add(sid)
        self._wake.set()

    async def _on_disconnect(self, sid: str, *_reason: Any) -> None:
        self._arrivals.discard(sid)
        self._watchers.discard(sid)
        self._credentials.pop(sid, None)

    async def recheck(self, now: float | None = None) -> list[str]:
        """Close every connection whose credential no longer opens the board: older than
        `max_age` (a board session's length), or refused now (the key changed, the board was
        turned off). Returns their sids. Run every RECHECK seconds."""
        now = self._clock() if now is None else now
        self._rechecked = now
        closed = []
        for sid, (auth, since) in list(self._credentials.items()):
            try:
                if self._max_age is not None and now - since > self._max_age:
                    raise Refused("unauthorized", "the board's session has ended")
                await self._authorize(auth, since)
            except Refused as refused:
                log.info("closed a board connection: %s", wire_error(refused)["code"])
                closed.append(sid)
                self._credentials.pop(sid, None)
                await self._sio.disconnect(sid, namespace=BOARD_NAMESPACE)
        return closed

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._idle):
                    await self._wake.wait()
            self._wake.clear()
            if self._clock() - self._rechecked >= self._recheck_every:
                try:
                    await self.recheck()
                except Exception as exc:
                    _failures.warning("the board's connections were not rechecked (%s)", exc)
            if self._watchers or self._arrivals:
                try:
                    await self._send()
                except Exception as exc:  # a store away: the next look tries again
                    _failures.warning("the board could not be read (%s)", type(exc).__name__)
            else:
                self._last = None  # nobody watches: the next one is sent a fresh board
            await asyncio.sleep(self._interval)

    async def _send(self) -> None:
        board = await self._snapshot()
        if self._last is not None and self._watchers:
            change = board_change(self._last, board)
            if change is not None:
                await self._emit("board_change", change, room=ROOM)
        self._last = board
        manager = self._sio.manager
        # connected: python-socketio has sent its CONNECT (an emit before it would be lost)
        ready = [s for s in self._arrivals if manager.is_connected(s, BOARD_NAMESPACE)]
        for sid in ready:
            self._arrivals.discard(sid)
            await self._sio.enter_room(sid, ROOM, namespace=BOARD_NAMESPACE)
            self._watchers.add(sid)
            await self._emit("board", board, to=sid)
        if self._arrivals:
            self._wake.set()  # someone is still connecting: look again next time

    async def _emit(self, event: str, body: dict[str, Any], **where: Any) -> None:
        self.sent += 1
        await self._sio.emit(event, body, namespace=BOARD_NAMESPACE, ignore_queue=True, **where)
