"""What the signalling edge counts for monitoring, read by pull (web/metrics.py): how long each
request took to answer, every refusal by its wire code, and the hearings and participants on
this node now. Labels are kinds (a request's name, a code, a phase, a room's kind), never a
hearing's or a participant's id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from hearing import Admission
from media.counters import Histogram
from signaling.session import HearingSession

REQUEST_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
"""Seconds from a request's arrival to its answer."""


@dataclass(slots=True)
class SignalingCounters:
    requests: dict[str, Histogram] = field(default_factory=dict)
    """Answer times, by request name (`unknown` for a name the protocol does not have)."""
    refusals: Counter[str] = field(default_factory=Counter)
    """Refused requests and connections, by wire code."""
    monitor_incidents: Counter[str] = field(default_factory=Counter)
    """Pairs the reference monitor cut, by reason (`denied`, `leaked`), in every hearing."""

    def answered(self, request: str, seconds: float, refused: str | None = None) -> None:
        histogram = self.requests.get(request)
        if histogram is None:
            histogram = self.requests[request] = Histogram(REQUEST_BUCKETS)
        histogram.observe(seconds)
        if refused is not None:
            self.refusals[refused] += 1

    def connection_refused(self, code: str) -> None:
        self.refusals[code] += 1

    def monitor_cut(self, reason: str) -> None:
        self.monitor_incidents[reason] += 1


@dataclass(frozen=True, slots=True)
class CourtLevels:
    """The hearings on this node by phase, and their participants by kind of room (`lobby`
    for those waiting to be admitted)."""

    hearings_by_phase: dict[str, int]
    participants_by_room: dict[str, int]


def court_levels(sessions: Iterable[HearingSession]) -> CourtLevels:
    phases: Counter[str] = Counter()
    rooms: Counter[str] = Counter()
    for session in sessions:
        phases[session.court.phase.value] += 1
        for member in session.members.values():
            if not member.joined:
                continue
            admission = session.lobby.status(member.participant.id)
            if admission is Admission.WAITING:
                rooms["lobby"] += 1
                continue
            seat = session.court.seat(member.participant, admission)
            if seat is not None:
                rooms[seat.room.kind.value] += 1
    return CourtLevels(dict(phases), dict(rooms))
