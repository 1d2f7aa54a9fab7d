"""The one error root of the court's rules. Each error carries a stable wire code."""

from __future__ import annotations


class HearingError(Exception):
    """Root of every error raised by `hearing`."""

    code = "hearing_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidHearing(HearingError):
    """A hearing, participant or request that breaks the model's own rules."""

    code = "invalid"


class NotPermitted(HearingError):
    """The actor's role may not do this."""

    code = "forbidden"


class UnknownParticipant(HearingError):
    """No such participant in this hearing."""

    code = "unknown_participant"


class InvalidTransition(HearingError):
    """The hearing cannot move from its current phase to the one asked for."""

    code = "invalid_transition"


class UnknownProfile(HearingError):
    """No jurisdiction profile has this name."""

    code = "unknown_profile"


class NotHeardOnline(HearingError):
    """The profile forbids hearing this case category online."""

    code = "not_heard_online"


class ActionNotPermitted(NotPermitted):
    """A role tried an action the permission table does not give it."""

    def __init__(self, message: str, *, role: str, action: str) -> None:
        super().__init__(message)
        self.role = role
        self.action = action
