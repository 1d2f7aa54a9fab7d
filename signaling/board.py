"""What the court's supervision board shows of a hearing in session on this node: its phase,
who is in which kind of room (counts), how many wait, the recording's and the livestream's
state, the node, how many people's media is live, weak, frozen, absent or reconnecting, and
alerts. Counts and states only: never a name, never a participant id,
never media (a case number and the hearing's type say which hearing it is; a title can name
the parties, so it is not shown).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from hearing.due_process import SITTING, must_be_present
from hearing.media_health import MediaHealth, health_counts
from signaling.health import seen_or_heard
from signaling.session import HearingSession


class BoardAlert(StrEnum):
    REFERENCE_MONITOR = "reference_monitor"
    """The reference monitor cut forwarding that the matrix did not allow (an incident)."""
    RECORDING_STOPPED = "recording_stopped"
    """The court sits and its recording is stopped (a recorder that failed, or was stopped)."""
    NODE_LOST = "node_lost"
    """The node hosting it stopped publishing (killed, or cut off) and no node hosts it yet."""
    REQUIRED_WITHOUT_MEDIA = "required_without_media"
    """The court sits and someone it cannot sit without (`hearing.due_process`) is neither
    seen nor heard: gone, or connected with no camera or microphone reaching it. Past the
    grace period the court recesses by itself."""
    AUDIT_FAILED = "audit_failed"
    """The hearing's audit log could not write an entry (a full or failing disk)."""


@dataclass(frozen=True, slots=True)
class BoardRow:
    hearing_id: str
    case_number: str
    hearing_type: str
    phase: str
    rooms: tuple[tuple[str, int], ...]
    """(room kind, people connected there), by kind."""
    waiting: int
    recording: str
    livestream: str
    node: str
    monitor_incidents: int
    health: tuple[tuple[str, int], ...]
    """(media health, people in it), for everyone admitted and connected."""
    alerts: tuple[BoardAlert, ...]

    def json(self) -> dict[str, Any]:
        return {
            "hearing_id": self.hearing_id,
            "case_number": self.case_number,
            "type": self.hearing_type,
            "phase": self.phase,
            "rooms": dict(self.rooms),
            "waiting": self.waiting,
            "recording": self.recording,
            "livestream": self.livestream,
            "node": self.node,
            "monitor_incidents": self.monitor_incidents,
            "health": dict(self.health),
            "alerts": [a.value for a in self.alerts],
        }


def board_row(session: HearingSession, node: str) -> BoardRow:
    court = session.court.snapshot()
    seated = court.get("rooms", {})
    rooms: Counter[str] = Counter()
    waiting = set(session.lobby.waiting())
    people = []
    for participant_id, member in session.members.items():
        if participant_id in waiting:
            continue
        room = seated.get(participant_id) if isinstance(seated, dict) else None
        rooms[str(room[0]) if room else "courtroom"] += 1
        people.append({kind: _health(state) for kind, state in member.health.items()})
    alerts = []
    if session.monitor.incidents:
        alerts.append(BoardAlert.REFERENCE_MONITOR)
    if session.court.phase in SITTING and session.recording.state == "stopped":
        alerts.append(BoardAlert.RECORDING_STOPPED)
    if _required_unseen(session):
        alerts.append(BoardAlert.REQUIRED_WITHOUT_MEDIA)
    if session.audit_failures:
        alerts.append(BoardAlert.AUDIT_FAILED)
    return BoardRow(
        hearing_id=session.hearing_id,
        case_number=session.hearing.case_number,
        hearing_type=session.hearing.type.value,
        phase=session.court.phase.value,
        rooms=tuple(sorted(rooms.items())),
        waiting=len(waiting & set(session.members)),
        recording=session.recording.state,
        livestream=session.livestream.state,
        node=node,
        monitor_incidents=session.monitor.incidents,
        health=tuple(health_counts(people).items()),
        alerts=tuple(alerts),
    )


def _health(state: str) -> MediaHealth:
    try:
        return MediaHealth(state)
    except ValueError:
        return MediaHealth.NO_MEDIA


def _required_unseen(session: HearingSession) -> bool:
    """Is someone the court cannot sit without neither seen nor heard now (the rule of the
    due-process guard, without its grace period)?"""
    phase = session.court.phase
    for participant in session.known():
        seat = session.seat_of(participant)
        if seat is None or not must_be_present(seat, phase):
            continue
        member = session.members.get(participant.id)
        if member is None or not seen_or_heard(member):
            return True
    return False


class BoardStore(Protocol):
    """Each node's rows, as it last published them, so that any node's board shows every
    node's hearings. A node that stops publishing (killed) stays, marked by its age, until
    `forget` (a clean stop) or until it is older than the reader cares for."""

    async def publish(self, node: str, at: float, rows: list[dict[str, Any]]) -> None: ...

    async def forget(self, node: str) -> None: ...

    async def nodes(self) -> dict[str, tuple[float, list[dict[str, Any]]]]:
        """Node id: (when it published, its rows)."""
        ...


class MemoryBoardStore:
    """This process's node only: the embedded default (one node) and tests."""

    def __init__(self) -> None:
        self._nodes: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    async def publish(self, node: str, at: float, rows: list[dict[str, Any]]) -> None:
        self._nodes[node] = (at, json.loads(json.dumps(rows)))

    async def forget(self, node: str) -> None:
        self._nodes.pop(node, None)

    async def nodes(self) -> dict[str, tuple[float, list[dict[str, Any]]]]:
        return dict(self._nodes)


def court_board(
    nodes: dict[str, tuple[float, list[dict[str, Any]]]], now: float, stale_after: float
) -> list[dict[str, Any]]:
    """Every node's rows in one list. A node silent for more than `stale_after` seconds is
    lost: its rows carry the `node_lost` alert, unless a live node now hosts that hearing (it
    moved), in which case only the live row is shown."""
    live = {n for n, (at, _) in nodes.items() if now - at <= stale_after}
    hosted = {row["hearing_id"] for n in live for row in nodes[n][1]}
    board = []
    for node, (_at, rows) in sorted(nodes.items()):
        for row in rows:
            if node in live:
                board.append(row)
            elif row["hearing_id"] not in hosted:
                alerts = [*row.get("alerts", []), BoardAlert.NODE_LOST.value]
                board.append({**row, "alerts": alerts})
    return sorted(board, key=lambda r: (str(r["case_number"]), str(r["hearing_id"])))


def board_change(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    """What a page showing `before` needs to show `after` (the live board's `board_change`):
    the rows new or changed, the hearings gone, and the webhook deliveries if they changed;
    None if nothing did (the time alone is no change)."""
    old = {str(r["hearing_id"]): r for r in before.get("hearings", [])}
    new = {str(r["hearing_id"]): r for r in after.get("hearings", [])}
    change: dict[str, Any] = {}
    if changed := [row for hearing_id, row in new.items() if old.get(hearing_id) != row]:
        change["hearings"] = changed
    if gone := sorted(set(old) - set(new)):
        change["gone"] = gone
    if before.get("webhooks") != after.get("webhooks"):
        change["webhooks"] = after.get("webhooks", [])
    return {"time": after.get("time"), **change} if change else None
