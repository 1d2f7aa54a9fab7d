"""Sending a state that changes often no more often than it is worth: at once, then at most
once an interval, and always ending with the latest state. A flood of requests that each
change the roster is then not multiplied into a flood of rosters to everyone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any


class Coalescer:
    def __init__(
        self,
        send: Callable[[], Awaitable[None]],
        interval: float,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        closed: Callable[[], bool],
    ) -> None:
        self._send = send
        self._interval = interval
        self._spawn = spawn
        self._closed = closed
        self._dirty = False
        self._sending = False

    def request(self) -> None:
        """The state changed: send it now, or at the end of the current interval. Once closed,
        nothing is started (a task spawned while the owner shuts down would never run)."""
        if self._closed():
            return
        self._dirty = True
        if not self._sending:
            self._sending = True
            self._spawn(self._run())

    async def _run(self) -> None:
        try:
            while self._dirty and not self._closed():
                self._dirty = False
                await self._send()
                await asyncio.sleep(self._interval)
        finally:
            self._sending = False
