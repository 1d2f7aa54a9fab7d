"""Rooms: where a participant is. A room decides what its members can receive, together with
the phase and the profile (see `hearing.matrix`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from hearing.errors import InvalidHearing
from hearing.model import HearingType


class RoomKind(StrEnum):
    LOBBY = "lobby"
    """Waiting to be admitted: receives and sends nothing."""
    COURTROOM = "courtroom"
    """The court sitting (in a conciliation: the joint session)."""
    CONSULTATION = "consultation"
    """A lawyer and a client in private; created on demand, several at once."""
    WITNESS_WAITING = "witness_waiting"
    """Sequestered witnesses who have not testified yet: receive and send nothing."""
    WITNESS_ROOM = "witness_room"
    """A child witness with the support person, linked to the courtroom while testifying."""
    CAUCUS = "caucus"
    """Conciliation: one party (and its lawyer) alone with the conciliator; one per party."""
    DELIBERATION = "deliberation"
    """The judges alone."""


SINGLE_ROOMS: Final = frozenset(
    {RoomKind.LOBBY, RoomKind.COURTROOM, RoomKind.WITNESS_WAITING, RoomKind.DELIBERATION}
)
"""Kinds that exist once per hearing; their id is the kind's own name."""

PRIVATE_ROOMS: Final = frozenset({RoomKind.CONSULTATION, RoomKind.CAUCUS})
"""Kinds whose members receive each other and nothing else."""

ROOMS_BY_TYPE: Final = {
    HearingType.TRIAL: frozenset(
        {
            RoomKind.LOBBY,
            RoomKind.COURTROOM,
            RoomKind.CONSULTATION,
            RoomKind.WITNESS_WAITING,
            RoomKind.WITNESS_ROOM,
            RoomKind.DELIBERATION,
        }
    ),
    HearingType.CONCILIATION: frozenset(
        {RoomKind.LOBBY, RoomKind.COURTROOM, RoomKind.CONSULTATION, RoomKind.CAUCUS}
    ),
}

_ROOM_ID = re.compile(r"^[a-z0-9_-]{1,40}$")


@dataclass(frozen=True, slots=True)
class Room:
    """One room of one hearing: its kind and an id unique within the hearing."""

    kind: RoomKind
    id: str

    def __post_init__(self) -> None:
        if not isinstance(self.kind, RoomKind):
            raise InvalidHearing("unknown room kind", field="room")
        if not isinstance(self.id, str) or not _ROOM_ID.match(self.id):
            raise InvalidHearing("a room id is 1-40 of a-z, 0-9, _ and -", field="room")
        if self.kind in SINGLE_ROOMS and self.id != self.kind.value:
            raise InvalidHearing(
                f"there is one {self.kind.value} per hearing; its id is {self.kind.value!r}",
                field="room",
            )

    @classmethod
    def consultation(cls, id: str) -> Room:
        return cls(RoomKind.CONSULTATION, id)

    @classmethod
    def witness_room(cls, id: str) -> Room:
        return cls(RoomKind.WITNESS_ROOM, id)

    @classmethod
    def caucus(cls, id: str) -> Room:
        return cls(RoomKind.CAUCUS, id)


LOBBY: Final = Room(RoomKind.LOBBY, "lobby")
COURTROOM: Final = Room(RoomKind.COURTROOM, "courtroom")
WITNESS_WAITING: Final = Room(RoomKind.WITNESS_WAITING, "witness_waiting")
DELIBERATION: Final = Room(RoomKind.DELIBERATION, "deliberation")


def check_room(hearing_type: HearingType, room: Room) -> Room:
    """A trial has no caucus; a conciliation has no witness rooms and no deliberation."""
    if room.kind not in ROOMS_BY_TYPE[hearing_type]:
        raise InvalidHearing(f"a {hearing_type.value} has no {room.kind.value} room", field="room")
    return room
