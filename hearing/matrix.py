"""The visibility matrix: does viewer V receive publisher P's audio, video or screen?

One pure function, `visible`. `signaling` asks it for every pair after every join, leave,
move, grant and phase change, then attaches or detaches forwarders. The client never decides.

The rules, in the order they are applied (the first that decides wins); `docs/court-rules.md`
explains them and `tests/matrix/visibility.md` states the expected answers as a table:

1. Nobody receives their own media. Nothing moves once the hearing is adjourned.
2. The lobby and the witnesses' waiting room receive and send nothing (admission,
   sequestration).
3. Under a profile that says so (vn), the accused never receives the child's side: the child
   witness wherever they are, and anyone in a witness room.
4. Observers send nothing, receive nothing in camera, and watch only the courtroom. A hearing
   closed by its category, and a conciliation, are in camera whenever they are in session,
   and observers receive nothing from them in any phase.
5. Deliberation: the judges in it receive each other and nothing else; nothing leaves it.
6. Consultation rooms and caucuses: members receive each other, and nothing crosses the door.
7. A witness room's members receive each other. It is linked to the courtroom only while the
   court sits and the judge has called the witness (`Seat.linked`).
8. Across the link, the profile says what reaches the child's side and who receives it.
9. The courtroom: while the court sits, everyone receives everyone. Out of session (scheduled,
   recess, deliberation), only the presiding judge and the clerk are heard and they see the
   room; a profile may keep the accused and defence counsel connected (us-3509).
10. Where the rules allow a pair, an anonymity order over the publisher that names the
   viewer's role turns the answer into `masked` (never for the judges or the clerk).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from hearing.anonymity import AnonymityOrder, masked_for
from hearing.model import MODERATORS, Role
from hearing.phases import SITTING, Phase
from hearing.profiles import JUDGES, HearingRules, Profile
from hearing.rooms import PRIVATE_ROOMS, RoomKind
from hearing.seats import MediaKind, Seat


class Visibility(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    MASKED = "masked"
    """The viewer receives the masked variant of the track (an anonymity order), never the
    original: the image screened, the voice modulated (`hearing/anonymity.py`)."""


SILENT_ROOMS: Final = frozenset({RoomKind.LOBBY, RoomKind.WITNESS_WAITING})
_COUNSEL_CHANNEL: Final = frozenset({Role.ACCUSED, Role.DEFENCE_COUNSEL})


def on_childs_side(seat: Seat) -> bool:
    """The child witness, wherever they are, and anyone in a witness room with them."""
    return seat.role is Role.CHILD_WITNESS or seat.room.kind is RoomKind.WITNESS_ROOM


NO_ORDERS: Final[Mapping[str, AnonymityOrder]] = MappingProxyType({})


def visible(
    viewer: Seat,
    publisher: Seat,
    kind: MediaKind,
    phase: Phase,
    hearing: HearingRules,
    orders: Mapping[str, AnonymityOrder] = NO_ORDERS,
) -> Visibility:
    """Whether `viewer` receives `publisher`'s track of this kind: `MASKED` where the rules
    above allow it and an anonymity order in `orders` (by participant id) names the viewer."""
    if not _receives(viewer, publisher, kind, phase, hearing):
        return Visibility.DENY
    if masked_for(orders, viewer.role, publisher.participant_id, kind):
        return Visibility.MASKED
    return Visibility.ALLOW


def _receives(v: Seat, p: Seat, kind: MediaKind, phase: Phase, hearing: HearingRules) -> bool:
    profile = hearing.profile
    if v.participant_id == p.participant_id or phase is Phase.ADJOURNED:
        return False
    if phase is Phase.IN_SESSION and hearing.closed_to_observers:
        phase = Phase.IN_CAMERA
    vroom, proom = v.room.kind, p.room.kind
    if vroom in SILENT_ROOMS or proom in SILENT_ROOMS:
        return False
    if profile.accused_never_receives_child and v.role is Role.ACCUSED and on_childs_side(p):
        return False
    if p.role is Role.OBSERVER:
        return False
    if v.role is Role.OBSERVER and (
        phase is Phase.IN_CAMERA or hearing.closed_to_observers or vroom is not RoomKind.COURTROOM
    ):
        return False
    if RoomKind.DELIBERATION in (vroom, proom):
        return v.room == p.room and v.role in JUDGES and p.role in JUDGES
    if vroom in PRIVATE_ROOMS or proom in PRIVATE_ROOMS:
        return v.room == p.room
    # Both are in the courtroom or in a witness room.
    if vroom is RoomKind.WITNESS_ROOM and v.room == p.room:
        return True
    if vroom is RoomKind.WITNESS_ROOM and proom is RoomKind.WITNESS_ROOM:
        return False
    sitting = phase in SITTING
    if vroom is RoomKind.WITNESS_ROOM and not (v.linked and sitting):
        return False
    if proom is RoomKind.WITNESS_ROOM and not (p.linked and sitting):
        return False
    if on_childs_side(v):
        return _reaches_child(p, kind, sitting, profile)
    if on_childs_side(p):
        return v.role in MODERATORS or (sitting and v.role in profile.child_audience_sitting)
    # Both are in the courtroom.
    if profile.counsel_channel and {v.role, p.role} == _COUNSEL_CHANNEL:
        return True
    return sitting or v.role in MODERATORS or p.role in MODERATORS


def _reaches_child(p: Seat, kind: MediaKind, sitting: bool, profile: Profile) -> bool:
    if (p.role, kind) in profile.to_child:
        return True
    if not sitting:
        return False
    if (p.role, kind) in profile.to_child_sitting:
        return True
    return p.floor and p.role in profile.to_child_with_floor
