"""The court's rules: hearings, roles, participants, rooms, phases, the visibility matrix,
permissions and policy flags. Pure Python, no I/O."""

from hearing.categories import CaseCategory, forces_in_camera
from hearing.errors import (
    ActionNotPermitted,
    HearingError,
    InvalidHearing,
    InvalidTransition,
    NotHeardOnline,
    NotPermitted,
    UnknownParticipant,
    UnknownProfile,
)
from hearing.lobby import Admission, Lobby
from hearing.matrix import Visibility, visible
from hearing.model import (
    MODERATORS,
    Hearing,
    HearingType,
    Instance,
    Jurisdiction,
    Participant,
    Role,
    bypasses_lobby,
    new_hearing_id,
    new_participant_id,
)
from hearing.permissions import Action, check
from hearing.phases import Phase, transition
from hearing.policy import can_livestream, can_record
from hearing.profiles import PROFILES, HearingRules, Profile, check_online, profile_named
from hearing.rooms import COURTROOM, DELIBERATION, LOBBY, WITNESS_WAITING, Room, RoomKind
from hearing.seats import MediaKind, Seat

__all__ = [
    "COURTROOM",
    "DELIBERATION",
    "LOBBY",
    "MODERATORS",
    "PROFILES",
    "WITNESS_WAITING",
    "Action",
    "ActionNotPermitted",
    "Admission",
    "CaseCategory",
    "Hearing",
    "HearingError",
    "HearingRules",
    "HearingType",
    "Instance",
    "InvalidHearing",
    "InvalidTransition",
    "Jurisdiction",
    "Lobby",
    "MediaKind",
    "NotHeardOnline",
    "NotPermitted",
    "Participant",
    "Phase",
    "Profile",
    "Role",
    "Room",
    "RoomKind",
    "Seat",
    "UnknownParticipant",
    "UnknownProfile",
    "Visibility",
    "bypasses_lobby",
    "can_livestream",
    "can_record",
    "check",
    "check_online",
    "forces_in_camera",
    "new_hearing_id",
    "new_participant_id",
    "profile_named",
    "transition",
    "visible",
]
