"""The server's event loop watched for stalls: one longer than a second is logged with its
duration. Every leg, every consent check and every signalling message waits while the loop
is stalled; a loaded machine shows here first (docs/architecture.md, "Consent under load")."""

from __future__ import annotations

import asyncio
import logging
import time

log = logging.getLogger(__name__)

STALL_SECONDS = 1.0
"""A stall longer than this is logged."""
TICK_SECONDS = 0.1


class LoopStallWatch:
    """Sleeps `tick` seconds at a time and measures how late it wakes."""

    def __init__(self, threshold: float = STALL_SECONDS, tick: float = TICK_SECONDS) -> None:
        if threshold <= 0 or tick <= 0:
            raise ValueError("a stall threshold and a tick must be positive")
        self.threshold = threshold
        self.tick = tick
        self.stalls = 0
        """How many stalls were logged."""
        self.longest = 0.0
        """The longest stall seen, in seconds."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _watch(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(self.tick)
            late = time.monotonic() - started - self.tick
            if late > self.threshold:
                self.stalls += 1
                self.longest = max(self.longest, late)
                log.warning("the event loop stalled for %.2f s", late)
