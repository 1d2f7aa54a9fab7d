"""Where hearings are kept. Declared here, where it is used, with an in-memory twin.

A Redis twin comes with the cluster issue; the same contract test will run against both.
"""

from __future__ import annotations

from typing import Protocol

from hearing import Hearing


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
