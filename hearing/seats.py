"""A seat: one participant as the visibility matrix sees them. Built by `signaling` from the
hearing's live state each time it asks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hearing.errors import InvalidHearing
from hearing.model import Role, check_id
from hearing.rooms import Room, RoomKind


class MediaKind(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"
    SCREEN = "screen"
    """Exhibits: a shared screen is its own track, decided like any other."""


@dataclass(frozen=True, slots=True)
class Seat:
    """Who someone is (role), where they are (room), and what the judge has given them.

    - `floor`: the presiding judge has given them the floor (in the courtroom only);
    - `linked`: the witness room they are in is linked to the courtroom (the judge has called
      the child witness); every seat in that witness room carries it.
    """

    participant_id: str
    role: Role
    room: Room
    floor: bool = False
    linked: bool = False

    def __post_init__(self) -> None:
        check_id(self.participant_id, "participant_id")
        if not isinstance(self.role, Role):
            raise InvalidHearing("unknown role", field="role")
        if not isinstance(self.room, Room):
            raise InvalidHearing("a seat needs a room", field="room")
        if self.floor and self.room.kind is not RoomKind.COURTROOM:
            raise InvalidHearing("the floor is given in the courtroom only", field="floor")
        if self.linked and self.room.kind is not RoomKind.WITNESS_ROOM:
            raise InvalidHearing("only a witness room is linked to the courtroom", field="linked")
