"""The one error root of `security`."""

from __future__ import annotations

from enum import StrEnum


class SecurityError(Exception):
    """Root of every error raised by `security`."""

    code = "security_error"


class TokenRefusal(StrEnum):
    """Why a join token was refused. The same value goes to the client, the log and the audit."""

    MALFORMED = "token_malformed"
    FORGED = "token_forged"
    EXPIRED = "token_expired"
    WRONG_HEARING = "token_wrong_hearing"


class TokenRefused(SecurityError):
    def __init__(self, reason: TokenRefusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.reason.value
