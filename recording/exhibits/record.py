"""One exhibit's record (`record.json` beside its sealed content): its number, what it is,
its hash, who submitted it and when, and every decision about it with the audit entry that
wrote it down. The content's data key is kept wrapped by the key ring, as a recording's are."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Final

from hearing.exhibits import ExhibitSide, ExhibitState
from recording.exhibits.content import ExhibitKind
from security.keyring import WrappedKey

FORMAT: Final = 1
EXHIBIT_ID: Final = re.compile(r"x-[0-9a-f]{16}")
MAX_TITLE: Final = 200


def new_exhibit_id() -> str:
    return "x-" + secrets.token_hex(8)


def check_exhibit_id(value: object) -> str | None:
    """`value` if it can be an exhibit's id, else None (a lookup then finds nothing)."""
    return value if isinstance(value, str) and EXHIBIT_ID.fullmatch(value) else None


def check_title(value: str) -> str:
    if not 1 <= len(value) <= MAX_TITLE or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"a title is 1-{MAX_TITLE} characters on one line")
    return value


@dataclass(frozen=True, slots=True)
class Decision:
    """An admission or a refusal, with the hash of the audit entry that records it."""

    state: ExhibitState
    by: str
    role: str
    at_ms: int
    audit_hash: str

    def to_json(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "by": self.by,
            "role": self.role,
            "at_ms": self.at_ms,
            "audit_hash": self.audit_hash,
        }

    @classmethod
    def from_json(cls, data: Any) -> Decision:
        return cls(
            ExhibitState(data["state"]),
            str(data["by"]),
            str(data["role"]),
            int(data["at_ms"]),
            str(data["audit_hash"]),
        )


@dataclass(frozen=True, slots=True)
class ExhibitRecord:
    id: str
    hearing_id: str
    number: str
    side: ExhibitSide
    kind: ExhibitKind
    size: int
    sha256: str
    """SHA-256 of the content as submitted (before sealing)."""
    pages: int
    title: str
    submitted_by: str
    submitter_role: str
    submitted_at_ms: int
    restricted: bool
    key: WrappedKey
    decisions: tuple[Decision, ...] = field(default=())

    @property
    def state(self) -> ExhibitState:
        return self.decisions[-1].state if self.decisions else ExhibitState.SUBMITTED

    @property
    def ordinal(self) -> int:
        return int(self.number.partition("-")[2])

    def public_json(self) -> dict[str, object]:
        """What the API and the index show: everything but the wrapped key."""
        return {
            "id": self.id,
            "hearing_id": self.hearing_id,
            "number": self.number,
            "side": self.side.value,
            "kind": self.kind.value,
            "media_type": self.kind.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "pages": self.pages,
            "title": self.title,
            "submitted_by": self.submitted_by,
            "submitter_role": self.submitter_role,
            "submitted_at_ms": self.submitted_at_ms,
            "restricted": self.restricted,
            "state": self.state.value,
            "decisions": [d.to_json() for d in self.decisions],
        }

    def to_bytes(self) -> bytes:
        document = {"format": FORMAT, **self.public_json(), "key": self.key.to_json()}
        return json.dumps(document, indent=1, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ExhibitRecord:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not an exhibit record of this format")
        return cls(
            id=str(data["id"]),
            hearing_id=str(data["hearing_id"]),
            number=str(data["number"]),
            side=ExhibitSide(data["side"]),
            kind=ExhibitKind(data["kind"]),
            size=int(data["size"]),
            sha256=str(data["sha256"]),
            pages=int(data["pages"]),
            title=str(data["title"]),
            submitted_by=str(data["submitted_by"]),
            submitter_role=str(data["submitter_role"]),
            submitted_at_ms=int(data["submitted_at_ms"]),
            restricted=bool(data["restricted"]),
            key=WrappedKey.from_json(data["key"]),
            decisions=tuple(Decision.from_json(d) for d in data["decisions"]),
        )
