"""Where hearings and their state are kept. Declared here, where they are used, each with an
SQLite twin (`signaling/sqlite_store.py`: the embedded default, in the data directory), a Redis
twin (`signaling/redis_store.py`, when `ECOURT_REDIS_URL` is set) and an in-memory twin (for
tests). One contract test runs against all three (`tests/test_stores.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hearing import Hearing, Participant, Role
from hearing.categories import CaseCategory
from hearing.languages import COURT_LANGUAGE, LanguagePair
from hearing.model import HearingType, Instance, Jurisdiction
from signaling.errors import StaleEpoch


def hearing_record(hearing: Hearing) -> dict[str, Any]:
    return {
        "id": hearing.id,
        "type": hearing.type.value,
        "case_number": hearing.case_number,
        "title": hearing.title,
        "scheduled_at": hearing.scheduled_at.isoformat(),
        "public": hearing.public,
        "profile": hearing.profile,
        "case_category": hearing.case_category.value,
        "jurisdiction": None if hearing.jurisdiction is None else hearing.jurisdiction.value,
        "instance": None if hearing.instance is None else hearing.instance.value,
        "language": hearing.language,
        "languages": list(hearing.languages),
    }


def hearing_from_record(record: dict[str, Any]) -> Hearing:
    """The hearing a record describes; the model checks every field again."""
    return Hearing(
        id=str(record["id"]),
        type=HearingType(record["type"]),
        case_number=str(record["case_number"]),
        title=str(record["title"]),
        scheduled_at=datetime.fromisoformat(record["scheduled_at"]),
        public=bool(record["public"]),
        profile=str(record["profile"]),
        case_category=CaseCategory(record["case_category"]),
        jurisdiction=None
        if record["jurisdiction"] is None
        else Jurisdiction(record["jurisdiction"]),
        instance=None if record["instance"] is None else Instance(record["instance"]),
        # a record kept before languages existed: the court language only
        language=str(record.get("language", COURT_LANGUAGE)),
        languages=tuple(str(t) for t in record.get("languages", ())),
    )


class HearingStore(Protocol):
    async def add(self, hearing: Hearing) -> None: ...

    async def get(self, hearing_id: str) -> Hearing | None: ...

    async def all(self) -> list[Hearing]: ...


class MemoryHearingStore:
    """Hearings kept in this process only (tests)."""

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


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A participant the court's system issued a join link for, and the link's id (never the
    link itself: `security.token_id`)."""

    participant: Participant
    token_id: str
    issued_at: int
    expires_at: int

    def __post_init__(self) -> None:
        if not self.token_id or self.expires_at <= self.issued_at:
            raise ValueError("an issued link has an id and expires after it was issued")


def link_record(link: IssuedLink) -> dict[str, Any]:
    p = link.participant
    return {
        "participant_id": p.id,
        "hearing_id": p.hearing_id,
        "role": p.role.value,
        "display_name": p.display_name,
        "language": p.language,
        "interpreting": None if p.interpreting is None else str(p.interpreting),
        "token_id": link.token_id,
        "issued_at": link.issued_at,
        "expires_at": link.expires_at,
    }


def link_from_record(record: dict[str, Any]) -> IssuedLink:
    """The link a record describes; the model checks every field again."""
    participant = Participant(
        id=str(record["participant_id"]),
        hearing_id=str(record["hearing_id"]),
        role=Role(record["role"]),
        display_name=str(record["display_name"]),
        language=None if record.get("language") is None else str(record["language"]),
        interpreting=None
        if record.get("interpreting") is None
        else LanguagePair.parse(str(record["interpreting"])),
    )
    return IssuedLink(
        participant, str(record["token_id"]), int(record["issued_at"]), int(record["expires_at"])
    )


class IssuedLinks(Protocol):
    """The participants of each hearing whose links were issued (by the REST API)."""

    async def add(self, link: IssuedLink) -> None:
        """Keep it (`KeyError` if its participant has a link already)."""
        ...

    async def of_hearing(self, hearing_id: str) -> list[IssuedLink]:
        """In the order they were kept."""
        ...


class MemoryIssuedLinks:
    def __init__(self) -> None:
        self._links: dict[str, dict[str, IssuedLink]] = {}

    async def add(self, link: IssuedLink) -> None:
        links = self._links.setdefault(link.participant.hearing_id, {})
        if link.participant.id in links:
            raise KeyError(f"participant {link.participant.id} has a link")
        links[link.participant.id] = link

    async def of_hearing(self, hearing_id: str) -> list[IssuedLink]:
        return list(self._links.get(hearing_id, {}).values())


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
