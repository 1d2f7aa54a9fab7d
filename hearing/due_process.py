"""Who the hearing cannot go on without: if one of them loses media for too long, the court
goes into recess by itself (the judge resumes it)."""

from __future__ import annotations

from typing import Final

from hearing.model import Role
from hearing.phases import Phase
from hearing.rooms import RoomKind
from hearing.seats import Seat

DEFAULT_GRACE_SECONDS: Final = 15.0

PARTIES: Final = frozenset(
    {
        Role.ACCUSED,
        Role.PLAINTIFF,
        Role.RESPONDENT,
        Role.DEFENCE_COUNSEL,
        Role.PARTY_LAWYER,
        Role.INTERPRETER,
    }
)
"""Roles with a right to take part whenever the court sits."""

SITTING: Final = frozenset({Phase.IN_SESSION, Phase.IN_CAMERA})


def must_be_present(seat: Seat, phase: Phase) -> bool:
    """While the court sits: the parties, counsel and interpreters in the courtroom, and the
    witness who is testifying (in the courtroom, or in a linked witness room)."""
    if phase not in SITTING:
        return False
    if seat.room.kind is RoomKind.COURTROOM:
        return seat.role in PARTIES or seat.role in (Role.WITNESS, Role.EXPERT)
    return seat.role is Role.CHILD_WITNESS and seat.linked
