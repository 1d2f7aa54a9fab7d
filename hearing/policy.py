"""Where and when a hearing may be recorded or streamed. Pure flags; `recording` and the
livestream refuse what these refuse.

- Recording: only a trial, only while the court sits, only the courtroom and the witness room
  (the child's testimony is recorded and sealed). Never a conciliation or a caucus (Law
  58/2020/QH14 bars recording mediation), never a consultation or the deliberation.
- Livestream: only a public trial, only the courtroom, only in session (never in camera,
  never in recess), never a case category heard in camera (Circular 02/2018/TT-TANDTC for a
  sexual offence against a minor). The judge still has to open it. The stream never shows a
  protected participant or anyone on the child's side, whatever a profile lets the public in
  the courtroom see.
"""

from __future__ import annotations

from typing import Final

from hearing.matrix import on_childs_side
from hearing.model import HearingType
from hearing.phases import SITTING, Phase
from hearing.privacy import PROTECTED
from hearing.profiles import HearingRules
from hearing.rooms import Room, RoomKind
from hearing.seats import Seat

RECORDED_ROOMS: Final = frozenset({RoomKind.COURTROOM, RoomKind.WITNESS_ROOM})
STREAMED_ROOMS: Final = frozenset({RoomKind.COURTROOM})


def can_record(hearing: HearingRules, room: Room, phase: Phase) -> bool:
    return hearing.type is HearingType.TRIAL and room.kind in RECORDED_ROOMS and phase in SITTING


def can_livestream(hearing: HearingRules, room: Room, phase: Phase) -> bool:
    return (
        hearing.type is HearingType.TRIAL
        and hearing.public
        and not hearing.in_camera_only
        and room.kind in STREAMED_ROOMS
        and phase is Phase.IN_SESSION
    )


def shown_on_livestream(hearing: HearingRules, publisher: Seat, phase: Phase) -> bool:
    """Whether the public stream may show this publisher at all (tile, name or sound)."""
    return (
        can_livestream(hearing, publisher.room, phase)
        and publisher.role not in PROTECTED
        and not on_childs_side(publisher)
    )
