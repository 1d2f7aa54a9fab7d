"""Who may know a protected witness's name. Everyone else sees only the role."""

from __future__ import annotations

from typing import Final

from hearing.model import Participant, Role

PROTECTED: Final = frozenset({Role.CHILD_WITNESS})
"""Participants whose name is withheld from anyone not cleared."""

CLEARED: Final = frozenset(
    {
        Role.PRESIDING_JUDGE,
        Role.JUDGE,
        Role.CLERK,
        Role.PROSECUTOR,
        Role.DEFENCE_COUNSEL,
        Role.SUPPORT_PERSON,
        Role.INTERPRETER,
    }
)
"""Roles that may know a protected witness's name: the bench, the clerk, counsel for both
sides, the support person and the interpreter."""

WITHHELD_NAME: Final = "Protected witness"


def shown_name(subject: Participant, viewer: Participant) -> str:
    """The name `viewer` may see for `subject`."""
    if subject.role in PROTECTED and viewer.role not in CLEARED and viewer.id != subject.id:
        return WITHHELD_NAME
    return subject.display_name
