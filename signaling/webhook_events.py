"""What the case-management system is told: the webhook events, read off the hearing's audit
log. The log is the one record of what happened, written by whoever acted (the session, the
recorder, the livestream), so every event has happened and is in the log before it is sent.

One audit entry gives at most one event. Its id is derived from the entry's hash (the same
entry always gives the same id, on any node, however often it is sent); its `seq` is the
entry's place in the hearing's log, which orders the events of a hearing. Payloads carry
pseudonymous ids, never names (the log holds none).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from security import AuditEntry

RECORDING_MANIFEST: Final = "recording_manifest"
"""The recorder's audit action for a signed manifest (`recording/anchor.py`)."""
EXHIBIT_ADMITTED: Final = "exhibit_admitted"
"""The audit action of an exhibit's admission (`recording/exhibits/ledger.py`)."""
SEALED_STATE: Final = "stopped"
"""The manifest's state once the recording is finished and every segment sealed."""


class WebhookEventType(StrEnum):
    HEARING_OPENED = "hearing.opened"
    PHASE_CHANGED = "hearing.phase_changed"
    ADJOURNED = "hearing.adjourned"
    ENDED = "hearing.ended"
    DUE_PROCESS_RECESS = "hearing.due_process_recess"
    PARTICIPANT_ADMITTED = "participant.admitted"
    PARTICIPANT_LEFT = "participant.left"
    RECORDING_SEALED = "recording.sealed"
    LIVESTREAM_OPENED = "livestream.opened"
    LIVESTREAM_CLOSED = "livestream.closed"
    LIVESTREAM_CUT = "livestream.cut"
    EXHIBIT_ADMITTED = "exhibit.admitted"


EVENT_TYPES: Final = tuple(t.value for t in WebhookEventType)

Data = Mapping[str, str | int | bool | None]


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    type: WebhookEventType
    hearing_id: str
    seq: int
    time_ms: int
    data: Data

    def body(self) -> str:
        """The JSON sent (and signed): compact, keys sorted."""
        when = datetime.fromtimestamp(self.time_ms / 1000, UTC).isoformat(timespec="milliseconds")
        document = {
            "id": self.id,
            "type": self.type.value,
            "hearing_id": self.hearing_id,
            "seq": self.seq,
            "time": when,
            "data": dict(self.data),
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":"))


def event_for(entry: AuditEntry) -> WebhookEvent | None:
    """The event an audit entry tells the case-management system, if any. The first entry of
    a hearing's log (whatever it says) opens it; refusals (a result other than `ok`) tell
    nothing, except a departure, whose result is its reason."""
    found = _classify(entry)
    if found is None:
        return None
    kind, data = found
    digest = hashlib.sha256(f"{entry.hash}:{kind.value}".encode()).hexdigest()
    return WebhookEvent(
        f"evt_{digest[:32]}", kind, entry.hearing_id, entry.seq, entry.time_ms, data
    )


def custody_event_for(entry: AuditEntry) -> WebhookEvent | None:
    """The event an entry of a hearing's custody log tells, if any: an exhibit admitted while
    the hearing does not sit on this node (the case-management system's bundle, decided by
    REST before the court sits). Nothing else there is an event, and its first entry does not
    open the hearing."""
    if entry.action != EXHIBIT_ADMITTED or entry.result != "ok":
        return None
    kind = WebhookEventType.EXHIBIT_ADMITTED
    digest = hashlib.sha256(f"{entry.hash}:{kind.value}".encode()).hexdigest()
    data = _exhibit_data(entry)
    return WebhookEvent(
        f"evt_{digest[:32]}", kind, entry.hearing_id, entry.seq, entry.time_ms, data
    )


def custody_queue(hearing_id: str) -> str:
    """The outbox queue of a hearing's custody-log events: in order among themselves, apart
    from the hearing log's own queue (their `seq` counts another chain)."""
    return f"{hearing_id}:custody"


def _exhibit_data(entry: AuditEntry) -> Data:
    details = dict(entry.details)
    return {
        "exhibit_id": entry.target,
        "number": _text(details.get("number")),
        "sha256": _text(details.get("sha256")),
        "restricted": details.get("restricted") is True,
        "by": entry.actor,
    }


def _classify(entry: AuditEntry) -> tuple[WebhookEventType, Data] | None:
    details = dict(entry.details)
    action = entry.action
    if action == "leave":
        return WebhookEventType.PARTICIPANT_LEFT, {
            "participant_id": entry.actor,
            "reason": entry.result,
        }
    if entry.seq == 1:  # the first entry of the hearing's log: its session opened somewhere
        return WebhookEventType.HEARING_OPENED, {}
    if entry.result != "ok":
        return None
    if action == "phase":
        phase = details.get("phase")
        if phase == "adjourned":
            return WebhookEventType.ADJOURNED, {"by": entry.actor}
        return WebhookEventType.PHASE_CHANGED, {"phase": _text(phase), "by": entry.actor}
    if action == "end_hearing":
        return WebhookEventType.ENDED, {"by": entry.actor}
    if action == "due_process_recess":
        return WebhookEventType.DUE_PROCESS_RECESS, {
            "phase": _text(details.get("phase")),
            "participant_id": entry.target,
            "gap_seconds": _int(details.get("gap_seconds")),
        }
    if action == "admit":
        return WebhookEventType.PARTICIPANT_ADMITTED, {
            "participant_id": entry.target,
            "by": entry.actor,
        }
    if action == EXHIBIT_ADMITTED:
        return WebhookEventType.EXHIBIT_ADMITTED, _exhibit_data(entry)
    if action == RECORDING_MANIFEST and details.get("state") == SEALED_STATE:
        return WebhookEventType.RECORDING_SEALED, {
            "recording_id": entry.target,
            "manifest_hash": _text(details.get("hash")),
            "manifest_seq": _int(details.get("seq")),
            "segments": _int(details.get("segments")),
        }
    simple = _LIVESTREAM.get(action)
    if simple is not None:
        return simple, {"by": entry.actor}
    return None


_LIVESTREAM: Final = {
    "livestream_opened": WebhookEventType.LIVESTREAM_OPENED,
    "livestream_closed": WebhookEventType.LIVESTREAM_CLOSED,
    "livestream_cut": WebhookEventType.LIVESTREAM_CUT,
}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
