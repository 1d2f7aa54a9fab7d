"""Where hearings and their state are kept. Declared here, where they are used, each with an
in-memory twin (the embedded default) and a Redis twin (`signaling/redis_store.py`, when
`ECOURT_REDIS_URL` is set). One contract test runs against both (`tests/test_stores.py`).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from hearing import Hearing
from signaling.errors import StaleEpoch


class HearingStore(Protocol):
    async def add(self, hearing: Hearing) -> None: ...

    async def get(self, hearing_id: str) -> Hearing | None: ...

    async def all(self) -> list[Hearing]: ...


class MemoryHearingStore:
    """The embedded default: hearings live in this process."""

    def __init__(self) -> None:
        self._hearings: dict[str, Hearing] = {}

    async def add(self, hearing: Hearing) -> None:
        if hearing.id in self._hearings:
            raise KeyError(f"hearing {hearing.id} exists")
        self._hearings[hearing.id] = hearing

    async def get(self, hearing_id: str) -> Hearing | None:
        return self._hearings.get(hearing_id)

    async def all(self) -> list[Hearing]:
        return sorted(self._hearings.values(), key=lambda h: h.scheduled_at)


class RevokedTokens(Protocol):
    """Participants whose join tokens were revoked, per hearing."""

    async def revoke(self, hearing_id: str, participant_id: str) -> None: ...

    async def is_revoked(self, hearing_id: str, participant_id: str) -> bool: ...


class MemoryRevokedTokens:
    def __init__(self) -> None:
        self._revoked: set[tuple[str, str]] = set()

    async def revoke(self, hearing_id: str, participant_id: str) -> None:
        self._revoked.add((hearing_id, participant_id))

    async def is_revoked(self, hearing_id: str, participant_id: str) -> bool:
        return (hearing_id, participant_id) in self._revoked


class HearingStateStore(Protocol):
    """The court's state of a hearing in session (admissions, rooms, phase, floor ...), as a
    JSON snapshot, so that a session rebuilt on this node or another one carries on.

    `epoch` is the writer's lease (`signaling/lease.py`): a save of an older epoch than the
    last one kept is refused with `StaleEpoch` and changes nothing; 0 is "no lease" (lower
    than any)."""

    async def save(self, hearing_id: str, snapshot: dict[str, Any], epoch: int = 0) -> None: ...

    async def load(self, hearing_id: str) -> dict[str, Any] | None: ...


class MemoryHearingStateStore:
    def __init__(self) -> None:
        self._snapshots: dict[str, str] = {}
        self._epochs: dict[str, int] = {}

    async def save(self, hearing_id: str, snapshot: dict[str, Any], epoch: int = 0) -> None:
        kept = self._epochs.get(hearing_id, 0)
        if epoch < kept:
            raise StaleEpoch(f"the state of {hearing_id} is held by epoch {kept}, not {epoch}")
        self._snapshots[hearing_id] = json.dumps(snapshot)  # a copy, as Redis would keep
        self._epochs[hearing_id] = epoch

    async def load(self, hearing_id: str) -> dict[str, Any] | None:
        stored = self._snapshots.get(hearing_id)
        return None if stored is None else dict(json.loads(stored))
