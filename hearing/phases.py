"""The phases of a hearing and the moves between them.

    from \\ to      in_session  recess  in_camera  deliberation  adjourned
    scheduled       yes         -       yes        -             yes (postponed)
    in_session      -           yes     yes        yes           yes
    recess          yes         -       yes        -             yes
    in_camera       yes         yes     -          yes           yes
    deliberation    yes         -       yes        -             yes
    adjourned       -           -       -          -             -   (final)

The court goes back from deliberation to the courtroom to pronounce the judgment or to resume
the examination (in session, or in camera for a closed hearing). A hearing closed to the public
by its case category never enters `in_session`: it sits `in_camera` throughout.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from hearing.errors import InvalidTransition


class Phase(StrEnum):
    SCHEDULED = "scheduled"
    IN_SESSION = "in_session"
    RECESS = "recess"
    IN_CAMERA = "in_camera"
    DELIBERATION = "deliberation"
    ADJOURNED = "adjourned"


TRANSITIONS: Final[dict[Phase, frozenset[Phase]]] = {
    Phase.SCHEDULED: frozenset({Phase.IN_SESSION, Phase.IN_CAMERA, Phase.ADJOURNED}),
    Phase.IN_SESSION: frozenset(
        {Phase.RECESS, Phase.IN_CAMERA, Phase.DELIBERATION, Phase.ADJOURNED}
    ),
    Phase.RECESS: frozenset({Phase.IN_SESSION, Phase.IN_CAMERA, Phase.ADJOURNED}),
    Phase.IN_CAMERA: frozenset(
        {Phase.IN_SESSION, Phase.RECESS, Phase.DELIBERATION, Phase.ADJOURNED}
    ),
    Phase.DELIBERATION: frozenset({Phase.IN_SESSION, Phase.IN_CAMERA, Phase.ADJOURNED}),
    Phase.ADJOURNED: frozenset(),
}

SITTING: Final = frozenset({Phase.IN_SESSION, Phase.IN_CAMERA})
"""Phases in which the court sits: the live link runs and everyone in the courtroom receives
everyone. Out of these, only the presiding judge and the clerk are heard in the courtroom."""


def transition(current: Phase, target: Phase, *, closed: bool = False) -> Phase:
    """Return `target` if the hearing may move there from `current`.

    `closed` is true for a hearing whose case category forces it in camera
    (`HearingRules.in_camera_only`): it may never enter `in_session`.
    """
    if target not in TRANSITIONS[current]:
        if current is Phase.ADJOURNED:
            raise InvalidTransition("the hearing is adjourned; nothing follows")
        if current is target:
            raise InvalidTransition(f"the hearing is already {current.value}")
        raise InvalidTransition(f"a hearing cannot go from {current.value} to {target.value}")
    if closed and target is Phase.IN_SESSION:
        raise InvalidTransition("this hearing is closed to the public: it sits in camera")
    return target
