"""What the court's supervision board shows of a hearing in session on this node: its phase,
who is in which kind of room (counts), how many wait, the recording's and the livestream's
state, the node, and alerts. Counts and states only: never a name, never a participant id,
never media (a case number and the hearing's type say which hearing it is; a title can name
the parties, so it is not shown).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from hearing.due_process import SITTING
from signaling.session import HearingSession


class BoardAlert(StrEnum):
    REFERENCE_MONITOR = "reference_monitor"
    """The reference monitor cut forwarding that the matrix did not allow (an incident)."""
    RECORDING_STOPPED = "recording_stopped"
    """The court sits and its recording is stopped (a recorder that failed, or was stopped)."""
    NODE_LOST = "node_lost"
    """The node hosting it stopped publishing (killed, or cut off) and no node hosts it yet."""


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
            "alerts": [a.value for a in self.alerts],
        }


def board_row(session: HearingSession, node: str) -> BoardRow:
    court = session.court.snapshot()
    seated = court.get("rooms", {})
    rooms: Counter[str] = Counter()
    waiting = set(session.lobby.waiting())
    for participant_id in session.members:
        if participant_id in waiting:
            continue
        room = seated.get(participant_id) if isinstance(seated, dict) else None
        rooms[str(room[0]) if room else "courtroom"] += 1
    alerts = []
    if session.monitor.incidents:
        alerts.append(BoardAlert.REFERENCE_MONITOR)
    if session.court.phase in SITTING and session.recording.state == "stopped":
        alerts.append(BoardAlert.RECORDING_STOPPED)
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
        alerts=tuple(alerts),
    )


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
