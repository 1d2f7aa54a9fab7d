"""The court's rules: hearings, roles, participants and the lobby. Pure Python, no I/O."""

from hearing.errors import HearingError, InvalidHearing, NotPermitted, UnknownParticipant
from hearing.lobby import Admission, Lobby
from hearing.model import (
    MODERATORS,
    Hearing,
    HearingType,
    Participant,
    Role,
    bypasses_lobby,
    new_hearing_id,
    new_participant_id,
)

__all__ = [
    "MODERATORS",
    "Admission",
    "Hearing",
    "HearingError",
    "HearingType",
    "InvalidHearing",
    "Lobby",
    "NotPermitted",
    "Participant",
    "Role",
    "UnknownParticipant",
    "bypasses_lobby",
    "new_hearing_id",
    "new_participant_id",
]
