"""The court's state of a hearing written through to its store after every change, one write
at a time and always the newest (a slow store never gets an old snapshot after a new one), so
a session rebuilt later, on this node or another, carries on where the court was. Every write
carries the epoch of the node's lease on the hearing; a store that holds a newer one refuses it
(`StaleEpoch`), and this node writes no more.

`stored()` lets a court's order be acknowledged only once the state it made is in the store
(on disk, for the embedded SQLite store). A store that is failing is not waited for: the court
keeps working while it is away (docs/cluster.md), and the newest state reaches it when it
returns."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from signaling.errors import StaleEpoch
from signaling.store import HearingStateStore

log = logging.getLogger(__name__)


class StatePersister:
    def __init__(
        self,
        store: HearingStateStore,
        hearing_id: str,
        snapshot: Callable[[], dict[str, Any]],
        epoch: Callable[[], int] = lambda: 0,
    ) -> None:
        self._store = store
        self._epoch = epoch
        self._hearing_id = hearing_id
        self._snapshot = snapshot
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self._changes = 0  # counts changes; `_stored` is the count the store has
        self._stored = 0
        self._failing = False
        self._attempted = asyncio.Condition()
        self.failures = 0

    def changed(self) -> None:
        """Something changed: write the newest snapshot soon. Nothing once closed: what the
        session does while it shuts down (the media closing) is not the court's state."""
        if self._closed:
            return
        self._changes += 1
        self._dirty = True
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while self._dirty:
            self._dirty = False
            changes = self._changes
            try:
                await self._store.save(self._hearing_id, self._snapshot(), self._epoch())
            except StaleEpoch:
                log.warning("the state of %s is another node's now: not saved", self._hearing_id)
                self._closed = True
                return
            except Exception:
                self.failures += 1
                log.exception("the state of %s could not be saved", self._hearing_id)
                await self._attempt_ended(failing=True)
                await asyncio.sleep(1.0)
                self._dirty = True  # the store is down: keep the newest, try again
            else:
                self._stored = max(self._stored, changes)
                await self._attempt_ended(failing=False)

    async def _attempt_ended(self, *, failing: bool) -> None:
        async with self._attempted:
            self._failing = failing
            self._attempted.notify_all()

    async def stored(self) -> bool:
        """Wait until the state as it is now is in the store: True then; False at once when
        the store is failing or this persister is closed."""
        wanted = self._changes
        async with self._attempted:
            await self._attempted.wait_for(
                lambda: self._stored >= wanted or self._failing or self._closed
            )
        return self._stored >= wanted

    async def load(self) -> dict[str, Any] | None:
        return await self._store.load(self._hearing_id)

    async def flush(self) -> None:
        """Wait until the newest snapshot is written (or the store has failed once more)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait({self._writer}, timeout=5.0)
            if self._dirty is False:
                break

    async def close(self) -> None:
        self._closed = True
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        async with self._attempted:
            self._attempted.notify_all()
