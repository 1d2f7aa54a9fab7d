"""Where an admitted participant sits, and what calling or releasing a witness changes.

Pure decisions: `signaling` keeps the state and applies them.
"""

from __future__ import annotations

from typing import Final

from hearing.errors import InvalidHearing
from hearing.model import HearingType, Role
from hearing.rooms import COURTROOM, WITNESS_WAITING, Room, RoomKind

CHILD_ROOM: Final = Room.witness_room("child")
"""The witness room a child witness and the support person are admitted to."""

SEQUESTERED: Final = frozenset({Role.WITNESS})
"""Roles that wait, seeing and hearing nothing, until they are called."""


def room_on_admission(role: Role, hearing_type: HearingType) -> Room:
    """A witness waits sequestered; a child witness and the support person go to the child's
    witness room; everyone else (and everyone in a conciliation) enters the courtroom."""
    if hearing_type is HearingType.CONCILIATION:
        return COURTROOM
    if role in SEQUESTERED:
        return WITNESS_WAITING
    if role in (Role.CHILD_WITNESS, Role.SUPPORT_PERSON):
        return CHILD_ROOM
    return COURTROOM


def room_when_called(role: Role, room: Room) -> Room | None:
    """Calling a witness: one waiting comes into the courtroom; a child witness stays in the
    witness room, which is linked to the courtroom instead (returns None: link, don't move)."""
    if role is Role.CHILD_WITNESS and room.kind is RoomKind.WITNESS_ROOM:
        return None
    if role in SEQUESTERED | {Role.EXPERT} and room.kind is RoomKind.WITNESS_WAITING:
        return COURTROOM
    raise InvalidHearing(f"a {role.value} in the {room.kind.value} cannot be called")


def room_when_released(role: Role, room: Room) -> Room | None:
    """Releasing a witness: back to waiting; a child's witness room is unlinked (None)."""
    if role is Role.CHILD_WITNESS and room.kind is RoomKind.WITNESS_ROOM:
        return None
    if role in SEQUESTERED | {Role.EXPERT} and room.kind is RoomKind.COURTROOM:
        return WITNESS_WAITING
    raise InvalidHearing(f"a {role.value} in the {room.kind.value} cannot be released")
