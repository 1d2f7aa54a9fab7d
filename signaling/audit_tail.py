"""A live tail of the hearing's audit log for the bench: the presiding judge's and the clerk's
consoles show what is being written, as it is written.

Only admitted moderators read it (`audit` events). A reader first gets the last `BACKLOG`
entries this session has seen, then every new one; entries written in the same tick go out in
one event, and then at most one event per `INTERVAL` (the roster's coalescing). The backlog is
kept in memory: a session rebuilt after a restart or on another node starts with an empty one.
An entry carries what the log holds, by id (never a name), without its details but the phase.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from hearing.phases import Phase
from security import AuditEntry
from signaling.coalesce import Coalescer
from signaling.member import Member, Outbox

BACKLOG = 50
INTERVAL = 0.02
_PHASES = frozenset(phase.value for phase in Phase)


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    """`{"seq", "at" (ISO 8601, UTC), "actor", "action", "target", "result"}`, and `"phase"`
    when the entry names the phase the hearing went to (a phase, a recess for due process, a
    restored state): the console says which, and a phase is no one's secret."""
    at = datetime.fromtimestamp(entry.time_ms / 1000, UTC).isoformat(timespec="milliseconds")
    shown: dict[str, Any] = {
        "seq": entry.seq,
        "at": at.replace("+00:00", "Z"),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "result": entry.result,
    }
    phase = dict(entry.details).get("phase")
    if isinstance(phase, str) and phase in _PHASES:
        shown["phase"] = phase
    return shown


def readers(admitted: list[Member]) -> list[Member]:
    """Who may read the tail: the presiding judge and the clerk, once admitted."""
    return [m for m in admitted if m.participant.is_moderator]


class AuditTail:
    def __init__(
        self,
        admitted: Callable[[], list[Member]],
        outbox: Outbox,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        closed: Callable[[], bool],
    ) -> None:
        self._admitted = admitted
        self._outbox = outbox
        self._entries: deque[dict[str, Any]] = deque(maxlen=BACKLOG)
        self._sent: dict[str, int] = {}
        """Per reader's connection (sid): the last seq it was sent."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._batches = Coalescer(self._send, INTERVAL, spawn, closed)

    def add(self, entry: AuditEntry) -> None:
        """An entry was written (the log's watcher; from another thread it hops to the loop)."""
        if threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self.add, entry)
            return
        self._entries.append(entry_json(entry))
        self._batches.request()

    def request(self) -> None:
        """Send what each reader has not had yet (a new reader: the backlog)."""
        self._batches.request()

    @property
    def backlog(self) -> list[dict[str, Any]]:
        return list(self._entries)

    async def _send(self) -> None:
        current = readers(self._admitted())
        for gone in set(self._sent) - {m.sid for m in current}:
            del self._sent[gone]
        for reader in current:
            last = self._sent.get(reader.sid, 0)
            batch = [e for e in self._entries if e["seq"] > last]
            if batch:
                self._sent[reader.sid] = batch[-1]["seq"]
                await self._outbox.send(reader.sid, "audit", {"entries": batch})
